//! The sdk-exchange function's two routes, the SDK JWT endpoint and messaging sign-in, over
//! DynamoDB Local (user tokens) and moto's Secrets Manager (the shared secret, the messaging
//! signing key), or over an identity provider's local JWKS; and what their tests send and read.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use lambda_http::{Body, Request, Response};
use sdk_exchange::{
    ClaimNames, EmailVerified, ExchangeConfig, MessagingConfig, ResolverConfig, SdkExchange,
    token_hash,
};
use serde_json::{Value, json};
use zendesk_jwt::JwksSettings;
use zendesk_jwt::devkeys;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::secrets::SecretLocation;

use crate::events::request;
use crate::jwks_server::JwksServer;
use crate::services::{aws, create_secret, create_table};
use crate::tokens::{keys, with_claim};

/// TEST SECRET ONLY.
pub const SHARED_SECRET: &str = "test-only-shared-secret-0123456789abcdef";

/// TEST KEY ONLY: the messaging signing key's id.
pub const MESSAGING_KID: &str = "app_7e570000000000000000000a";
/// TEST KEY ONLY: the messaging signing key's secret.
pub const MESSAGING_SECRET: &str = "test-only-messaging-secret-0123456789abcdef";
/// The customer's site, whose pages may call the messaging route.
pub const SITE_ORIGIN: &str = "https://www.example.com";

/// A messaging signing key as its secret holds it.
pub fn messaging_key(kid: &str, secret: &str) -> String {
    json!({"kid": kid, "secret": secret}).to_string()
}

/// The messaging route's settings: the signing key at `signing_key`, [`SITE_ORIGIN`] allowed,
/// tokens valid for the default five minutes.
pub fn messaging_config(signing_key: SecretLocation) -> MessagingConfig {
    MessagingConfig {
        signing_key: Some(signing_key),
        allowed_origins: vec![SITE_ORIGIN.to_owned()],
        token_lifetime: sdk_exchange::messaging::DEFAULT_TOKEN_LIFETIME,
    }
}

/// The [`MESSAGING_KID`] key, given inline.
pub fn inline_messaging_key() -> SecretLocation {
    SecretLocation::Inline(messaging_key(MESSAGING_KID, MESSAGING_SECRET).into())
}

/// The exchange resolving user tokens from a table of its own, and where its secret lives.
pub struct Fixture {
    /// The function.
    pub exchange: Arc<SdkExchange>,
    /// The user-token table.
    pub table: String,
    /// A client for the DynamoDB the function uses.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// A client for the Secrets Manager the function uses.
    pub secrets: aws_sdk_secretsmanager::Client,
    secret_id: Option<String>,
    messaging_secret_id: Option<String>,
}

/// The exchange's configuration: user tokens from `table`, the shared secret at `secret`, the
/// [`MESSAGING_KID`] key given inline for messaging.
pub fn table_config(secret: SecretLocation, secret_ttl: Duration, table: &str) -> ExchangeConfig {
    ExchangeConfig {
        secret,
        secret_times: crate::services::secret_times(secret_ttl),
        resolver: ResolverConfig::Table {
            table: table.to_owned(),
        },
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
        clock: zendesk_jwt::clock::Clock::system(),
        messaging: messaging_config(inline_messaging_key()),
    }
}

/// GIVEN the exchange with [`SHARED_SECRET`] and the [`MESSAGING_KID`] key in Secrets Manager.
pub async fn fixture() -> Fixture {
    fixture_with(SHARED_SECRET, Duration::from_secs(300)).await
}

/// GIVEN the exchange with `secret` and the [`MESSAGING_KID`] key in Secrets Manager, read
/// again after `ttl`.
pub async fn fixture_with(secret: &str, ttl: Duration) -> Fixture {
    fixture_with_keys(secret, &messaging_key(MESSAGING_KID, MESSAGING_SECRET), ttl).await
}

/// GIVEN the exchange with `secret` and the messaging signing key `messaging_key` (as its
/// secret holds it) in Secrets Manager, both read again after `ttl`.
pub async fn fixture_with_keys(secret: &str, messaging_key: &str, ttl: Duration) -> Fixture {
    let aws = aws();
    let secrets = aws.secrets_manager().expect("a Secrets Manager client");
    let secret_id = create_secret(&secrets, secret).await;
    let messaging_secret_id = create_secret(&secrets, messaging_key).await;
    let mut config = table_config(SecretLocation::SecretsManager(secret_id.clone()), ttl, "");
    config.messaging.signing_key =
        Some(SecretLocation::SecretsManager(messaging_secret_id.clone()));
    build(&aws, config, Some(secret_id), Some(messaging_secret_id)).await
}

/// GIVEN the exchange over a fresh table of the DynamoDB that `aws` reaches, with
/// [`SHARED_SECRET`] and the messaging key given inline (so that DynamoDB is the only service
/// it uses).
pub async fn fixture_with_inline_secret(aws: &Aws) -> Fixture {
    let inline = SecretLocation::Inline(SHARED_SECRET.into());
    let config = table_config(inline, Duration::from_secs(300), "");
    build(aws, config, None, None).await
}

/// GIVEN the exchange with [`SHARED_SECRET`] inline and these messaging settings.
pub async fn fixture_with_messaging(messaging: MessagingConfig) -> Fixture {
    let inline = SecretLocation::Inline(SHARED_SECRET.into());
    let mut config = table_config(inline, Duration::from_secs(300), "");
    config.messaging = messaging;
    build(&aws(), config, None, None).await
}

/// The exchange of `config` over a fresh user-token table.
async fn build(
    aws: &Aws,
    mut config: ExchangeConfig,
    secret_id: Option<String>,
    messaging_secret_id: Option<String>,
) -> Fixture {
    let dynamodb = aws.dynamodb().expect("a DynamoDB client");
    let table = create_table(&dynamodb, "token_hash").await;
    config.resolver = ResolverConfig::Table {
        table: table.clone(),
    };
    let exchange = SdkExchange::new(&config, aws).expect("the exchange is configured");
    Fixture {
        exchange: Arc::new(exchange),
        table,
        dynamodb,
        secrets: aws.secrets_manager().expect("a Secrets Manager client"),
        secret_id,
        messaging_secret_id,
    }
}

impl Fixture {
    /// The Secrets Manager secret holding the shared secret.
    pub fn secret_id(&self) -> &str {
        self.secret_id
            .as_deref()
            .expect("this fixture's shared secret is in Secrets Manager")
    }

    /// Store a user token for Ann Example (see [`register_user_token`]).
    pub async fn register(
        &self,
        user_token: &str,
        expires_in: i64,
        extra: &[(&str, AttributeValue)],
    ) {
        register_user_token(&self.dynamodb, &self.table, user_token, expires_in, extra).await;
    }

    /// POST `form` as it is (any text) to the exchange.
    pub async fn exchange(&self, form: &str) -> Response<Body> {
        self.exchange.handle(exchange_request(form)).await
    }

    /// Exchange `user_token`, as Zendesk sends it.
    pub async fn exchange_token(&self, user_token: &str) -> Response<Body> {
        exchange_token(&self.exchange, user_token).await
    }

    /// The Secrets Manager secret holding the messaging signing key.
    pub fn messaging_secret_id(&self) -> &str {
        self.messaging_secret_id
            .as_deref()
            .expect("this fixture's messaging key is in Secrets Manager")
    }

    /// `POST /messaging/jwt` with these headers and body (any text).
    pub async fn messaging(&self, headers: &[(&str, &str)], body: Option<&str>) -> Response<Body> {
        self.exchange.handle(messaging_request(headers, body)).await
    }

    /// Sign in to messaging with `user_token` in the form, from the customer's site.
    pub async fn sign_in(&self, user_token: &str) -> Response<Body> {
        sign_in(&self.exchange, user_token).await
    }
}

/// `POST /messaging/jwt` with these headers and body, as API Gateway hands it over.
pub fn messaging_request(headers: &[(&str, &str)], body: Option<&str>) -> Request {
    request("POST", "/messaging/jwt", headers, body)
}

/// Sign in to messaging with `user_token` as the form field, from [`SITE_ORIGIN`], as the
/// customer's page sends it.
pub async fn sign_in(exchange: &SdkExchange, user_token: &str) -> Response<Body> {
    let form = serde_urlencoded::to_string([("user_token", user_token)]).unwrap();
    exchange
        .handle(messaging_request(
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", SITE_ORIGIN),
            ],
            Some(&form),
        ))
        .await
}

/// Sign in to messaging with `token` as the bearer token, from [`SITE_ORIGIN`].
pub async fn sign_in_with_bearer(exchange: &SdkExchange, token: &str) -> Response<Body> {
    let authorization = format!("Bearer {token}");
    exchange
        .handle(messaging_request(
            &[("authorization", &authorization), ("origin", SITE_ORIGIN)],
            None,
        ))
        .await
}

/// The header and claims of a messaging JWT, after checking its HS256 signature with `secret`
/// and its `exp` against the clock (no leeway).
pub fn decode_messaging_jwt(jwt: &str, secret: &str) -> (Header, Value) {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    validation.leeway = 0;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .expect("the messaging JWT verifies with the signing key's secret and has not expired");
    (data.header, data.claims)
}

/// The header and claims of an answer's messaging JWT, signed with `secret`.
pub fn messaging_claims(response: &Response<Body>, secret: &str) -> (Header, Value) {
    let body = crate::events::json_body(response);
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only the jwt: {body}"
    );
    let jwt = body["jwt"]
        .as_str()
        .unwrap_or_else(|| panic!("no jwt in {body}"));
    decode_messaging_jwt(jwt, secret)
}

/// Store a user token the way an organisation's backend would (see the README's item format):
/// for Ann Example (ann@example.com), expiring in `expires_in` seconds, with `extra`
/// attributes.
pub async fn register_user_token(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    user_token: &str,
    expires_in: i64,
    extra: &[(&str, AttributeValue)],
) {
    let mut put = dynamodb
        .put_item()
        .table_name(table)
        .item("token_hash", AttributeValue::S(token_hash(user_token)))
        .item(
            "expires_at",
            AttributeValue::N((devkeys::now() + expires_in).to_string()),
        )
        .item("name", AttributeValue::S("Ann Example".into()))
        .item("email", AttributeValue::S("ann@example.com".into()));
    for (name, value) in extra {
        put = put.item(*name, value.clone());
    }
    put.send()
        .await
        .expect("DynamoDB Local accepts the user token");
}

/// `POST /sdk/jwt` with `form`, as Zendesk's servers send it.
pub fn exchange_request(form: &str) -> Request {
    request(
        "POST",
        "/sdk/jwt",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form),
    )
}

/// Exchange `user_token` with `exchange` (the form URL-encoded, as Zendesk sends it).
pub async fn exchange_token(exchange: &SdkExchange, user_token: &str) -> Response<Body> {
    let form = serde_urlencoded::to_string([("user_token", user_token)]).unwrap();
    exchange.handle(exchange_request(&form)).await
}

/// The claims of an SDK JWT, after checking its HS256 signature with `secret`.
pub fn decode_sdk_jwt(jwt: &str, secret: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .expect("the SDK JWT verifies with the shared secret")
    .claims
}

/// The claims of an answer's SDK JWT, signed with `secret`.
pub fn sdk_claims(response: &Response<Body>, secret: &str) -> Value {
    let body = crate::events::json_body(response);
    let jwt = body["jwt"]
        .as_str()
        .unwrap_or_else(|| panic!("no jwt in {body}"));
    decode_sdk_jwt(jwt, secret)
}

/// The identity provider's `iss`.
pub const ISSUER: &str = "https://idp.example.com/";
/// The identity provider's `aud` for the SDK.
pub const AUDIENCE: &str = "zendesk-sdk";

/// The exchange resolving identity-provider tokens, and the provider's JWKS server.
pub struct IdpFixture {
    /// The function.
    pub exchange: SdkExchange,
    /// The identity provider's JWKS, holding the `rotated` test key.
    pub jwks: JwksServer,
}

/// GIVEN the exchange resolving identity-provider tokens verified against a local JWKS that
/// holds the `rotated` test key, with [`SHARED_SECRET`] in Secrets Manager and the
/// [`MESSAGING_KID`] key inline.
pub async fn idp_fixture() -> IdpFixture {
    idp_fixture_with_external_id_claim("sub").await
}

/// The same, with the user's external id read from the claim `external_id_claim`
/// (`IDP_EXTERNAL_ID_CLAIM`).
pub async fn idp_fixture_with_external_id_claim(external_id_claim: &str) -> IdpFixture {
    let aws = aws();
    let secrets = aws.secrets_manager().expect("a Secrets Manager client");
    let secret_id = create_secret(&secrets, SHARED_SECRET).await;
    let jwks = JwksServer::start(devkeys::jwks(&[&keys().rotated])).await;
    let config = ExchangeConfig {
        secret: SecretLocation::SecretsManager(secret_id),
        secret_times: crate::services::secret_times(Duration::from_secs(300)),
        resolver: ResolverConfig::IdentityProvider {
            jwks_url: jwks.url(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            claims: ClaimNames {
                name: "name".into(),
                email: "email".into(),
                external_id: external_id_claim.into(),
            },
            email_verified: EmailVerified::IfPresent,
            jwks: JwksSettings::default(),
        },
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
        clock: zendesk_jwt::clock::Clock::system(),
        messaging: messaging_config(inline_messaging_key()),
    };
    IdpFixture {
        exchange: SdkExchange::new(&config, &aws).expect("the exchange is configured"),
        jwks,
    }
}

/// Claims the identity provider issues for Ida Provider (subject `idp-user-9`).
pub fn idp_claims() -> Value {
    let now = devkeys::now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "idp-user-9",
        "name": "Ida Provider",
        "email": "ida@example.com",
        "iat": now,
        "exp": now + 300,
    })
}

/// Ida's token from the identity provider, with this issuer and audience.
pub fn idp_token(issuer: &str, audience: &str) -> String {
    let claims = with_claim(&idp_claims(), "iss", Some(json!(issuer)));
    keys()
        .rotated
        .sign(&with_claim(&claims, "aud", Some(json!(audience))))
}
