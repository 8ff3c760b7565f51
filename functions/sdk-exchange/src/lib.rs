//! The `sdk-exchange` function: Zendesk's servers POST a mobile SDK user's `user_token`; this
//! resolves it to a known user and answers `{"jwt": "…"}`, an HS256 JWT signed with the shared
//! secret from Admin Center, for Zendesk's Support SDK JWT authentication.
//!
//! Unknown, empty, expired or revoked tokens get 401; there are never redirects. A shared secret
//! of nine characters or fewer is the redacted copy the admin UI shows: it is refused with 503.

mod users;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zendesk_jwt::env::{self, ConfigError};
use zendesk_jwt::{JwksCache, JwksSettings, JwksVerifier, SecretCache, SecretSource, TokenRules};

pub use users::{
    ClaimNames, IdentityProviderTokens, MAX_USER_TOKEN_BYTES, OPTIONAL_ATTRIBUTES, ResolveError,
    SdkUser, UserResolver, UserTokenTable, token_hash,
};

/// Largest form body accepted.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Where the shared secret comes from.
#[derive(Clone, Debug)]
pub enum SharedSecretSource {
    /// Secrets Manager secret id (`SDK_SHARED_SECRET_ID`), the normal case.
    SecretId(String),
    /// The secret itself (`SDK_SHARED_SECRET`), for local runs only.
    Inline(String),
}

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
        /// `JWKS_COOLDOWN_SECONDS`, `JWKS_TIMEOUT_MS`, `JWKS_MAX_BYTES`.
        jwks: JwksSettings,
    },
}

/// The sdk-exchange function's configuration, read once from the environment.
#[derive(Clone, Debug)]
pub struct SdkConfig {
    /// `SDK_SHARED_SECRET_ID` or `SDK_SHARED_SECRET`.
    pub secret: SharedSecretSource,
    /// `SECRET_TTL_SECONDS` (default 300).
    pub secret_ttl: Duration,
    /// `USER_TOKEN_RESOLVER` and its settings.
    pub resolver: ResolverConfig,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60), for identity-provider tokens.
    pub leeway: Duration,
}

impl SdkConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&env::ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = env::Reader::new(vars);
        let secret = match (
            env.optional("SDK_SHARED_SECRET_ID"),
            env.optional("SDK_SHARED_SECRET"),
        ) {
            (Some(id), _) => SharedSecretSource::SecretId(id),
            (None, Some(secret)) => SharedSecretSource::Inline(secret),
            (None, None) => {
                return Err(ConfigError::new(
                    "SDK_SHARED_SECRET_ID",
                    "is required (or SDK_SHARED_SECRET for local runs)",
                ));
            }
        };
        let resolver = match env.optional("USER_TOKEN_RESOLVER").as_deref() {
            None | Some("table") => ResolverConfig::Table {
                table: env.required("USER_TOKENS_TABLE")?,
            },
            Some("identity-provider") => ResolverConfig::IdentityProvider {
                jwks_url: env.url("IDP_JWKS_URL")?,
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
                jwks: env.jwks_settings()?,
            },
            Some(other) => {
                return Err(ConfigError::new(
                    "USER_TOKEN_RESOLVER",
                    format!("{other:?} is neither \"table\" nor \"identity-provider\""),
                ));
            }
        };
        let leeway = env.leeway()?;
        Ok(Self {
            secret,
            secret_ttl: env.seconds_or("SECRET_TTL_SECONDS", Duration::from_secs(300))?,
            resolver,
            leeway,
        })
    }
}

/// The encoded JOSE header of every SDK JWT: `{"alg":"HS256","typ":"JWT"}`.
const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The claims of an SDK JWT, borrowed from the user (no copies).
struct SdkClaims<'a> {
    name: &'a str,
    email: &'a str,
    jti: &'a str,
    iat: u64,
    /// Only names from [`OPTIONAL_ATTRIBUTES`], so never one of the fields above.
    attributes: &'a Map<String, Value>,
}

// Written by hand rather than with `#[serde(flatten)]`, which buffers every value first and
// doubles the cost of signing.
impl Serialize for SdkClaims<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4 + self.attributes.len()))?;
        map.serialize_entry("name", self.name)?;
        map.serialize_entry("email", self.email)?;
        map.serialize_entry("jti", self.jti)?;
        map.serialize_entry("iat", &self.iat)?;
        for (name, value) in self.attributes {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Signs SDK JWTs (HS256) with the shared secret.
///
/// The HMAC key is prepared once per secret and the header is a constant, so signing is one
/// serialization and one HMAC; `benchmarks/benches/verification.rs` measures it against a raw
/// HMAC. Tests verify every token with `jsonwebtoken`.
pub struct SdkTokenIssuer {
    key: hmac::Key,
}

impl SdkTokenIssuer {
    /// Parse the shared secret; nine characters or fewer is Zendesk's redacted display copy.
    pub fn from_secret(secret: &SecretString) -> Result<Self, String> {
        let secret = secret.expose_secret().trim();
        if secret.chars().count() <= 9 {
            return Err("the SDK shared secret has 9 characters or fewer: it is unset, or it is the redacted copy Zendesk's admin UI shows; store the full secret".into());
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        })
    }

    /// The signed JWT for `user`: `name`, `email`, `jti` (random UUID v4), `iat` (whole seconds)
    /// and the user's optional attributes.
    pub fn sign(&self, user: &SdkUser) -> Result<String, serde_json::Error> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        // uuid's `fast-rng`: a thread-local CSPRNG seeded from the OS, no system call per token.
        let mut jti = uuid::Uuid::encode_buffer();
        let jti = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut jti);
        let claims = serde_json::to_vec(&SdkClaims {
            name: &user.name,
            email: &user.email,
            jti,
            iat,
            attributes: &user.attributes,
        })?;
        let mut jwt = String::with_capacity(HS256_HEADER.len() + claims.len() * 4 / 3 + 48);
        jwt.push_str(HS256_HEADER);
        jwt.push('.');
        BASE64URL.encode_string(&claims, &mut jwt);
        let tag = hmac::sign(&self.key, jwt.as_bytes());
        jwt.push('.');
        BASE64URL.encode_string(tag.as_ref(), &mut jwt);
        Ok(jwt)
    }
}

/// The exchange handler and what it keeps between invocations.
pub struct SdkExchange {
    issuer: SecretCache<SdkTokenIssuer>,
    resolver: UserResolver,
}

#[derive(Deserialize)]
struct ExchangeForm {
    user_token: Option<String>,
}

impl SdkExchange {
    /// Build the handler. `secrets` is needed when the secret comes from Secrets Manager and
    /// `dynamodb` when user tokens are in a table.
    pub fn new(
        config: &SdkConfig,
        secrets: Option<aws_sdk_secretsmanager::Client>,
        dynamodb: Option<aws_sdk_dynamodb::Client>,
    ) -> Self {
        let source = match (&config.secret, secrets) {
            (SharedSecretSource::SecretId(id), Some(client)) => SecretSource::SecretsManager {
                client,
                secret_id: id.clone(),
            },
            (SharedSecretSource::SecretId(_), None) => {
                panic!("a Secrets Manager client is needed for SDK_SHARED_SECRET_ID")
            }
            (SharedSecretSource::Inline(secret), _) => SecretSource::Inline(secret.clone().into()),
        };
        let resolver = match &config.resolver {
            ResolverConfig::Table { table } => UserResolver::Table(UserTokenTable::new(
                dynamodb.expect("a DynamoDB client is needed for USER_TOKENS_TABLE"),
                table.clone(),
            )),
            ResolverConfig::IdentityProvider {
                jwks_url,
                issuer,
                audience,
                claims,
                jwks,
            } => {
                let cache = Arc::new(JwksCache::new(jwks_url.clone(), jwks.clone()));
                let rules = TokenRules {
                    issuer: Some(issuer.clone()),
                    audience: Some(vec![audience.clone()]),
                    leeway: config.leeway,
                };
                UserResolver::IdentityProvider(Box::new(IdentityProviderTokens::new(
                    JwksVerifier::new(cache, &rules),
                    claims.clone(),
                )))
            }
        };
        Self {
            issuer: SecretCache::new(source, config.secret_ttl, SdkTokenIssuer::from_secret),
            resolver,
        }
    }

    /// Answer one request. Every expected failure is a response; this never fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.exchange(&req).await {
            Ok(jwt) => json_response(StatusCode::OK, &json!({ "jwt": jwt })),
            Err(error) => json_response(error.status(), &json!({ "message": error.to_string() })),
        }
    }

    async fn exchange(&self, req: &Request) -> Result<String, ExchangeError> {
        if req.method() != Method::POST {
            return Err(ExchangeError::MethodNotAllowed);
        }
        let user_token = read_form(req)?.user_token.ok_or(ExchangeError::BadRequest(
            "The user_token form field is required",
        ))?;
        let user = self
            .resolver
            .resolve(&user_token)
            .await
            .map_err(|error| match error {
                ResolveError::Refused(reason) => {
                    tracing::debug!(%reason, "user token refused");
                    ExchangeError::Refused
                }
                ResolveError::Unavailable(reason) => {
                    tracing::error!(%reason, "user lookup unavailable");
                    ExchangeError::LookupUnavailable
                }
            })?;
        let issuer = self.issuer.get().await.map_err(|error| {
            tracing::error!(%error, "cannot sign SDK JWTs");
            ExchangeError::SigningUnavailable
        })?;
        let jwt = issuer.sign(&user).map_err(|error| {
            tracing::error!(%error, "signing the SDK JWT failed");
            ExchangeError::SigningUnavailable
        })?;
        tracing::info!("SDK JWT issued");
        Ok(jwt)
    }
}

/// An expected failure of the exchange; each variant says the status it answers with. The display
/// text is the `message` Zendesk receives (and logs).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// 400: the form is malformed or lacks `user_token`.
    #[error("{0}")]
    BadRequest(&'static str),
    /// 401: unknown, empty, expired or revoked user token (the reason is logged at debug).
    #[error("Unknown or expired user token")]
    Refused,
    /// 405.
    #[error("Use POST with a user_token form field")]
    MethodNotAllowed,
    /// 413.
    #[error("The request body must be at most 16 KiB")]
    TooLarge,
    /// 415: not a form.
    #[error("Send a form (application/x-www-form-urlencoded) with a user_token field")]
    UnsupportedMediaType,
    /// 503: the user store or identity provider keys are unreachable.
    #[error("User lookup is temporarily unavailable")]
    LookupUnavailable,
    /// 503: the shared secret is missing, unreadable or a redacted copy (the cause is logged).
    #[error("JWT signing is not available: the shared secret is missing or unusable")]
    SigningUnavailable,
}

impl ExchangeError {
    /// The HTTP status this failure answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ExchangeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ExchangeError::Refused => StatusCode::UNAUTHORIZED,
            ExchangeError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ExchangeError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ExchangeError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ExchangeError::LookupUnavailable | ExchangeError::SigningUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

fn read_form(req: &Request) -> Result<ExchangeForm, ExchangeError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ExchangeError::UnsupportedMediaType);
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ExchangeError::TooLarge);
    }
    serde_urlencoded::from_bytes(body).map_err(|_| {
        ExchangeError::BadRequest("The form could not be read (is user_token repeated?)")
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body.to_string()))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    #[test]
    fn the_constant_header_is_hs256_jwt() {
        let header = BASE64URL.decode(HS256_HEADER).unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn a_signed_jwt_verifies_with_jsonwebtoken_and_has_exact_claims() {
        let secret = "test-only-shared-secret-0123456789";
        let issuer = SdkTokenIssuer::from_secret(&secret.to_owned().into()).unwrap();
        let mut attributes = Map::new();
        attributes.insert("external_id".into(), Value::from("crm-1"));
        let user = SdkUser {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            attributes,
        };
        let jwt = issuer.sign(&user).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(
            &jwt,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["name"], "Ann");
        assert_eq!(claims["external_id"], "crm-1");
        assert!(claims["iat"].is_u64());
        let jti = uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
        assert_eq!(jti.get_version_num(), 4);
        assert_eq!(claims.as_object().unwrap().len(), 5);
    }
}
