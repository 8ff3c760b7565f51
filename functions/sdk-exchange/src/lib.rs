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
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::env::ConfigError;
use zendesk_jwt::lambda::http::{json_response, read_form};
use zendesk_jwt::lambda::secrets::SecretCache;
use zendesk_jwt::{JwksCache, JwksVerifier, TokenRules};

pub use config::{ExchangeConfig, ResolverConfig};
pub use error::ExchangeError;
pub use issuer::SdkTokenIssuer;
pub use users::{
    ClaimNames, IdentityProviderTokens, MAX_USER_TOKEN_BYTES, OPTIONAL_ATTRIBUTES, ResolveError,
    SdkUser, UserResolver, UserTokenTable, token_hash,
};

/// The exchange handler and what it keeps between invocations.
pub struct SdkExchange {
    issuer: SecretCache<SdkTokenIssuer>,
    resolver: UserResolver,
}

/// The form Zendesk POSTs.
#[derive(Deserialize)]
struct ExchangeForm {
    user_token: Option<String>,
}

impl SdkExchange {
    /// Build the handler, with the AWS clients its configuration needs from `aws`.
    pub fn new(config: &ExchangeConfig, aws: &Aws) -> Result<Self, ConfigError> {
        let resolver = match &config.resolver {
            ResolverConfig::Table { table } => {
                UserResolver::Table(UserTokenTable::new(aws.dynamodb()?, table.clone()))
            }
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
        Ok(Self {
            issuer: SecretCache::new(
                &config.secret,
                aws,
                config.secret_ttl,
                SdkTokenIssuer::from_secret,
            )?,
            resolver,
        })
    }

    /// Answer one request. Every expected failure is a response; this never fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.exchange(&req).await {
            Ok(jwt) => json_response(StatusCode::OK, &json!({ "jwt": jwt })),
            Err(error) => error.into_response(),
        }
    }

    async fn exchange(&self, req: &Request) -> Result<String, ExchangeError> {
        if req.method() != Method::POST {
            return Err(ExchangeError::MethodNotAllowed);
        }
        let form: ExchangeForm = read_form(req)?;
        let user_token = form.user_token.ok_or(ExchangeError::BadRequest(
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
