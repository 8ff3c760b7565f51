//! What a review of the code found, each proven against the real services: secret refreshes that
//! never queue, JWKS keys that age out, keys meant for something else, revocation and
//! `email_verified` that fail closed, Zendesk's SDK contract, the sidebar's page parameters, and
//! the local server's hosts.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::dynamodb_proxy::DynamoDbProxy;
use integration_tests::events::text;
use integration_tests::jwks_server::{JwksMode, JwksServer};
use integration_tests::local_server::{client, serve};
use integration_tests::processes::LocalProcess;
use integration_tests::sdk_exchange::{
    SHARED_SECRET, exchange_token, idp_claims, idp_fixture, register_user_token, table_config,
};
use integration_tests::services::{
    aws_with_secrets_manager_at, create_secret, create_table, put_secret,
};
use integration_tests::sidebar::{post, sidebar_from_secrets_manager, token_form, valid_token};
use integration_tests::todos::token_for;
use integration_tests::tokens::{keys, with_claim};
use sdk_exchange::SdkExchange;
use serde_json::json;
use zendesk_jwt::devkeys::{self, help_center_claims};
use zendesk_jwt::lambda::secrets::SecretLocation;
use zendesk_jwt::{HelpCenterVerifier, JwksCache, JwksSettings, JwksVerifier, TokenRules};

/// GIVEN an SDK exchange whose shared secret lives in `secrets_at` (a moto of the test's own, or
/// a proxy in front of one), cached for 1 s and retried 30 s after a failure, with one known
/// user token; THEN its first exchange works.
async fn exchange_reading_its_secret_at(secrets_at: &str) -> (SdkExchange, String) {
    let aws = aws_with_secrets_manager_at(secrets_at);
    let secrets = aws.secrets_manager().unwrap();
    let secret_id = create_secret(&secrets, SHARED_SECRET).await;
    let dynamodb = aws.dynamodb().unwrap();
    let table = create_table(&dynamodb, "token_hash").await;
    register_user_token(&dynamodb, &table, "hardening-token-1", 3600, &[]).await;
    // A 1 s TTL and the 30 s retry interval (`secret_times`).
    let config = table_config(
        SecretLocation::SecretsManager(secret_id.clone()),
        Duration::from_secs(1),
        &table,
    );
    let exchange = SdkExchange::new(&config, &aws).unwrap();
    assert_eq!(
        exchange_token(&exchange, "hardening-token-1")
            .await
            .status(),
        200
    );
    (exchange, secret_id)
}

/// Run `n` exchanges at once; answer each one's status and how long it took.
async fn exchanges_at_once(exchange: &SdkExchange, n: usize) -> Vec<(u16, Duration)> {
    futures::future::join_all((0..n).map(|_| async {
        let started = Instant::now();
        let status = exchange_token(exchange, "hardening-token-1")
            .await
            .status()
            .as_u16();
        (status, started.elapsed())
    }))
    .await
}

#[tokio::test]
async fn while_secrets_manager_hangs_one_request_refreshes_and_the_others_are_served_at_once() {
    let mut moto = tokio::task::spawn_blocking(|| {
        let mut moto = LocalProcess::moto_not_started();
        moto.restart();
        moto
    })
    .await
    .unwrap();
    let (exchange, _) = exchange_reading_its_secret_at(&moto.endpoint()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // WHEN Secrets Manager hangs once the cached secret is due for a refresh
    moto.pause();
    let answers = exchanges_at_once(&exchange, 8).await;
    // THEN every exchange is answered with the last good secret, and only the one that tried
    // to refresh waited for Secrets Manager (its operation timeout)
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let waited = answers
        .iter()
        .filter(|(_, took)| *took > Duration::from_secs(2))
        .count();
    assert!(
        waited <= 1,
        "requests queued behind the refresh: {answers:?}"
    );
    // AND within the retry interval nobody waits for it again
    let again = exchanges_at_once(&exchange, 8).await;
    assert!(
        again
            .iter()
            .all(|(s, took)| *s == 200 && *took < Duration::from_secs(2)),
        "{again:?}"
    );
    moto.resume();
    moto.kill();
}

#[tokio::test]
async fn a_stored_value_that_is_refused_is_not_fetched_again_for_every_request() {
    let moto = tokio::task::spawn_blocking(|| {
        let mut moto = LocalProcess::moto_not_started();
        moto.restart();
        moto
    })
    .await
    .unwrap();
    // GIVEN the exchange reads its secret through a proxy that counts the calls
    let proxy = DynamoDbProxy::start(&moto.endpoint()).await;
    let (exchange, secret_id) = exchange_reading_its_secret_at(&proxy.endpoint()).await;
    let fetches = || proxy.requests().get("GetSecretValue").copied().unwrap_or(0);
    assert_eq!(fetches(), 1);
    // WHEN the secret is replaced by the placeholder the stack creates, and the TTL passes
    let secrets = aws_with_secrets_manager_at(&moto.endpoint())
        .secrets_manager()
        .unwrap();
    put_secret(&secrets, &secret_id, "unset").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // THEN twenty exchanges are served with the last good secret, for one more fetch
    for _ in 0..20 {
        assert_eq!(
            exchange_token(&exchange, "hardening-token-1")
                .await
                .status(),
            200
        );
    }
    assert_eq!(fetches(), 2, "one refresh attempt per retry interval");
}

fn aging_verifier(jwks: &JwksServer, max_age: Duration) -> HelpCenterVerifier {
    let settings = JwksSettings {
        cooldown: Duration::ZERO,
        max_age,
        ..JwksSettings::default()
    };
    let cache = std::sync::Arc::new(JwksCache::new(
        jwks.url(),
        settings,
        zendesk_jwt::clock::Clock::system(),
    ));
    let rules = TokenRules {
        issuer: None,
        audience: None,
        leeway: Duration::from_secs(30),
    };
    HelpCenterVerifier::new(JwksVerifier::new(cache, &rules))
}

#[tokio::test]
async fn a_key_withdrawn_from_the_jwks_stops_being_trusted_after_the_maximum_age() {
    // GIVEN a JWKS with two keys, and a verifier that trusts fetched keys for one second
    let jwks = JwksServer::start(devkeys::jwks(&[&keys().primary, &keys().rotated])).await;
    let verifier = aging_verifier(&jwks, Duration::from_secs(1));
    let old = keys().primary.sign(&help_center_claims(1, 300));
    let new = keys().rotated.sign(&help_center_claims(1, 300));
    assert!(verifier.verify(&old).await.is_ok());
    assert_eq!(jwks.hits(), 1);
    // WHEN the first key is withdrawn
    jwks.set_document(devkeys::jwks(&[&keys().rotated]));
    assert!(
        verifier.verify(&old).await.is_ok(),
        "until the keys are older than the maximum age, the cache is used"
    );
    assert_eq!(jwks.hits(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // THEN once they are older, the next request refreshes them and the withdrawn key is refused
    assert!(verifier.verify(&old).await.is_err());
    assert_eq!(jwks.hits(), 2);
    assert!(verifier.verify(&new).await.is_ok());
    // AND when a refresh fails, the last good keys keep working
    jwks.set_mode(JwksMode::Down);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(verifier.verify(&new).await.is_ok());
    assert_eq!(jwks.hits(), 3);
}

#[tokio::test]
async fn a_jwks_key_meant_for_something_else_never_verifies_a_token() {
    let token = keys().rotated.sign(&help_center_claims(1, 300));
    for (what, field) in [
        ("use", json!({"use": "enc"})),
        ("key_ops", json!({"key_ops": ["encrypt"]})),
        ("alg", json!({"alg": "PS256"})),
    ] {
        // GIVEN the help center key as Zendesk publishes it: a token signed with it is accepted
        let jwks = JwksServer::start(devkeys::jwks(&[&keys().rotated])).await;
        assert!(
            aging_verifier(&jwks, Duration::from_secs(600))
                .verify(&token)
                .await
                .is_ok()
        );
        // WHEN the same key is published for encryption only, or for another algorithm
        let mut key = serde_json::to_value(keys().rotated.jwk()).unwrap();
        key.as_object_mut()
            .unwrap()
            .extend(field.as_object().unwrap().clone());
        jwks.set_document(json!({ "keys": [key] }).to_string());
        // THEN a fresh verifier refuses the token
        let verifier = aging_verifier(&jwks, Duration::from_secs(600));
        assert!(verifier.verify(&token).await.is_err(), "{what}");
    }
}

#[tokio::test]
async fn revocation_fails_closed_whatever_the_attribute_holds() {
    let f = integration_tests::sdk_exchange::fixture().await;
    f.register(
        "revoked-false",
        3600,
        &[("revoked", AttributeValue::Bool(false))],
    )
    .await;
    assert_eq!(f.exchange_token("revoked-false").await.status(), 200);
    for (n, revoked) in [
        AttributeValue::Bool(true),
        AttributeValue::S("true".into()),
        AttributeValue::S("false".into()),
        AttributeValue::N("1".into()),
        AttributeValue::N("0".into()),
    ]
    .into_iter()
    .enumerate()
    {
        let token = format!("revoked-{n}");
        f.register(&token, 3600, &[("revoked", revoked.clone())])
            .await;
        let response = f.exchange_token(&token).await;
        assert_eq!(response.status(), 401, "{revoked:?}");
    }
}

#[tokio::test]
async fn an_identity_provider_token_with_an_unverified_email_is_refused() {
    let f = idp_fixture().await;
    let exchange = |claims: serde_json::Value| {
        let token = keys().rotated.sign(&claims);
        let f = &f;
        async move { exchange_token(&f.exchange, &token).await.status() }
    };
    assert_eq!(exchange(idp_claims()).await, 200, "no claim: trusted");
    for verified in [json!(true), json!("true")] {
        let claims = with_claim(&idp_claims(), "email_verified", Some(verified.clone()));
        assert_eq!(exchange(claims).await, 200, "{verified}");
    }
    for unverified in [json!(false), json!("false"), json!(0), json!(null)] {
        let claims = with_claim(&idp_claims(), "email_verified", Some(unverified.clone()));
        assert_eq!(exchange(claims).await, 401, "{unverified}");
    }
}

#[tokio::test]
async fn a_page_address_with_an_empty_origin_or_app_guid_is_a_400() {
    let sidebar = sidebar_from_secrets_manager().await;
    let form = token_form(&valid_token());
    let ok = sidebar
        .handle(post(
            "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc",
            Some(&form),
        ))
        .await;
    assert_eq!(ok.status(), 200);
    for page in [
        "/sidebar?origin=&app_guid=abc",
        "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=",
        "/sidebar?origin=&app_guid=",
    ] {
        let response = sidebar.handle(post(page, Some(&form))).await;
        assert_eq!(response.status(), 400, "{page}");
        assert!(text(&response).contains("origin and app_guid"), "{page}");
    }
}

#[tokio::test]
async fn the_local_server_answers_only_requests_to_a_loopback_host() {
    let server = serve().await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let bearer = format!("Bearer {}", token_for(4300));
    let get = |host: String| {
        client()
            .get(format!("{}/todo_items", server.base))
            .header("authorization", &bearer)
            .header("host", host)
            .send()
    };
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(get(host.clone()).await.unwrap().status(), 200, "{host}");
    }
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        "attacker.example".to_owned(),
    ] {
        let response = get(host.clone()).await.unwrap();
        assert_eq!(response.status(), 403, "{host}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("localhost"),
            "{host}"
        );
    }
}
