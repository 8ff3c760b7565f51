//! The sdk-exchange function's configuration, read once from the environment.

use std::time::Duration;

use zendesk_jwt::JwksSettings;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::env::{self, ConfigError, ProcessEnv, Reader};
use zendesk_jwt::lambda::metrics::MetricsNamespace;
use zendesk_jwt::lambda::secrets::{SecretLocation, SecretTimes};
use zendesk_jwt::lambda::settings;

use crate::users::{ClaimNames, EmailVerified};

/// How user tokens are resolved (`USER_TOKEN_RESOLVER`).
#[derive(Clone, Debug)]
pub enum ResolverConfig {
    /// `table` (default): opaque tokens in the DynamoDB table `USER_TOKENS_TABLE`.
    Table {
        /// `USER_TOKENS_TABLE`.
        table: String,
    },
    /// `identity-provider`: JWTs from the organisation's identity provider.
    IdentityProvider {
        /// `IDP_JWKS_URL`.
        jwks_url: String,
        /// `IDP_ISSUER`.
        issuer: String,
        /// `IDP_AUDIENCE`.
        audience: String,
        /// `IDP_NAME_CLAIM` (default `name`), `IDP_EMAIL_CLAIM` (default `email`),
        /// `IDP_EXTERNAL_ID_CLAIM` (default `sub`).
        claims: ClaimNames,
        /// `IDP_EMAIL_VERIFIED`: `if-present` (default) or `required`.
        email_verified: EmailVerified,
        /// `JWKS_COOLDOWN_SECONDS`, `JWKS_TIMEOUT_MS`, `JWKS_MAX_BYTES`, `JWKS_MAX_AGE_SECONDS`.
        jwks: JwksSettings,
    },
}

/// Every setting of the sdk-exchange function; each field names its variable.
#[derive(Clone, Debug)]
pub struct ExchangeConfig {
    /// `SDK_SHARED_SECRET_ID` (Secrets Manager) or, for local runs, `SDK_SHARED_SECRET`: the
    /// shared secret from Admin Center.
    pub secret: SecretLocation,
    /// `SECRET_TTL_SECONDS` (default 300), `SECRET_RETRY_SECONDS` (default 30).
    pub secret_times: SecretTimes,
    /// `USER_TOKEN_RESOLVER` and its settings.
    pub resolver: ResolverConfig,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60), for identity-provider tokens.
    pub leeway: Duration,
    /// `METRICS_NAMESPACE` (default `ZendeskJwt`): where the function's metrics go.
    pub metrics_namespace: MetricsNamespace,
    /// The clock the instance reads: the system's (tests give each instance one they move).
    pub clock: Clock,
}

impl ExchangeConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = Reader::new(vars);
        let resolver = match env.optional("USER_TOKEN_RESOLVER").as_deref() {
            None | Some("table") => ResolverConfig::Table {
                table: env.required("USER_TOKENS_TABLE")?,
            },
            Some("identity-provider") => ResolverConfig::IdentityProvider {
                jwks_url: env::key_url("IDP_JWKS_URL", env.required("IDP_JWKS_URL")?)?,
                issuer: env.required("IDP_ISSUER")?,
                audience: env.required("IDP_AUDIENCE")?,
                claims: ClaimNames {
                    name: env
                        .optional("IDP_NAME_CLAIM")
                        .unwrap_or_else(|| "name".into()),
                    email: env
                        .optional("IDP_EMAIL_CLAIM")
                        .unwrap_or_else(|| "email".into()),
                    external_id: env
                        .optional("IDP_EXTERNAL_ID_CLAIM")
                        .unwrap_or_else(|| "sub".into()),
                },
                email_verified: match env.optional("IDP_EMAIL_VERIFIED") {
                    None => EmailVerified::default(),
                    Some(value) => EmailVerified::parse(&value).ok_or_else(|| {
                        ConfigError::new(
                            "IDP_EMAIL_VERIFIED",
                            format!("{value:?} is neither \"if-present\" nor \"required\""),
                        )
                    })?,
                },
                jwks: settings::jwks(&env)?,
            },
            Some(other) => {
                return Err(ConfigError::new(
                    "USER_TOKEN_RESOLVER",
                    format!("{other:?} is neither \"table\" nor \"identity-provider\""),
                ));
            }
        };
        Ok(Self {
            secret: SecretLocation::from_env(&env, "SDK_SHARED_SECRET_ID", "SDK_SHARED_SECRET")?,
            secret_times: settings::secret_times(&env)?,
            resolver,
            leeway: settings::leeway(&env)?,
            metrics_namespace: env.metrics_namespace()?,
            clock: Clock::system(),
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
    fn the_table_resolver_is_the_default() {
        let config = ExchangeConfig::from_vars(&vars(&[
            ("SDK_SHARED_SECRET_ID", "sdk/secret"),
            ("USER_TOKENS_TABLE", "tokens"),
        ]))
        .unwrap();
        assert!(
            matches!(config.resolver, ResolverConfig::Table { ref table } if table == "tokens")
        );
        assert!(matches!(config.secret, SecretLocation::SecretsManager(_)));
    }

    #[test]
    fn the_identity_provider_needs_its_jwks_issuer_and_audience() {
        let mut pairs = vars(&[
            ("SDK_SHARED_SECRET", "local-secret-0123456789"),
            ("USER_TOKEN_RESOLVER", "identity-provider"),
            ("IDP_JWKS_URL", "https://idp.example.com/jwks.json"),
            ("IDP_ISSUER", "https://idp.example.com/"),
            ("IDP_AUDIENCE", "zendesk"),
        ]);
        let config = ExchangeConfig::from_vars(&pairs).unwrap();
        assert!(matches!(
            config.resolver,
            ResolverConfig::IdentityProvider { ref claims, .. } if claims.external_id == "sub"
        ));
        pairs.retain(|(k, _)| *k != "IDP_AUDIENCE");
        assert_eq!(
            ExchangeConfig::from_vars(&pairs).unwrap_err().name,
            "IDP_AUDIENCE"
        );
        let mut plain_http = pairs.clone();
        plain_http.push(("IDP_AUDIENCE", "zendesk".to_owned()));
        plain_http.retain(|(k, _)| *k != "IDP_JWKS_URL");
        plain_http.push((
            "IDP_JWKS_URL",
            "http://idp.example.com/jwks.json".to_owned(),
        ));
        assert_eq!(
            ExchangeConfig::from_vars(&plain_http).unwrap_err().name,
            "IDP_JWKS_URL"
        );
        let other = vars(&[("SDK_SHARED_SECRET", "x"), ("USER_TOKEN_RESOLVER", "ldap")]);
        assert_eq!(
            ExchangeConfig::from_vars(&other).unwrap_err().name,
            "USER_TOKEN_RESOLVER"
        );
        let no_secret = vars(&[("USER_TOKENS_TABLE", "tokens")]);
        assert_eq!(
            ExchangeConfig::from_vars(&no_secret).unwrap_err().name,
            "SDK_SHARED_SECRET_ID"
        );
    }
}
