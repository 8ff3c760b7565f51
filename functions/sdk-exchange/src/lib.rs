//! The `sdk-exchange` function: Zendesk's servers POST a mobile SDK user's `user_token`; this
//! resolves it to a known user and answers `{"jwt": "…"}`, an HS256 JWT signed with the shared
//! secret from Admin Center, for Zendesk's Support SDK JWT authentication.
//!
//! Unknown, empty, expired or revoked tokens get 401; there are never redirects. A shared secret
//! of nine characters or fewer is the redacted copy the admin UI shows: it is refused with 503.
//!
//! [`config`] holds the settings, [`error`] every failure answer, `users` the user-token
//! resolvers and `issuer` the signing.

pub mod config;
pub mod error;
mod issuer;
mod users;

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::env::ConfigError;
use zendesk_jwt::lambda::http::{json_response, read_form};
use zendesk_jwt::lambda::metrics::{Function, Metrics, Outcome};
use zendesk_jwt::lambda::secrets::SecretCache;
use zendesk_jwt::{JwksCache, JwksVerifier, RefusalReason, TokenRules};

pub use config::{ExchangeConfig, ResolverConfig};
pub use error::ExchangeError;
pub use issuer::SdkTokenIssuer;
pub use users::{
    ClaimNames, EmailVerified, IdentityProviderTokens, MAX_USER_TOKEN_BYTES, OPTIONAL_ATTRIBUTES,
    ResolveError, SdkUser, UserResolver, UserTokenTable, token_hash,
};

/// The exchange handler and what it keeps between invocations.
pub struct SdkExchange {
    issuer: SecretCache<SdkTokenIssuer>,
    resolver: UserResolver,
    metrics: Metrics,
    clock: Clock,
}

/// The form Zendesk POSTs.
#[derive(Deserialize)]
struct ExchangeForm {
    user_token: Option<String>,
}

impl SdkExchange {
    /// Build the handler, with the AWS clients its configuration needs from `aws`.
    pub fn new(config: &ExchangeConfig, aws: &Aws) -> Result<Self, ConfigError> {
        let metrics = Metrics::stdout(config.metrics_namespace.clone(), Function::SdkExchange);
        Self::counting_in(metrics, config, aws)
    }

    /// The same, counting requests, secret reads and JWKS fetches in `metrics` (tests capture
    /// them; the local server discards them).
    pub fn counting_in(
        metrics: Metrics,
        config: &ExchangeConfig,
        aws: &Aws,
    ) -> Result<Self, ConfigError> {
        let resolver = match &config.resolver {
            ResolverConfig::Table { table } => UserResolver::Table(UserTokenTable::new(
                aws.dynamodb()?,
                table.clone(),
                config.clock.clone(),
            )),
            ResolverConfig::IdentityProvider {
                jwks_url,
                issuer,
                audience,
                claims,
                email_verified,
                jwks,
            } => {
                let cache = Arc::new(
                    JwksCache::new(jwks_url.clone(), jwks.clone(), config.clock.clone())
                        .with_metrics(metrics.clone()),
                );
                let rules = TokenRules {
                    issuer: Some(issuer.clone()),
                    audience: Some(vec![audience.clone()]),
                    leeway: config.leeway,
                };
                UserResolver::IdentityProvider(Box::new(IdentityProviderTokens::new(
                    JwksVerifier::new(cache, &rules),
                    claims.clone(),
                    *email_verified,
                )))
            }
        };
        Ok(Self {
            issuer: SecretCache::new(
                &config.secret,
                aws,
                config.secret_times,
                config.clock.clone(),
                SdkTokenIssuer::from_secret,
            )?
            .with_metrics(metrics.clone()),
            resolver,
            metrics,
            clock: config.clock.clone(),
        })
    }

    /// Answer one request, and count it. Every expected failure is a response; this never
    /// fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.exchange(&req).await {
            Ok(jwt) => {
                self.metrics.request(Outcome::Accepted);
                json_response(StatusCode::OK, &json!({ "jwt": jwt }))
            }
            Err(error) => {
                self.metrics.request(error.outcome());
                error.into_response()
            }
        }
    }

    async fn exchange(&self, req: &Request) -> Result<String, ExchangeError> {
        if req.method() != Method::POST {
            return Err(ExchangeError::MethodNotAllowed);
        }
        let form: ExchangeForm = read_form(req)?;
        // Zendesk's contract: a token that is missing or not usable is one Zendesk cannot use.
        let user_token = form.user_token.ok_or_else(|| {
            tracing::debug!("SDK exchange request without a user_token field");
            ExchangeError::Refused(RefusalReason::Missing)
        })?;
        let user = self
            .resolver
            .resolve(&user_token)
            .await
            .map_err(|error| match error {
                ResolveError::Refused(class, reason) => {
                    tracing::debug!(%reason, "user token refused");
                    ExchangeError::Refused(class)
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
        let jwt = issuer
            .sign(&user, self.clock.now_seconds())
            .map_err(|error| {
                tracing::error!(%error, "signing the SDK JWT failed");
                ExchangeError::SigningUnavailable
            })?;
        tracing::info!("SDK JWT issued");
        Ok(jwt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GIVEN an exchange whose user tokens are in a table and whose secret is inline; the
    /// requests below are answered before any AWS call.
    fn exchange() -> SdkExchange {
        let vars = vec![
            (
                "SDK_SHARED_SECRET",
                "test-only-shared-secret-0123456789".to_owned(),
            ),
            ("USER_TOKENS_TABLE", "tokens".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            // Nothing listens there: a request that reached DynamoDB would be a 503.
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9".to_owned()),
        ];
        let config = ExchangeConfig::from_vars(&vars).unwrap();
        SdkExchange::new(&config, &Aws::from_vars(&vars)).unwrap()
    }

    fn post(content_type: &str, body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("/sdk/jwt")
            .header("content-type", content_type)
            .body(Body::Text(body.to_owned()))
            .unwrap()
    }

    #[tokio::test]
    async fn a_token_that_is_missing_or_unusable_is_a_401_like_an_unknown_one() {
        let exchange = exchange();
        let form = "application/x-www-form-urlencoded";
        for body in [
            "",
            "other=1",
            "user_token[]=abc",
            "user_token=a&user_token=b",
            "user_token=",
        ] {
            let response = exchange.handle(post(form, body)).await;
            assert_eq!(response.status(), 401, "{body:?}");
            assert!(
                matches!(response.body(), Body::Text(t) if t.contains("Unknown or expired user token")),
                "{body:?}"
            );
        }
    }

    #[tokio::test]
    async fn only_a_body_that_is_not_a_form_is_a_415() {
        let exchange = exchange();
        let json = exchange
            .handle(post("application/json", r#"{"user_token":"abc"}"#))
            .await;
        assert_eq!(json.status(), 415);
        let big = format!("user_token={}", "a".repeat(17 * 1024));
        let too_large = exchange
            .handle(post("application/x-www-form-urlencoded", &big))
            .await;
        assert_eq!(too_large.status(), 413);
        let mut get = post("application/x-www-form-urlencoded", "user_token=abc");
        *get.method_mut() = Method::GET;
        assert_eq!(exchange.handle(get).await.status(), 405);
    }
}
