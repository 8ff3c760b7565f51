//! The sdk-exchange function's configuration, read once from the environment.

use std::time::Duration;

use zendesk_jwt::JwksSettings;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::cors::parse_origins;
use zendesk_jwt::lambda::env::{self, ConfigError, ProcessEnv, Reader};
use zendesk_jwt::lambda::metrics::MetricsNamespace;
use zendesk_jwt::lambda::secrets::{SecretLocation, SecretTimes};
use zendesk_jwt::lambda::settings;

use crate::messaging::{DEFAULT_TOKEN_LIFETIME, MessagingTokenIssuer, TOKEN_LIFETIME_SECONDS};
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

/// The messaging sign-in route's settings (`POST /messaging/jwt`).
#[derive(Clone, Debug)]
pub struct MessagingConfig {
    /// `MESSAGING_SIGNING_KEY_SECRET_ID` (Secrets Manager) or, for local runs,
    /// `MESSAGING_SIGNING_KEY`: the signing key from Admin Center, as
    /// `{"kid": "app_…", "secret": "…"}`. Neither set: the route answers 503.
    pub signing_key: Option<SecretLocation>,
    /// `MESSAGING_ALLOWED_ORIGINS`: comma-separated origins of the customer's site whose pages
    /// may call the route (CORS), such as `https://www.example.com`. Unset: no browser may.
    pub allowed_origins: Vec<String>,
    /// `MESSAGING_TOKEN_SECONDS` (default 300, 30 to 3600): how long a messaging JWT is valid.
    pub token_lifetime: Duration,
}

impl MessagingConfig {
    fn from_env(env: &Reader) -> Result<Self, ConfigError> {
        const ID: &str = "MESSAGING_SIGNING_KEY_SECRET_ID";
        const VALUE: &str = "MESSAGING_SIGNING_KEY";
        let signing_key = match (env.optional(ID), env.optional(VALUE)) {
            (None, None) => None,
            _ => Some(SecretLocation::from_env(env, ID, VALUE)?),
        };
        // A key given inline is checked at start-up; one in Secrets Manager at each read.
        if let Some(SecretLocation::Inline(key)) = &signing_key {
            MessagingTokenIssuer::from_secret(key)
                .map_err(|problem| ConfigError::new(VALUE, problem))?;
        }
        let allowed_origins = match env.optional("MESSAGING_ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(list) => parse_origins(&list)
                .map_err(|problem| ConfigError::new("MESSAGING_ALLOWED_ORIGINS", problem))?,
        };
        let token_lifetime = env.seconds_within(
            "MESSAGING_TOKEN_SECONDS",
            DEFAULT_TOKEN_LIFETIME,
            TOKEN_LIFETIME_SECONDS,
            "the widget asks for a new token when one expires",
        )?;
        Ok(Self {
            signing_key,
            allowed_origins,
            token_lifetime,
        })
    }
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
    /// The messaging sign-in route's settings (`MESSAGING_…`).
    pub messaging: MessagingConfig,
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
            metrics_namespace: MetricsNamespace::from_env(&env)?,
            clock: Clock::system(),
            messaging: MessagingConfig::from_env(&env)?,
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

    /// TEST KEY ONLY.
    const TEST_KEY: &str = r#"{"kid": "app_0123456789abcdef01234567", "secret": "test-only-messaging-secret-0123456789"}"#;

    fn with_messaging(pairs: &[(&'static str, &str)]) -> Result<MessagingConfig, ConfigError> {
        let mut all = vars(&[
            ("SDK_SHARED_SECRET_ID", "sdk/secret"),
            ("USER_TOKENS_TABLE", "tokens"),
        ]);
        all.extend(vars(pairs));
        ExchangeConfig::from_vars(&all).map(|config| config.messaging)
    }

    #[test]
    fn messaging_is_optional_and_defaults_to_five_minute_tokens_for_no_browser_origin() {
        let none = with_messaging(&[]).unwrap();
        assert!(none.signing_key.is_none());
        assert!(none.allowed_origins.is_empty());
        assert_eq!(none.token_lifetime, Duration::from_secs(300));
        let set = with_messaging(&[
            ("MESSAGING_SIGNING_KEY_SECRET_ID", "messaging/key"),
            (
                "MESSAGING_ALLOWED_ORIGINS",
                "https://www.example.com, https://shop.example.com/",
            ),
            ("MESSAGING_TOKEN_SECONDS", "60"),
        ])
        .unwrap();
        assert!(
            matches!(set.signing_key, Some(SecretLocation::SecretsManager(ref id)) if id == "messaging/key")
        );
        assert_eq!(
            set.allowed_origins,
            ["https://www.example.com", "https://shop.example.com"]
        );
        assert_eq!(set.token_lifetime, Duration::from_secs(60));
        let inline = with_messaging(&[("MESSAGING_SIGNING_KEY", TEST_KEY)]).unwrap();
        assert!(matches!(
            inline.signing_key,
            Some(SecretLocation::Inline(_))
        ));
    }

    #[test]
    fn a_bad_messaging_setting_stops_start_up_naming_its_variable() {
        for (name, value) in [
            ("MESSAGING_SIGNING_KEY", "unset"),
            (
                "MESSAGING_SIGNING_KEY",
                r#"{"kid": "key_1", "secret": "test-only-messaging-secret-0123456789"}"#,
            ),
            ("MESSAGING_ALLOWED_ORIGINS", "*"),
            ("MESSAGING_ALLOWED_ORIGINS", "https://www.example.com/path"),
            ("MESSAGING_TOKEN_SECONDS", "29"),
            ("MESSAGING_TOKEN_SECONDS", "3601"),
            ("MESSAGING_TOKEN_SECONDS", "five minutes"),
        ] {
            let error = with_messaging(&[(name, value)]).unwrap_err();
            assert_eq!(error.name, name, "{value}");
            assert!(
                !error.problem.contains("test-only-messaging-secret"),
                "{error}"
            );
        }
    }
}
