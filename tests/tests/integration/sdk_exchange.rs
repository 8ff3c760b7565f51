//! The SDK JWT endpoint: user tokens resolved from DynamoDB or an identity provider, JWTs signed
//! with the shared secret from Secrets Manager.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::events::{header, json_body, message, request};
use integration_tests::sdk_exchange::{
    AUDIENCE, ISSUER, SHARED_SECRET, decode_sdk_jwt, exchange_token, fixture, fixture_with,
    idp_fixture, idp_token, sdk_claims,
};
use integration_tests::services::put_secret;
use integration_tests::tokens::keys;
use jsonwebtoken::Algorithm;
use serde_json::json;
use zendesk_jwt::devkeys;

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
    assert_eq!(
        f.exchange("user_token=known-token-0004").await.status(),
        200
    );
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
    f.register("known-token-0008", 3600, &[]).await;
    assert_eq!(
        f.exchange("user_token=known-token-0008").await.status(),
        200
    );
    // Zendesk's contract: a token that is missing or not usable is a 401, like an unknown one.
    for form in [
        "",
        "other=1",
        "user_token=a&user_token=b",
        "user_token[]=known-token-0008",
    ] {
        let response = f.exchange(form).await;
        assert_eq!(response.status(), 401, "{form:?}");
        assert_eq!(
            json_body(&response)["message"],
            "Unknown or expired user token"
        );
    }
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
    assert!(message(&response).contains("shared secret"));
}

#[tokio::test]
async fn the_secret_is_read_once_per_ttl_not_per_request() {
    let f = fixture_with(SHARED_SECRET, Duration::from_secs(2)).await;
    f.register("known-token-0006", 3600, &[]).await;
    let first = json_body(&f.exchange("user_token=known-token-0006").await);
    decode_sdk_jwt(first["jwt"].as_str().unwrap(), SHARED_SECRET);

    let rotated = "test-only-rotated-secret-fedcba9876543210";
    put_secret(&f.secrets, f.secret_id(), rotated).await;
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
        .secret_id(f.secret_id())
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let response = f.exchange("user_token=known-token-0007").await;
    assert_eq!(response.status(), 200, "served with the cached secret");
    sdk_claims(&response, SHARED_SECRET);
}

#[tokio::test]
async fn an_identity_provider_token_is_exchanged_with_its_subject_as_external_id() {
    let idp = idp_fixture().await;
    let response = exchange_token(&idp.exchange, &idp_token(ISSUER, AUDIENCE)).await;
    assert_eq!(response.status(), 200);
    let claims = sdk_claims(&response, SHARED_SECRET);
    assert_eq!(claims["name"], "Ida Provider");
    assert_eq!(claims["email"], "ida@example.com");
    assert_eq!(claims["external_id"], "idp-user-9");
    assert_eq!(idp.jwks.hits(), 1);
}

#[tokio::test]
async fn identity_provider_tokens_for_another_issuer_or_audience_are_401() {
    let idp = idp_fixture().await;
    let valid = exchange_token(&idp.exchange, &idp_token(ISSUER, AUDIENCE)).await;
    assert_eq!(valid.status(), 200);
    for token in [
        idp_token("https://other-idp.example.com/", AUDIENCE),
        idp_token(ISSUER, "someone-else"),
        keys().rogue.sign(&json!({"iss": ISSUER, "aud": AUDIENCE, "name": "x", "email": "x@example.com", "exp": devkeys::now() + 300})),
    ] {
        assert_eq!(exchange_token(&idp.exchange, &token).await.status(), 401);
    }
}
