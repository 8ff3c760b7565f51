//! Messaging sign-in (`POST /messaging/jwt`): user tokens resolved from DynamoDB or an identity
//! provider, messaging JWTs signed with a signing key from Secrets Manager, CORS for the
//! customer's site; every refusal of the SDK route repeated here; tokens of the other flows
//! refused as the bearer; the key rotated while requests flow.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::events::{header, json_body, message, request};
use integration_tests::sdk_exchange::{
    AUDIENCE, ISSUER, MESSAGING_KID, MESSAGING_SECRET, SHARED_SECRET, SITE_ORIGIN,
    decode_messaging_jwt, exchange_token, fixture, fixture_with, fixture_with_keys,
    fixture_with_messaging, idp_claims, idp_fixture, idp_fixture_with_external_id_claim, idp_token,
    inline_messaging_key, messaging_claims, messaging_config, messaging_key, sdk_claims, sign_in,
    sign_in_with_bearer,
};
use integration_tests::services::put_secret;
use integration_tests::tokens::{keys, with_claim};
use integration_tests::{INSTALLATION_ID, SUBDOMAIN};
use jsonwebtoken::Algorithm;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use zendesk_jwt::devkeys;
use zendesk_jwt::{Session, SessionKey, ZafInstallation};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const FROM_SITE: (&str, &str) = ("origin", SITE_ORIGIN);

/// A user token item's `external_id`.
fn external_id(id: &str) -> (&'static str, AttributeValue) {
    ("external_id", AttributeValue::S(id.into()))
}

/// THEN the answer is the route's ordinary refusal.
fn assert_refused(response: &Response<Body>, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    assert!(
        header(response, "location").is_none(),
        "{case}: never a redirect"
    );
    assert_eq!(
        json_body(response),
        json!({"message": "Unknown or expired user token"}),
        "{case}"
    );
}

#[tokio::test]
async fn a_known_user_token_gets_a_messaging_jwt_with_the_kid_header_and_exact_claims() {
    let f = fixture().await;
    f.register(
        "messaging-token-01",
        3600,
        &[
            external_id("crm-42"),
            ("email_verified", AttributeValue::Bool(true)),
            ("phone", AttributeValue::S("+15550100".into())),
        ],
    )
    .await;
    let response = f.sign_in("messaging-token-01").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(SITE_ORIGIN)
    );
    let (jwt_header, claims) = messaging_claims(&response, MESSAGING_SECRET);
    assert_eq!(jwt_header.alg, Algorithm::HS256);
    assert_eq!(jwt_header.kid.as_deref(), Some(MESSAGING_KID));
    let jwt = json_body(&response)["jwt"].as_str().unwrap().to_owned();
    let raw_header: Value = serde_json::from_slice(&integration_tests::tokens::base64url_decode(
        jwt.split('.').next().unwrap(),
    ))
    .unwrap();
    assert_eq!(
        raw_header,
        json!({"alg": "HS256", "typ": "JWT", "kid": MESSAGING_KID})
    );
    let iat = claims["iat"].as_i64().expect("iat is a whole number");
    assert!((iat - devkeys::now()).abs() <= 5, "{claims}");
    assert_eq!(
        claims,
        json!({
            "scope": "user",
            "external_id": "crm-42",
            "name": "Ann Example",
            "email": "ann@example.com",
            "email_verified": true,
            "iat": iat,
            "exp": iat + 300,
        }),
        "exactly these claims: no phone, no jti"
    );
}

#[tokio::test]
async fn the_same_user_token_works_as_a_bearer_token_and_without_an_origin() {
    let f = fixture().await;
    f.register("messaging-token-02", 3600, &[external_id("crm-2")])
        .await;
    let bearer = sign_in_with_bearer(&f.exchange, "messaging-token-02").await;
    assert_eq!(bearer.status(), 200);
    assert_eq!(
        messaging_claims(&bearer, MESSAGING_SECRET).1["external_id"],
        "crm-2"
    );
    // A mobile app's backend or the app itself sends no Origin: not a browser, no CORS.
    let app = f
        .messaging(&[FORM], Some("user_token=messaging-token-02"))
        .await;
    assert_eq!(app.status(), 200);
    assert!(header(&app, "access-control-allow-origin").is_none());
    assert_eq!(
        messaging_claims(&app, MESSAGING_SECRET).1["external_id"],
        "crm-2"
    );
}

#[tokio::test]
async fn an_email_is_claimed_verified_only_when_its_source_vouches_for_it() {
    let f = fixture().await;
    for (token, verified, expected) in [
        ("messaging-token-03", None, None),
        (
            "messaging-token-04",
            Some(AttributeValue::Bool(false)),
            None,
        ),
        (
            "messaging-token-05",
            Some(AttributeValue::S("true".into())),
            None,
        ),
        (
            "messaging-token-06",
            Some(AttributeValue::Bool(true)),
            Some(true),
        ),
    ] {
        let mut extra = vec![external_id("crm-3")];
        extra.extend(verified.map(|v| ("email_verified", v)));
        f.register(token, 3600, &extra).await;
        let (_, claims) = messaging_claims(&f.sign_in(token).await, MESSAGING_SECRET);
        assert_eq!(claims["email"], "ann@example.com", "{token}");
        assert_eq!(
            claims.get("email_verified").and_then(Value::as_bool),
            expected,
            "{token}"
        );
    }
    let idp = idp_fixture().await;
    for (email_verified, expected) in [
        (None, None),
        (Some(json!(true)), Some(true)),
        (Some(json!("true")), Some(true)),
    ] {
        let token = keys().rotated.sign(&with_claim(
            &idp_claims(),
            "email_verified",
            email_verified.clone(),
        ));
        let response = sign_in_with_bearer(&idp.exchange, &token).await;
        let (_, claims) = messaging_claims(&response, MESSAGING_SECRET);
        assert_eq!(
            claims.get("email_verified").and_then(Value::as_bool),
            expected,
            "{email_verified:?}"
        );
    }
}

#[tokio::test]
async fn the_external_id_comes_from_the_table_item_or_the_providers_configured_claim() {
    let f = fixture().await;
    f.register("messaging-token-07", 3600, &[external_id("crm-7")])
        .await;
    let (_, claims) = messaging_claims(&f.sign_in("messaging-token-07").await, MESSAGING_SECRET);
    assert_eq!(claims["external_id"], "crm-7");

    // The identity provider's subject by default (`IDP_EXTERNAL_ID_CLAIM=sub`), as the SDK's.
    let idp = idp_fixture().await;
    let token = idp_token(ISSUER, AUDIENCE);
    let (_, claims) = messaging_claims(
        &sign_in_with_bearer(&idp.exchange, &token).await,
        MESSAGING_SECRET,
    );
    assert_eq!(claims["external_id"], "idp-user-9");
    assert_eq!(claims["name"], "Ida Provider");
    let sdk = exchange_token(&idp.exchange, &token).await;
    assert_eq!(
        sdk_claims(&sdk, SHARED_SECRET)["external_id"],
        "idp-user-9",
        "one identity on both routes"
    );
    // The same token in the form works too.
    let form = sign_in(&idp.exchange, &token).await;
    assert_eq!(
        messaging_claims(&form, MESSAGING_SECRET).1["external_id"],
        "idp-user-9"
    );

    // Another claim when configured.
    let idp = idp_fixture_with_external_id_claim("employee_id").await;
    let token = keys().rotated.sign(&with_claim(
        &idp_claims(),
        "employee_id",
        Some(json!("E-1001")),
    ));
    let (_, claims) = messaging_claims(
        &sign_in_with_bearer(&idp.exchange, &token).await,
        MESSAGING_SECRET,
    );
    assert_eq!(claims["external_id"], "E-1001");
}

#[tokio::test]
async fn a_user_without_an_external_id_signs_in_to_the_sdk_but_not_to_messaging() {
    let f = fixture().await;
    f.register("messaging-token-08", 3600, &[]).await;
    assert_eq!(f.exchange_token("messaging-token-08").await.status(), 200);
    assert_refused(&f.sign_in("messaging-token-08").await, "no external_id");
    f.register(
        "messaging-token-09",
        3600,
        &[("external_id", AttributeValue::N("42".into()))],
    )
    .await;
    assert_refused(
        &f.sign_in("messaging-token-09").await,
        "a numeric external_id",
    );

    let idp = idp_fixture_with_external_id_claim("employee_id").await;
    let without = keys().rotated.sign(&idp_claims());
    assert_eq!(exchange_token(&idp.exchange, &without).await.status(), 200);
    assert_refused(
        &sign_in_with_bearer(&idp.exchange, &without).await,
        "no employee_id claim",
    );
}

#[tokio::test]
async fn scope_is_always_user_whatever_the_users_token_says() {
    let idp = idp_fixture().await;
    for scope in [
        json!("openid profile admin"),
        json!("agent"),
        json!(["admin"]),
    ] {
        let token = keys()
            .rotated
            .sign(&with_claim(&idp_claims(), "scope", Some(scope.clone())));
        let (_, claims) = messaging_claims(
            &sign_in_with_bearer(&idp.exchange, &token).await,
            MESSAGING_SECRET,
        );
        assert_eq!(claims["scope"], "user", "{scope}");
    }
    let f = fixture().await;
    f.register(
        "messaging-token-10",
        3600,
        &[
            external_id("crm-10"),
            ("scope", AttributeValue::S("admin".into())),
        ],
    )
    .await;
    let (_, claims) = messaging_claims(&f.sign_in("messaging-token-10").await, MESSAGING_SECRET);
    assert_eq!(claims["scope"], "user");
}

#[tokio::test]
async fn exp_is_the_configured_lifetime_and_a_verifier_refuses_the_token_after_it() {
    let mut messaging = messaging_config(inline_messaging_key());
    messaging.token_lifetime = Duration::from_secs(60);
    let f = fixture_with_messaging(messaging).await;
    f.register("messaging-token-11", 3600, &[external_id("crm-11")])
        .await;
    let (_, claims) = messaging_claims(&f.sign_in("messaging-token-11").await, MESSAGING_SECRET);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60
    );

    // A lifetime of one second (below what MESSAGING_TOKEN_SECONDS allows, to keep the test
    // short): the token verifies now and is refused as expired two seconds later.
    let mut messaging = messaging_config(inline_messaging_key());
    messaging.token_lifetime = Duration::from_secs(1);
    let f = fixture_with_messaging(messaging).await;
    f.register("messaging-token-12", 3600, &[external_id("crm-12")])
        .await;
    let response = f.sign_in("messaging-token-12").await;
    let jwt = json_body(&response)["jwt"].as_str().unwrap().to_owned();
    decode_messaging_jwt(&jwt, MESSAGING_SECRET);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = std::panic::catch_unwind(|| decode_messaging_jwt(&jwt, MESSAGING_SECRET));
    assert!(expired.is_err(), "a token past its exp must not verify");
}

#[tokio::test]
async fn unknown_empty_expired_revoked_and_look_alike_tokens_are_401_in_the_form_and_as_bearer() {
    let f = fixture().await;
    f.register("expired-messaging-1", -1, &[external_id("crm-13")])
        .await;
    f.register(
        "revoked-messaging-1",
        3600,
        &[
            external_id("crm-13"),
            ("revoked", AttributeValue::Bool(true)),
        ],
    )
    .await;
    f.register("known-messaging-001", 3600, &[external_id("crm-13")])
        .await;
    assert_eq!(f.sign_in("known-messaging-001").await.status(), 200);
    assert_eq!(
        sign_in_with_bearer(&f.exchange, "known-messaging-001")
            .await
            .status(),
        200
    );
    for token in [
        "never-issued",
        "expired-messaging-1",
        "revoked-messaging-1",
        "known-messaging-00",
        "KNOWN-MESSAGING-001",
        "__proto__",
        &sdk_exchange::token_hash("known-messaging-001"),
    ] {
        assert_refused(&f.sign_in(token).await, token);
        assert_refused(&sign_in_with_bearer(&f.exchange, token).await, token);
    }
    assert_refused(&f.sign_in("").await, "an empty token");
}

#[tokio::test]
async fn malformed_requests_get_the_sdk_routes_answers() {
    let f = fixture().await;
    f.register("known-messaging-002", 3600, &[external_id("crm-14")])
        .await;
    assert_eq!(f.sign_in("known-messaging-002").await.status(), 200);
    for form in [
        "",
        "other=1",
        "user_token=a&user_token=b",
        "user_token[]=known-messaging-002",
    ] {
        let response = f.messaging(&[FORM, FROM_SITE], Some(form)).await;
        assert_refused(&response, form);
    }
    let neither = f.messaging(&[FROM_SITE], None).await;
    assert_refused(&neither, "no body and no Authorization");
    let both = f
        .messaging(
            &[
                FORM,
                FROM_SITE,
                ("authorization", "Bearer known-messaging-002"),
            ],
            Some("user_token=known-messaging-002"),
        )
        .await;
    assert_eq!(both.status(), 400);
    assert!(message(&both).contains("not both"));
    let json_request = f
        .messaging(
            &[("content-type", "application/json"), FROM_SITE],
            Some(r#"{"user_token":"known-messaging-002"}"#),
        )
        .await;
    assert_eq!(json_request.status(), 415);
    let big = format!("user_token={}", "a".repeat(17 * 1024));
    assert_eq!(
        f.messaging(&[FORM, FROM_SITE], Some(&big)).await.status(),
        413
    );
    let get = f
        .exchange
        .handle(request("GET", "/messaging/jwt", &[FROM_SITE], None))
        .await;
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn a_signing_key_that_is_missing_or_not_zendesks_is_refused_with_a_503() {
    let key = |kid: &str, secret: &str| messaging_key(kid, secret);
    for (stored, case) in [
        ("unset".to_owned(), "the stack's placeholder"),
        (
            key("key_1", MESSAGING_SECRET),
            "a key id that is not Zendesk's",
        ),
        (
            key(MESSAGING_KID, "abcd****************wxyz"),
            "a masked secret",
        ),
        (key(MESSAGING_KID, "short"), "a truncated secret"),
    ] {
        let f = fixture_with_keys(SHARED_SECRET, &stored, Duration::from_secs(300)).await;
        f.register("known-messaging-003", 3600, &[external_id("crm-15")])
            .await;
        assert_eq!(
            f.exchange_token("known-messaging-003").await.status(),
            200,
            "the SDK route is unaffected"
        );
        let response = f.sign_in("known-messaging-003").await;
        assert_eq!(response.status(), 503, "{case}");
        assert_eq!(
            message(&response),
            "Messaging sign-in is not available: the signing key is missing or unusable",
            "{case}"
        );
    }
    let mut messaging = messaging_config(inline_messaging_key());
    messaging.signing_key = None;
    let f = fixture_with_messaging(messaging).await;
    f.register("known-messaging-004", 3600, &[external_id("crm-16")])
        .await;
    assert_eq!(f.exchange_token("known-messaging-004").await.status(), 200);
    assert_eq!(
        f.sign_in("known-messaging-004").await.status(),
        503,
        "no key configured"
    );
    // A redacted SDK secret does not stop messaging either.
    let f = fixture_with("abc***xyz", Duration::from_secs(300)).await;
    f.register("known-messaging-005", 3600, &[external_id("crm-17")])
        .await;
    assert_eq!(f.exchange_token("known-messaging-005").await.status(), 503);
    assert_eq!(f.sign_in("known-messaging-005").await.status(), 200);
}

#[tokio::test]
async fn the_signing_key_is_read_once_per_ttl_and_the_last_good_one_kept_when_a_read_fails() {
    let f = fixture_with_keys(
        SHARED_SECRET,
        &messaging_key(MESSAGING_KID, MESSAGING_SECRET),
        Duration::from_secs(2),
    )
    .await;
    f.register("known-messaging-006", 3600, &[external_id("crm-18")])
        .await;
    assert_eq!(
        messaging_claims(&f.sign_in("known-messaging-006").await, MESSAGING_SECRET)
            .0
            .kid
            .as_deref(),
        Some(MESSAGING_KID)
    );
    let (new_kid, new_secret) = (
        "app_7e570000000000000000000b",
        "test-only-messaging-secret-rotated-0123",
    );
    put_secret(
        &f.secrets,
        f.messaging_secret_id(),
        &messaging_key(new_kid, new_secret),
    )
    .await;
    let cached = f.sign_in("known-messaging-006").await;
    assert_eq!(
        messaging_claims(&cached, MESSAGING_SECRET).0.kid.as_deref(),
        Some(MESSAGING_KID),
        "cached for the TTL"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refreshed = f.sign_in("known-messaging-006").await;
    assert_eq!(
        messaging_claims(&refreshed, new_secret).0.kid.as_deref(),
        Some(new_kid)
    );

    f.secrets
        .delete_secret()
        .secret_id(f.messaging_secret_id())
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let kept = f.sign_in("known-messaging-006").await;
    assert_eq!(kept.status(), 200, "served with the last good key");
    assert_eq!(
        messaging_claims(&kept, new_secret).0.kid.as_deref(),
        Some(new_kid)
    );
}

/// What one request of the rotation test got: when, the status, and the JWT's `kid` after its
/// signature was checked with that key's secret.
struct Signed {
    at: Instant,
    status: u16,
    kid: Option<String>,
}

/// The `kid` of an answer's JWT, verified with the secret of the key it names.
fn verified_kid(response: &Response<Body>, keys: &[(&str, &str)]) -> Option<String> {
    if response.status() != 200 {
        return None;
    }
    let jwt = json_body(response)["jwt"].as_str().unwrap().to_owned();
    let kid = jsonwebtoken::decode_header(&jwt).unwrap().kid.unwrap();
    let (_, secret) = keys
        .iter()
        .find(|(k, _)| *k == kid)
        .unwrap_or_else(|| panic!("signed with an unknown key {kid}"));
    let (header, _) = decode_messaging_jwt(&jwt, secret);
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    Some(kid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_key_rotates_while_requests_flow_without_a_failed_sign_in() {
    // GIVEN Zendesk holds two signing keys (the old one is deleted in Admin Center only once no
    // instance signs with it), and the function reads its key again every second.
    let old = (MESSAGING_KID, MESSAGING_SECRET);
    let new = (
        "app_7e570000000000000000000c",
        "test-only-messaging-secret-next-456789",
    );
    let f = Arc::new(
        fixture_with_keys(
            SHARED_SECRET,
            &messaging_key(old.0, old.1),
            Duration::from_secs(1),
        )
        .await,
    );
    f.register("rotating-messaging-1", 3600, &[external_id("crm-19")])
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (f, stop) = (f.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let response = f.sign_in("rotating-messaging-1").await;
                seen.push(Signed {
                    at: Instant::now(),
                    status: response.status().as_u16(),
                    kid: verified_kid(&response, &[old, new]),
                });
            }
            seen
        }));
    }
    // WHEN the secret is changed to the new key while sign-ins flow.
    tokio::time::sleep(Duration::from_millis(700)).await;
    put_secret(
        &f.secrets,
        f.messaging_secret_id(),
        &messaging_key(new.0, new.1),
    )
    .await;
    let rotated = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for worker in workers {
        seen.extend(worker.await.unwrap());
    }
    // THEN every sign-in succeeded, each signed with one of the two keys, the old one first
    // and only the new one once the TTL (and a second of slack) has passed.
    assert!(
        seen.len() > 20,
        "{} requests in {:?}",
        seen.len(),
        started.elapsed()
    );
    for signed in &seen {
        assert_eq!(signed.status, 200);
    }
    let kids: BTreeSet<&str> = seen.iter().filter_map(|s| s.kid.as_deref()).collect();
    assert_eq!(kids, BTreeSet::from([old.0, new.0]));
    for signed in seen
        .iter()
        .filter(|s| s.at > rotated + Duration::from_secs(2))
    {
        assert_eq!(signed.kid.as_deref(), Some(new.0));
    }

    // AND a value that is refused (a masked copy pasted by mistake) never signs anything: the
    // answers are the new key's tokens or 503s, never a token of another key.
    put_secret(
        &f.secrets,
        f.messaging_secret_id(),
        &messaging_key("app_7e57000000000000000000dd", "abcd****************wxyz"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..5 {
        let response = f.sign_in("rotating-messaging-1").await;
        assert!(
            matches!(response.status().as_u16(), 200 | 503),
            "{}",
            response.status()
        );
        if let Some(kid) = verified_kid(&response, &[new]) {
            assert_eq!(kid, new.0);
        }
    }
}

#[tokio::test]
async fn tokens_of_the_other_flows_are_refused_as_the_bearer_and_messaging_jwts_elsewhere() {
    // GIVEN the identity provider's own token signs in.
    let idp = idp_fixture().await;
    assert_eq!(
        sign_in_with_bearer(&idp.exchange, &idp_token(ISSUER, AUDIENCE))
            .await
            .status(),
        200
    );
    let f = fixture().await;
    f.register("confused-messaging-1", 3600, &[external_id("crm-20")])
        .await;
    assert_eq!(f.sign_in("confused-messaging-1").await.status(), 200);

    let session_key = SessionKey::new(b"test-only-session-key-0123456789abcdef").unwrap();
    let session = Session {
        installation: ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap(),
        app_guid: "00000000-0000-4000-8000-000000000001".into(),
        user: Some("1900000000001".into()),
        iat: devkeys::now() as u64,
        exp: (devkeys::now() + 300) as u64,
    }
    .sign(&session_key);
    let help_center = keys()
        .primary
        .sign(&devkeys::help_center_claims(31_337, 300));
    let help_center_by_idp_key = keys()
        .rotated
        .sign(&devkeys::help_center_claims(31_337, 300));
    let zaf = keys()
        .primary
        .sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300));
    let zaf_by_idp_key = keys()
        .rotated
        .sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300));
    let sdk_jwt = json_body(&f.exchange_token("confused-messaging-1").await)["jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    let messaging_jwt = json_body(&f.sign_in("confused-messaging-1").await)["jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        ("a sidebar session", session),
        ("a help center JWT", help_center),
        (
            "a help center JWT signed with the provider's key",
            help_center_by_idp_key,
        ),
        ("a ZAF token", zaf),
        ("a ZAF token signed with the provider's key", zaf_by_idp_key),
        ("an SDK JWT", sdk_jwt.clone()),
        ("a messaging JWT", messaging_jwt.clone()),
    ];
    for (case, token) in &cases {
        assert_refused(&sign_in_with_bearer(&idp.exchange, token).await, case);
        assert_refused(&sign_in_with_bearer(&f.exchange, token).await, case);
    }
    // A messaging JWT is no user token of the SDK route, nor a help center token.
    assert_refused(
        &exchange_token(&idp.exchange, &messaging_jwt).await,
        "messaging JWT to /sdk/jwt",
    );
    let todos = integration_tests::todos::fixture().await;
    let response = todos
        .as_user(&messaging_jwt, "GET", "/todo_items", None)
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn cors_allows_only_the_customers_site_and_never_credentials() {
    let f = fixture().await;
    f.register("cors-messaging-001", 3600, &[external_id("crm-21")])
        .await;
    let allowed = f.sign_in("cors-messaging-001").await;
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(SITE_ORIGIN)
    );
    assert!(header(&allowed, "access-control-allow-credentials").is_none());
    let preflight = f
        .exchange
        .handle(request(
            "OPTIONS",
            "/messaging/jwt",
            &[
                FROM_SITE,
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
            ],
            None,
        ))
        .await;
    assert_eq!(preflight.status(), 200, "a preflight needs no token");
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some(SITE_ORIGIN)
    );
    assert_eq!(
        header(&preflight, "access-control-allow-methods"),
        Some("POST")
    );
    assert!(header(&preflight, "access-control-allow-credentials").is_none());
    for origin in [
        "https://evil.example",
        "https://www.example.com.evil.example",
        "https://WWW.example.com",
        "http://www.example.com",
        "https://www.example.com:8443",
        "null",
    ] {
        for response in [
            f.messaging(
                &[FORM, ("origin", origin)],
                Some("user_token=cors-messaging-001"),
            )
            .await,
            f.exchange
                .handle(request(
                    "OPTIONS",
                    "/messaging/jwt",
                    &[
                        ("origin", origin),
                        ("access-control-request-method", "POST"),
                    ],
                    None,
                ))
                .await,
        ] {
            assert_eq!(response.status(), 403, "{origin}");
            assert_eq!(
                message(&response),
                "Requests from this origin are not allowed"
            );
            assert!(
                header(&response, "access-control-allow-origin").is_none(),
                "{origin}"
            );
        }
    }
}
