//! The SDK JWT endpoint over DynamoDB Local (user tokens) and moto's Secrets Manager (the shared
//! secret), or over an identity provider's local JWKS; and what its tests send and read.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::{Body, Request, Response};
use sdk_exchange::{
    ClaimNames, EmailVerified, ExchangeConfig, ResolverConfig, SdkExchange, token_hash,
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
}

/// The exchange's configuration: user tokens from `table`, the shared secret at `secret`.
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
    }
}

/// GIVEN the exchange with [`SHARED_SECRET`] in Secrets Manager.
pub async fn fixture() -> Fixture {
    fixture_with(SHARED_SECRET, Duration::from_secs(300)).await
}

/// GIVEN the exchange with `secret` in Secrets Manager, read again after `ttl`.
pub async fn fixture_with(secret: &str, ttl: Duration) -> Fixture {
    let aws = aws();
    let secrets = aws.secrets_manager().expect("a Secrets Manager client");
    let secret_id = create_secret(&secrets, secret).await;
    let location = SecretLocation::SecretsManager(secret_id.clone());
    build(&aws, location, ttl, Some(secret_id)).await
}

/// GIVEN the exchange over a fresh table of the DynamoDB that `aws` reaches, with
/// [`SHARED_SECRET`] given inline (so that DynamoDB is the only service it uses).
pub async fn fixture_with_inline_secret(aws: &Aws) -> Fixture {
    let inline = SecretLocation::Inline(SHARED_SECRET.into());
    build(aws, inline, Duration::from_secs(300), None).await
}

async fn build(
    aws: &Aws,
    secret: SecretLocation,
    ttl: Duration,
    secret_id: Option<String>,
) -> Fixture {
    let dynamodb = aws.dynamodb().expect("a DynamoDB client");
    let table = create_table(&dynamodb, "token_hash").await;
    let exchange = SdkExchange::new(&table_config(secret, ttl, &table), aws)
        .expect("the exchange is configured");
    Fixture {
        exchange: Arc::new(exchange),
        table,
        dynamodb,
        secrets: aws.secrets_manager().expect("a Secrets Manager client"),
        secret_id,
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
/// holds the `rotated` test key, with [`SHARED_SECRET`] in Secrets Manager.
pub async fn idp_fixture() -> IdpFixture {
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
                external_id: "sub".into(),
            },
            email_verified: EmailVerified::IfPresent,
            jwks: JwksSettings::default(),
        },
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
        clock: zendesk_jwt::clock::Clock::system(),
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
