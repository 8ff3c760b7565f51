//! The sidebar function's configuration, read once from the environment.

use std::time::Duration;

use zendesk_jwt::lambda::env::{self, ConfigError, ProcessEnv, Reader};
use zendesk_jwt::lambda::metrics::MetricsNamespace;
use zendesk_jwt::lambda::secrets::{SecretLocation, SecretTimes};
use zendesk_jwt::lambda::settings;

/// Every setting of the sidebar function; each field names its variable.
#[derive(Clone, Debug)]
pub struct SidebarConfig {
    /// `ZENDESK_SUBDOMAIN`: the account, `acme` for acme.zendesk.com.
    pub subdomain: String,
    /// `ZAF_APP_INSTALLATION_ID`: the app installation the token's `aud` must name.
    pub installation_id: u64,
    /// `ZAF_PUBLIC_KEY_SECRET_ID` (Secrets Manager) or, for local runs, `ZAF_PUBLIC_KEY_PEM`:
    /// the app's public key (PEM).
    pub public_key: SecretLocation,
    /// `SECRET_TTL_SECONDS` (default 300): how long the key is cached before it is read again;
    /// `SECRET_RETRY_SECONDS` (default 30): how soon a failed refresh is tried again.
    pub secret_times: SecretTimes,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60): clock skew allowed on `exp`.
    pub leeway: Duration,
    /// `METRICS_NAMESPACE` (default `ZendeskJwt`): where the function's metrics go.
    pub metrics_namespace: MetricsNamespace,
}

impl SidebarConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = Reader::new(vars);
        Ok(Self {
            subdomain: env.subdomain("ZENDESK_SUBDOMAIN")?,
            installation_id: env
                .required("ZAF_APP_INSTALLATION_ID")?
                .parse()
                .map_err(|_| ConfigError::new("ZAF_APP_INSTALLATION_ID", "must be a number"))?,
            public_key: SecretLocation::from_env(
                &env,
                "ZAF_PUBLIC_KEY_SECRET_ID",
                "ZAF_PUBLIC_KEY_PEM",
            )?,
            secret_times: settings::secret_times(&env)?,
            leeway: settings::leeway(&env)?,
            metrics_namespace: env.metrics_namespace()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn a_complete_configuration_is_read() {
        let config = SidebarConfig::from_vars(&vars(&[
            ("ZENDESK_SUBDOMAIN", "Acme"),
            ("ZAF_APP_INSTALLATION_ID", "360001"),
            ("ZAF_PUBLIC_KEY_SECRET_ID", "zaf/key"),
        ]))
        .unwrap();
        assert_eq!(config.subdomain, "acme");
        assert_eq!(config.installation_id, 360_001);
        assert!(
            matches!(config.public_key, SecretLocation::SecretsManager(ref id) if id == "zaf/key")
        );
        assert_eq!(config.secret_times.ttl, Duration::from_secs(300));
        assert_eq!(config.secret_times.retry, Duration::from_secs(30));
        assert_eq!(config.leeway, Duration::from_secs(30));
    }

    #[test]
    fn every_problem_names_its_variable() {
        let base = [
            ("ZENDESK_SUBDOMAIN", "acme"),
            ("ZAF_APP_INSTALLATION_ID", "1"),
            ("ZAF_PUBLIC_KEY_PEM", "-----BEGIN PUBLIC KEY-----"),
        ];
        assert!(SidebarConfig::from_vars(&vars(&base)).is_ok());
        for (name, bad) in [
            ("ZENDESK_SUBDOMAIN", "acme.zendesk.com"),
            ("ZAF_APP_INSTALLATION_ID", "one"),
            ("ZAF_PUBLIC_KEY_PEM", ""),
            ("JWT_LEEWAY_SECONDS", "61"),
            ("SECRET_TTL_SECONDS", "-1"),
        ] {
            let mut pairs = vars(&base);
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, bad.to_owned()));
            let error = SidebarConfig::from_vars(&pairs).unwrap_err();
            let expected = if name == "ZAF_PUBLIC_KEY_PEM" {
                "ZAF_PUBLIC_KEY_SECRET_ID"
            } else {
                name
            };
            assert_eq!(error.name, expected, "{name}={bad:?}");
        }
    }
}
