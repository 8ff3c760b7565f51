//! The SDK JWT endpoint: user tokens resolved from DynamoDB or an identity provider, JWTs signed
//! with the shared secret from Secrets Manager.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use devserver::devkeys;
use integration_tests::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::{Body, Response};
use sdk_exchange::{
    ClaimNames, ResolverConfig, SdkConfig, SdkExchange, SharedSecretSource, token_hash,
};
use serde_json::{Value, json};
use zendesk_jwt::JwksSettings;

/// TEST SECRET ONLY.
pub const SHARED_SECRET: &str = "test-only-shared-secret-0123456789abcdef";

pub struct Fixture {
    pub exchange: Arc<SdkExchange>,
    pub table: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub secret_id: String,
}

pub async fn fixture_with(secret: &str, ttl: Duration) -> Fixture {
    let dynamodb = dynamodb().await;
    let secrets = secrets().await;
    let table = create_table(&dynamodb, "token_hash", None).await;
    let secret_id = create_secret(&secrets, secret).await;
    let config = SdkConfig {
        secret: SharedSecretSource::SecretId(secret_id.clone()),
        secret_ttl: ttl,
        resolver: ResolverConfig::Table {
            table: table.clone(),
        },
        leeway: Duration::from_secs(30),
    };
    Fixture {
        exchange: Arc::new(SdkExchange::new(
            &config,
            Some(secrets.clone()),
            Some(dynamodb.clone()),
        )),
        table,
        dynamodb,
        secrets,
        secret_id,
    }
}

pub async fn fixture() -> Fixture {
    fixture_with(SHARED_SECRET, Duration::from_secs(300)).await
}

impl Fixture {
    /// Store a user token the way an organisation's backend would (see the README's item format).
    pub async fn register(
        &self,
        user_token: &str,
        expires_in: i64,
        extra: &[(&str, AttributeValue)],
    ) {
        let mut put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
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

    pub async fn exchange(&self, form: &str) -> Response<Body> {
        self.exchange
            .handle(request(
                "POST",
                "/sdk/jwt",
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(form),
            ))
            .await
    }
}

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

#[tokio::test]
async fn a_known_user_token_gets_a_signed_jwt_with_exact_claims() {
    let f = fixture().await;
    f.register("known-token-0001", 3600, &[]).await;
    let response = f.exchange("user_token=known-token-0001").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let body = json_body(&response);
    assert_eq!(body.as_object().unwrap().len(), 1, "only the jwt: {body}");
    let jwt = body["jwt"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    let claims = decode_sdk_jwt(jwt, SHARED_SECRET);
    assert_eq!(claims["name"], "Ann Example");
    assert_eq!(claims["email"], "ann@example.com");
    assert!(claims["iat"].is_u64(), "iat is an integer: {claims}");
    assert!((claims["iat"].as_i64().unwrap() - devkeys::now()).abs() <= 5);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(jti).unwrap().get_version_num(), 4);
    assert_eq!(
        claims.as_object().unwrap().len(),
        4,
        "no other claims: {claims}"
    );
}

#[tokio::test]
async fn every_jwt_has_a_fresh_jti() {
    let f = fixture().await;
    f.register("known-token-0002", 3600, &[]).await;
    let mut seen = HashSet::new();
    for _ in 0..5 {
        let body = json_body(&f.exchange("user_token=known-token-0002").await);
        let claims = decode_sdk_jwt(body["jwt"].as_str().unwrap(), SHARED_SECRET);
        assert!(seen.insert(claims["jti"].as_str().unwrap().to_owned()));
    }
}

#[tokio::test]
async fn optional_attributes_are_copied_when_the_user_has_them() {
    let f = fixture().await;
    f.register(
        "known-token-0003",
        3600,
        &[
            ("external_id", AttributeValue::S("crm-42".into())),
            ("organization_id", AttributeValue::N("77".into())),
            ("tags", AttributeValue::Ss(vec!["vip".into()])),
            ("unrelated", AttributeValue::S("not copied".into())),
        ],
    )
    .await;
    let body = json_body(&f.exchange("user_token=known-token-0003").await);
    let claims = decode_sdk_jwt(body["jwt"].as_str().unwrap(), SHARED_SECRET);
    assert_eq!(claims["external_id"], "crm-42");
    assert_eq!(claims["organization_id"], 77);
    assert_eq!(claims["tags"], json!(["vip"]));
    assert!(claims.get("unrelated").is_none());
}

#[tokio::test]
async fn unknown_empty_expired_and_revoked_tokens_are_401() {
    let f = fixture().await;
    f.register("expired-token-01", -1, &[]).await;
    f.register(
        "revoked-token-01",
        3600,
        &[("revoked", AttributeValue::Bool(true))],
    )
    .await;
    f.register("known-token-0004", 3600, &[]).await;
    for form in [
        "user_token=never-issued",
        "user_token=",
        "user_token=expired-token-01",
        "user_token=revoked-token-01",
        "user_token=known-token-000",
        "user_token=KNOWN-TOKEN-0004",
        "user_token=__proto__",
    ] {
        let response = f.exchange(form).await;
        assert_eq!(response.status(), 401, "{form}");
        assert!(header(&response, "location").is_none(), "never a redirect");
        assert_eq!(
            json_body(&response)["message"],
            "Unknown or expired user token",
            "{form}"
        );
    }
}

#[tokio::test]
async fn malformed_requests_are_4xx() {
    let f = fixture().await;
    assert_eq!(f.exchange("").await.status(), 400, "no user_token field");
    assert_eq!(f.exchange("user_token=a&user_token=b").await.status(), 400);
    let json = f
        .exchange
        .handle(request(
            "POST",
            "/sdk/jwt",
            &[("content-type", "application/json")],
            Some(r#"{"user_token":"x"}"#),
        ))
        .await;
    assert_eq!(json.status(), 415);
    let get = f
        .exchange
        .handle(request("GET", "/sdk/jwt", &[], None))
        .await;
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn a_redacted_secret_is_refused_with_a_503() {
    let f = fixture_with("abc***xyz", Duration::from_secs(300)).await;
    f.register("known-token-0005", 3600, &[]).await;
    let response = f.exchange("user_token=known-token-0005").await;
    assert_eq!(response.status(), 503);
    assert!(
        json_body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("shared secret")
    );
}

#[tokio::test]
async fn the_secret_is_read_once_per_ttl_not_per_request() {
    let f = fixture_with(SHARED_SECRET, Duration::from_secs(2)).await;
    f.register("known-token-0006", 3600, &[]).await;
    let first = json_body(&f.exchange("user_token=known-token-0006").await);
    decode_sdk_jwt(first["jwt"].as_str().unwrap(), SHARED_SECRET);

    let rotated = "test-only-rotated-secret-fedcba9876543210";
    put_secret(&f.secrets, &f.secret_id, rotated).await;
    let cached = json_body(&f.exchange("user_token=known-token-0006").await);
    decode_sdk_jwt(cached["jwt"].as_str().unwrap(), SHARED_SECRET);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refreshed = json_body(&f.exchange("user_token=known-token-0006").await);
    decode_sdk_jwt(refreshed["jwt"].as_str().unwrap(), rotated);
}

#[tokio::test]
async fn the_last_good_secret_is_kept_when_a_refresh_fails() {
    let f = fixture_with(SHARED_SECRET, Duration::from_millis(0)).await;
    f.register("known-token-0007", 3600, &[]).await;
    assert_eq!(
        f.exchange("user_token=known-token-0007").await.status(),
        200
    );
    f.secrets
        .delete_secret()
        .secret_id(&f.secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let response = f.exchange("user_token=known-token-0007").await;
    assert_eq!(response.status(), 200, "served with the cached secret");
    decode_sdk_jwt(json_body(&response)["jwt"].as_str().unwrap(), SHARED_SECRET);
}

pub mod identity_provider {
    use super::*;

    pub const ISSUER: &str = "https://idp.example.com/";
    pub const AUDIENCE: &str = "zendesk-sdk";

    /// GIVEN the exchange resolving identity-provider tokens verified against a local JWKS that
    /// holds the `rotated` test key.
    pub async fn idp_fixture() -> (SdkExchange, JwksServer) {
        let secrets = secrets().await;
        let secret_id = create_secret(&secrets, SHARED_SECRET).await;
        let jwks = JwksServer::start(devkeys::jwks(&[&keys().rotated])).await;
        let config = SdkConfig {
            secret: SharedSecretSource::SecretId(secret_id),
            secret_ttl: Duration::from_secs(300),
            resolver: ResolverConfig::IdentityProvider {
                jwks_url: jwks.url(),
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                claims: ClaimNames {
                    name: "name".into(),
                    email: "email".into(),
                    external_id: "sub".into(),
                },
                jwks: JwksSettings::default(),
            },
            leeway: Duration::from_secs(30),
        };
        (SdkExchange::new(&config, Some(secrets), None), jwks)
    }

    fn idp_token(issuer: &str, audience: &str) -> String {
        keys().rotated.sign(&json!({
            "iss": issuer,
            "aud": audience,
            "sub": "idp-user-9",
            "name": "Ida Provider",
            "email": "ida@example.com",
            "exp": devkeys::now() + 300,
        }))
    }

    async fn exchange(exchange: &SdkExchange, token: &str) -> Response<Body> {
        exchange
            .handle(request(
                "POST",
                "/sdk/jwt",
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(&format!("user_token={token}")),
            ))
            .await
    }

    #[tokio::test]
    async fn an_identity_provider_token_is_exchanged_with_its_subject_as_external_id() {
        let (exchange_fn, jwks) = idp_fixture().await;
        let response = exchange(&exchange_fn, &idp_token(ISSUER, AUDIENCE)).await;
        assert_eq!(response.status(), 200);
        let claims = decode_sdk_jwt(json_body(&response)["jwt"].as_str().unwrap(), SHARED_SECRET);
        assert_eq!(claims["name"], "Ida Provider");
        assert_eq!(claims["email"], "ida@example.com");
        assert_eq!(claims["external_id"], "idp-user-9");
        assert_eq!(jwks.hits(), 1);
    }

    #[tokio::test]
    async fn identity_provider_tokens_for_another_issuer_or_audience_are_401() {
        let (exchange_fn, _jwks) = idp_fixture().await;
        for token in [
            idp_token("https://other-idp.example.com/", AUDIENCE),
            idp_token(ISSUER, "someone-else"),
            keys().rogue.sign(&json!({"iss": ISSUER, "aud": AUDIENCE, "name": "x", "email": "x@example.com", "exp": devkeys::now() + 300})),
        ] {
            assert_eq!(exchange(&exchange_fn, &token).await.status(), 401);
        }
    }
}
