//! The `sdk-exchange` function: a user token in, a Zendesk JWT out, on two routes.
//!
//! * `POST /sdk/jwt`: Zendesk's servers POST a mobile SDK user's `user_token`; the answer is
//!   `{"jwt": "…"}`, an HS256 JWT signed with the shared secret from Admin Center, for the
//!   Support SDK's JWT authentication.
//! * `POST /messaging/jwt`: the customer's site or app sends the user's token (a bearer token
//!   or the same `user_token` form field); the answer is `{"jwt": "…"}`, a messaging JWT signed
//!   with a messaging signing key (`{"kid", "secret"}` from Admin Center), which the Web Widget
//!   and the SDKs for messaging sign the user in with. Browser origins are the configured ones
//!   only (CORS).
//!
//! Both resolve the token with the same resolver (a DynamoDB table, or an identity provider).
//! Unknown, empty, expired or revoked tokens get 401; there are never redirects. A shared secret
//! of nine characters or fewer is the redacted copy the admin UI shows, and a messaging key
//! that is not Zendesk's is refused: 503.
//!
//! [`config`] holds the settings, [`error`] every failure answer, `users` the user-token
//! resolvers, `issuer` the SDK's signing and [`messaging`] messaging's claims and signing.

pub mod config;
pub mod error;
mod issuer;
pub mod messaging;
mod users;

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::cors::{self, Api, Cors, CorsRules};
use zendesk_jwt::lambda::env::ConfigError;
use zendesk_jwt::lambda::http::{bearer_token, json_response, media_type, read_form};
use zendesk_jwt::lambda::metrics::{Function, Metrics, answer};
use zendesk_jwt::lambda::secrets::SecretCache;
use zendesk_jwt::{JwksCache, JwksVerifier, RefusalReason, TokenRules};

pub use config::{ExchangeConfig, MessagingConfig, ResolverConfig};
use error::ExchangeError;
pub use issuer::SdkTokenIssuer;
pub use messaging::{MessagingClaims, MessagingTokenIssuer};
pub use users::{
    ClaimNames, EmailVerified, IdentityProviderTokens, ResolveError, SdkUser, UserResolver,
    UserTokenTable, token_hash,
};

/// The function's two routes, and what it keeps between invocations.
pub struct SdkExchange {
    /// The exchange, answering both routes (`Exchange::handle`).
    exchange: Api,
    /// The same behind the messaging route's CORS policy.
    messaging: Cors,
    /// Where each request is counted, once, on the way out.
    metrics: Metrics,
}

/// The exchange itself: resolving and signing.
struct Exchange {
    resolver: UserResolver,
    sdk_issuer: SecretCache<SdkTokenIssuer>,
    /// `None` when no messaging signing key is configured.
    messaging_issuer: Option<SecretCache<MessagingTokenIssuer>>,
    messaging_lifetime: Duration,
    clock: Clock,
}

/// Which JWT a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// `POST /sdk/jwt`: the Support SDK's.
    Sdk,
    /// `POST /messaging/jwt`: messaging's.
    Messaging,
}

impl Route {
    /// The route of `path`, matched on its last two segments so that it works under any stage
    /// or prefix: `…/messaging/jwt` is messaging's, and every other path the SDK's, as it was
    /// before the messaging route existed (the HTTP API routes only `/sdk/jwt` there).
    fn of(path: &str) -> Route {
        let mut segments = path.trim_end_matches('/').rsplit('/');
        match (segments.next(), segments.next()) {
            (Some("jwt"), Some("messaging")) => Route::Messaging,
            _ => Route::Sdk,
        }
    }
}

/// The form Zendesk POSTs (and a messaging caller may).
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
        let messaging_issuer = match &config.messaging.signing_key {
            None => None,
            Some(location) => Some(
                SecretCache::new(
                    location,
                    aws,
                    config.secret_times,
                    config.clock.clone(),
                    MessagingTokenIssuer::from_secret,
                )?
                .with_metrics(metrics.clone()),
            ),
        };
        let exchange = Arc::new(Exchange {
            sdk_issuer: SecretCache::new(
                &config.secret,
                aws,
                config.secret_times,
                config.clock.clone(),
                SdkTokenIssuer::from_secret,
            )?
            .with_metrics(metrics.clone()),
            messaging_issuer,
            messaging_lifetime: config.messaging.token_lifetime,
            resolver,
            clock: config.clock.clone(),
        });
        // One handler for both routes: the route is read from each request, so the bootstrap
        // holds one copy of the exchange, not one per route.
        let api = cors::api(move |req: Request| {
            let exchange = exchange.clone();
            async move { exchange.handle(req).await }
        });
        // The customer's site POSTs, with the user's token as a bearer token or a form; it reads
        // only the answer's body.
        let rules = CorsRules {
            methods: vec![Method::POST],
            allow_headers: vec![header::AUTHORIZATION, header::CONTENT_TYPE],
            expose_headers: vec![],
        };
        Ok(Self {
            messaging: Cors::new(
                &config.messaging.allowed_origins,
                rules,
                api.clone(),
                || ExchangeError::OriginNotAllowed.into_response(),
            ),
            exchange: api,
            metrics,
        })
    }

    /// Answer one request, CORS included on the messaging route, and count it. Every expected
    /// failure is a response; this never fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let response = match Route::of(req.uri().path()) {
            Route::Messaging => self.messaging.call(req).await,
            Route::Sdk => match self.exchange.clone().oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
        };
        self.metrics.count(response)
    }
}

impl Exchange {
    /// Answer one request on its route.
    async fn handle(&self, req: Request) -> Response<Body> {
        let route = Route::of(req.uri().path());
        answer(
            self.exchange(route, &req)
                .await
                .map(|jwt| json_response(StatusCode::OK, &json!({ "jwt": jwt }))),
        )
    }

    /// Down once (method, body, resolve, sign) and back once.
    async fn exchange(&self, route: Route, req: &Request) -> Result<String, ExchangeError> {
        if req.method() != Method::POST {
            return Err(ExchangeError::MethodNotAllowed);
        }
        let user_token = match route {
            Route::Sdk => read_form::<ExchangeForm>(req)?.user_token,
            Route::Messaging => messaging_user_token(req)?,
        };
        // Zendesk's contract: a token that is missing or not usable is one Zendesk cannot use.
        let user_token = user_token.ok_or_else(|| {
            tracing::debug!("request without a user token");
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
        match route {
            Route::Sdk => self.sign_sdk(&user).await,
            Route::Messaging => self.sign_messaging(&user).await,
        }
    }

    async fn sign_sdk(&self, user: &SdkUser) -> Result<String, ExchangeError> {
        let issuer = self.sdk_issuer.get().await.map_err(|error| {
            tracing::error!(%error, "cannot sign SDK JWTs");
            ExchangeError::SigningUnavailable
        })?;
        let jwt = issuer
            .sign(user, self.clock.now_seconds())
            .map_err(|error| {
                tracing::error!(%error, "signing the SDK JWT failed");
                ExchangeError::SigningUnavailable
            })?;
        tracing::info!("SDK JWT issued");
        Ok(jwt)
    }

    async fn sign_messaging(&self, user: &SdkUser) -> Result<String, ExchangeError> {
        let claims =
            MessagingClaims::for_user(user, self.clock.now_seconds(), self.messaging_lifetime)
                .ok_or_else(|| {
                    let reason = "the user has no external_id, which messaging needs";
                    tracing::debug!(%reason, "user token refused");
                    ExchangeError::Refused(RefusalReason::Malformed)
                })?;
        let Some(cache) = &self.messaging_issuer else {
            tracing::error!(
                "cannot sign messaging JWTs: MESSAGING_SIGNING_KEY_SECRET_ID is not set"
            );
            return Err(ExchangeError::MessagingUnavailable);
        };
        let issuer = cache.get().await.map_err(|error| {
            tracing::error!(%error, "cannot sign messaging JWTs");
            ExchangeError::MessagingUnavailable
        })?;
        let jwt = issuer.sign(&claims).map_err(|error| {
            tracing::error!(%error, "signing the messaging JWT failed");
            ExchangeError::MessagingUnavailable
        })?;
        tracing::info!(kid = issuer.kid(), "messaging JWT issued");
        Ok(jwt)
    }
}

/// The user token of a messaging request: its bearer token, or the `user_token` field of its
/// form body, never both. A request with neither has none (a 401, like the SDK route's).
fn messaging_user_token(req: &Request) -> Result<Option<String>, ExchangeError> {
    let bearer = bearer_token(req);
    // A bearer-only request may have no body at all, so no media type either.
    let form_token = if req.body().as_ref().is_empty() && media_type(req).is_none() {
        None
    } else {
        read_form::<ExchangeForm>(req)?.user_token
    };
    match (bearer, form_token) {
        (Some(_), Some(_)) => Err(ExchangeError::TwoCredentials),
        (Some(token), None) => Ok(Some(token.to_owned())),
        (None, form_token) => Ok(form_token),
    }
}

impl zendesk_jwt::lambda::runtime::Function for SdkExchange {
    type Config = ExchangeConfig;

    fn config() -> Result<ExchangeConfig, ConfigError> {
        ExchangeConfig::from_env()
    }

    fn build(config: &ExchangeConfig, aws: &Aws) -> Result<Self, ConfigError> {
        Self::new(config, aws)
    }

    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send {
        SdkExchange::handle(self, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The customer's site allowed to call the messaging route.
    const SITE: &str = "https://www.example.com";

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
            // TEST KEY ONLY.
            (
                "MESSAGING_SIGNING_KEY",
                r#"{"kid": "app_0123456789abcdef01234567", "secret": "test-only-messaging-secret-0123456789"}"#
                    .to_owned(),
            ),
            ("MESSAGING_ALLOWED_ORIGINS", SITE.to_owned()),
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

    fn messaging(method: &str, headers: &[(&str, &str)], body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri("/messaging/jwt");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    fn message(response: &Response<Body>) -> String {
        match response.body() {
            Body::Text(text) => text.clone(),
            _ => String::new(),
        }
    }

    #[test]
    fn only_a_path_ending_in_messaging_jwt_is_the_messaging_route() {
        for path in ["/messaging/jwt", "/prod/messaging/jwt", "/messaging/jwt/"] {
            assert_eq!(Route::of(path), Route::Messaging, "{path}");
        }
        for path in [
            "/sdk/jwt",
            "/prod/sdk/jwt",
            "/messaging",
            "/jwt",
            "/messaging/jwt/x",
            "/",
        ] {
            assert_eq!(Route::of(path), Route::Sdk, "{path}");
        }
    }

    #[tokio::test]
    async fn messaging_requests_that_carry_no_single_usable_token_are_answered_before_any_lookup() {
        let exchange = exchange();
        let form = ("content-type", "application/x-www-form-urlencoded");
        let bearer = ("authorization", "Bearer abc");
        for (headers, body, status) in [
            (vec![], "", 401),
            (vec![form], "", 401),
            (vec![form], "other=1", 401),
            (vec![form], "user_token[]=abc", 401),
            (vec![form], "user_token=a&user_token=b", 401),
            (vec![("authorization", "Basic abc")], "", 401),
            (vec![bearer, form], "user_token=abc", 400),
            (
                vec![("content-type", "application/json")],
                r#"{"user_token":"abc"}"#,
                415,
            ),
            (
                vec![bearer, ("content-type", "application/json")],
                "{}",
                415,
            ),
        ] {
            let response = exchange.handle(messaging("POST", &headers, body)).await;
            assert_eq!(
                response.status(),
                status,
                "{headers:?} {body:?}: {}",
                message(&response)
            );
        }
        let get = exchange.handle(messaging("GET", &[bearer], "")).await;
        assert_eq!(get.status(), 405);
    }

    #[tokio::test]
    async fn the_messaging_route_answers_only_its_sites_origin_and_the_sdk_route_is_untouched() {
        let exchange = exchange();
        let from = |origin: &'static str| [("origin", origin), ("authorization", "Bearer abc")];
        let other = exchange
            .handle(messaging("POST", &from("https://evil.example"), ""))
            .await;
        assert_eq!(other.status(), 403);
        assert_eq!(
            message(&other),
            r#"{"message":"Requests from this origin are not allowed"}"#
        );
        let preflight = exchange
            .handle(messaging(
                "OPTIONS",
                &[("origin", SITE), ("access-control-request-method", "POST")],
                "",
            ))
            .await;
        assert_eq!(preflight.status(), 200);
        assert_eq!(preflight.headers()["access-control-allow-origin"], SITE);
        // The SDK route has no CORS policy: Zendesk's servers send no Origin, and one changes
        // nothing there.
        let mut sdk = post("application/x-www-form-urlencoded", "");
        sdk.headers_mut()
            .insert("origin", "https://evil.example".parse().unwrap());
        let sdk = exchange.handle(sdk).await;
        assert_eq!(sdk.status(), 401);
        assert!(!sdk.headers().contains_key("vary"));
    }
}
