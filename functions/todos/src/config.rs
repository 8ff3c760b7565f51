//! The todos function's configuration, read once from the environment.

use std::time::Duration;

use zendesk_jwt::JwksSettings;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::cors::parse_origins;
use zendesk_jwt::lambda::env::{self, ConfigError, ProcessEnv, Reader};
use zendesk_jwt::lambda::metrics::MetricsNamespace;
use zendesk_jwt::lambda::settings;

use crate::store::MAX_ITEMS_LIMIT;

/// Every setting of the todos function; each field names its variable.
#[derive(Clone, Debug)]
pub struct TodosConfig {
    /// `ZENDESK_SUBDOMAIN`: the account; part of every item's key.
    pub subdomain: String,
    /// `TODOS_TABLE`: the DynamoDB table name.
    pub table: String,
    /// `HELP_CENTER_JWKS_URL` (default
    /// `https://{subdomain}.zendesk.com/api/v2/help_center/integration/keys.json`).
    pub jwks_url: String,
    /// `HELP_CENTER_ISSUER`, if set: the `iss` every help center JWT must carry (opt-in; without
    /// it, tokens are bound to the account only by the JWKS URL being the account's own).
    pub issuer: Option<String>,
    /// `ALLOWED_ORIGINS`: comma-separated help center origins allowed by CORS, such as
    /// `https://acme.zendesk.com,https://help.acme.com`. Never `*`.
    pub allowed_origins: Vec<String>,
    /// `MAX_ITEMS_PER_USER` (default 500, at most [`MAX_ITEMS_LIMIT`]).
    pub max_items: u32,
    /// `JWKS_COOLDOWN_SECONDS` (default 30), `JWKS_TIMEOUT_MS` (default 3000),
    /// `JWKS_MAX_BYTES` (default 65536).
    pub jwks: JwksSettings,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60).
    pub leeway: Duration,
    /// `METRICS_NAMESPACE` (default `ZendeskJwt`): where the function's metrics go.
    pub metrics_namespace: MetricsNamespace,
    /// The clock the instance reads: the system's (tests give each instance one they move).
    pub clock: Clock,
}

impl TodosConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = Reader::new(vars);
        let subdomain = env.subdomain("ZENDESK_SUBDOMAIN")?;
        let jwks_url = match env.optional("HELP_CENTER_JWKS_URL") {
            Some(url) => env::key_url("HELP_CENTER_JWKS_URL", url)?,
            None => {
                format!("https://{subdomain}.zendesk.com/api/v2/help_center/integration/keys.json")
            }
        };
        let allowed_origins = parse_origins(&env.required("ALLOWED_ORIGINS")?)
            .map_err(|problem| ConfigError::new("ALLOWED_ORIGINS", problem))?;
        let max_items = env.parsed_or("MAX_ITEMS_PER_USER", 500)?;
        if !(1..=MAX_ITEMS_LIMIT).contains(&max_items) {
            return Err(ConfigError::new(
                "MAX_ITEMS_PER_USER",
                format!(
                    "must be between 1 and {MAX_ITEMS_LIMIT} (one user's items share one DynamoDB item)"
                ),
            ));
        }
        Ok(Self {
            subdomain,
            table: env.required("TODOS_TABLE")?,
            jwks_url,
            issuer: env.optional("HELP_CENTER_ISSUER"),
            allowed_origins,
            max_items,
            jwks: settings::jwks(&env)?,
            leeway: settings::leeway(&env)?,
            metrics_namespace: MetricsNamespace::from_env(&env)?,
            clock: Clock::system(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwks_url_must_be_https_or_loopback() {
        let with = |url: &str| {
            let vars = vec![
                ("ZENDESK_SUBDOMAIN", "acme".to_owned()),
                ("TODOS_TABLE", "todos".to_owned()),
                ("ALLOWED_ORIGINS", "https://acme.zendesk.com".to_owned()),
                ("HELP_CENTER_JWKS_URL", url.to_owned()),
            ];
            TodosConfig::from_vars(&vars).map(|c| c.jwks_url)
        };
        for good in [
            "https://acme.zendesk.com/api/v2/help_center/integration/keys.json",
            "http://127.0.0.1:3000/dev/jwks.json",
            "http://localhost:3000/dev/jwks.json",
            "http://[::1]:3000/dev/jwks.json",
        ] {
            assert_eq!(with(good).unwrap(), good);
        }
        for bad in [
            "http://acme.zendesk.com/api/v2/help_center/integration/keys.json",
            "http://127.0.0.1.evil.example/keys.json",
            "http://localhost.evil.example/keys.json",
            "http://10.0.0.1/keys.json",
            "ftp://127.0.0.1/keys.json",
        ] {
            assert_eq!(with(bad).unwrap_err().name, "HELP_CENTER_JWKS_URL", "{bad}");
        }
    }

    #[test]
    fn the_jwks_url_defaults_to_the_accounts_help_center_keys() {
        let vars = vec![
            ("ZENDESK_SUBDOMAIN", "acme".to_owned()),
            ("TODOS_TABLE", "todos".to_owned()),
            ("ALLOWED_ORIGINS", "https://acme.zendesk.com".to_owned()),
        ];
        let config = TodosConfig::from_vars(&vars).unwrap();
        assert_eq!(
            config.jwks_url,
            "https://acme.zendesk.com/api/v2/help_center/integration/keys.json"
        );
        assert_eq!(config.max_items, 500);
    }
}
