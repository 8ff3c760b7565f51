//! Prefetch at INIT (`runtime::Function::prefetch`, on unless `PREFETCH_AT_INIT=false`): what a
//! function's first request needs is fetched while Lambda initialises the function, so the first
//! request finds it. Each test shows what the first request then does not fetch, and what an
//! instance that did not prefetch does.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use integration_tests::events::json_body;
use integration_tests::jwks_server::JwksMode;
use integration_tests::sdk_exchange::{
    MESSAGING_KID, MESSAGING_SECRET, SHARED_SECRET, decode_messaging_jwt, decode_sdk_jwt,
    fixture_with, messaging_key,
};
use integration_tests::services::{aws, create_secret, put_secret, secrets_manager};
use integration_tests::sidebar::{PAGE, config, post, token_form};
use integration_tests::todos::fixture_at;
use integration_tests::tokens::keys;
use sidebar::Sidebar;
use zendesk_jwt::clock::MovableClock;
use zendesk_jwt::devkeys::{DevKey, issued_at, zaf_claims};
use zendesk_jwt::lambda::metrics::{Function, Metrics};
use zendesk_jwt::lambda::runtime::{PREFETCH_TIMEOUT, prefetch_at_init};
use zendesk_jwt::lambda::secrets::SecretLocation;

async fn open(sidebar: &Sidebar, key: &DevKey) -> u16 {
    let token = key.sign(&issued_at(
        zaf_claims(
            integration_tests::SUBDOMAIN,
            integration_tests::INSTALLATION_ID,
            300,
        ),
        zendesk_jwt::clock::Clock::system().now_seconds(),
        300,
    ));
    sidebar
        .handle(post(PAGE, Some(&token_form(&token))))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_sidebar_reads_the_apps_key_at_init_and_its_first_request_uses_it() {
    // GIVEN two sidebar instances reading the app's public key from Secrets Manager; one
    // prefetches at INIT
    let secrets = secrets_manager();
    let keys = keys();
    let id = create_secret(&secrets, keys.primary.public_pem()).await;
    let config = config(SecretLocation::SecretsManager(id.clone()));
    let prefetched = Sidebar::new(&config, &aws()).unwrap();
    let lazy = Sidebar::new(&config, &aws()).unwrap();
    prefetch_at_init(&prefetched).await;
    // WHEN the key is rotated before either has served a request
    put_secret(&secrets, &id, keys.rotated.public_pem()).await;
    // THEN the prefetched instance verifies its first request with the key read at INIT (its
    // first request read nothing), and the other one reads the key at its first request
    assert_eq!(open(&prefetched, &keys.primary).await, 200);
    assert_eq!(open(&prefetched, &keys.rotated).await, 401);
    assert_eq!(open(&lazy, &keys.rotated).await, 200);
    assert_eq!(open(&lazy, &keys.primary).await, 401);
}

#[tokio::test]
async fn the_to_do_api_fetches_the_jwks_at_init_and_its_first_request_fetches_nothing() {
    // GIVEN the to-do API over a JWKS server that counts its requests
    let clock = MovableClock::new();
    let f = fixture_at(clock.clock(), 500, Metrics::disabled(Function::Todos)).await;
    assert_eq!(
        f.jwks.hits(),
        0,
        "nothing is fetched when the function is built"
    );
    // WHEN it prefetches at INIT
    prefetch_at_init(f.todos.as_ref()).await;
    // THEN the JWKS was fetched once, and the first requests are answered without a fetch
    assert_eq!(f.jwks.hits(), 1);
    assert_eq!(f.list(42).await.status(), 200);
    assert_eq!(f.list(43).await.status(), 200);
    assert_eq!(f.jwks.hits(), 1);
    // while an instance that did not prefetch fetches at its first request
    let lazy = f.instance(&aws(), Metrics::disabled(Function::Todos));
    let auth = format!("Bearer {}", f.token(42));
    let first = lazy
        .handle(integration_tests::events::request(
            "GET",
            "/todo_items",
            &[("authorization", &auth)],
            None,
        ))
        .await;
    assert_eq!(first.status(), 200);
    assert_eq!(f.jwks.hits(), 2);
}

#[tokio::test]
async fn a_jwks_that_fails_at_init_is_fetched_again_after_the_cold_retry() {
    // GIVEN the to-do API whose JWKS host is down during INIT
    let clock = MovableClock::new();
    let f = fixture_at(clock.clock(), 500, Metrics::disabled(Function::Todos)).await;
    f.jwks.set_mode(JwksMode::Down);
    prefetch_at_init(f.todos.as_ref()).await;
    assert_eq!(f.jwks.hits(), 1, "the prefetch tried once");
    // WHEN the host is back
    f.jwks.set_mode(JwksMode::Up);
    // THEN a request inside the cold retry is answered 503, as after any failed first fetch
    // (the JWKS host is not asked again by every request), and one after it is served
    let early = f.list(42).await;
    assert_eq!(early.status(), 503);
    assert_eq!(f.jwks.hits(), 1);
    clock.advance(Duration::from_secs(5));
    assert_eq!(f.list(42).await.status(), 200);
    assert_eq!(f.jwks.hits(), 2);
}

#[tokio::test]
async fn a_jwks_host_that_hangs_holds_init_for_at_most_the_prefetch_timeout() {
    // GIVEN the to-do API whose JWKS host accepts and never answers in time
    let clock = MovableClock::new();
    let f = fixture_at(clock.clock(), 500, Metrics::disabled(Function::Todos)).await;
    f.jwks.set_mode(JwksMode::Slow(Duration::from_secs(30)));
    // WHEN it prefetches at INIT
    let started = std::time::Instant::now();
    prefetch_at_init(f.todos.as_ref()).await;
    // THEN INIT goes on after PREFETCH_TIMEOUT (not the JWKS timeout, nor the host's delay)
    let waited = started.elapsed();
    assert!(
        waited >= PREFETCH_TIMEOUT && waited < PREFETCH_TIMEOUT + Duration::from_secs(2),
        "INIT waited {waited:?}"
    );
    // and the first request, the host answering again, fetches the keys itself
    f.jwks.set_mode(JwksMode::Up);
    assert_eq!(f.list(42).await.status(), 200);
}

#[tokio::test]
async fn the_sdk_exchange_reads_both_signing_secrets_at_init_and_its_first_requests_use_them() {
    // GIVEN the exchange with its shared secret and messaging key in Secrets Manager
    let f = fixture_with(SHARED_SECRET, Duration::from_secs(300)).await;
    let external_id = ("external_id", AttributeValue::S("crm-42".into()));
    f.register("ann-token", 3600, &[external_id]).await;
    prefetch_at_init(f.exchange.as_ref()).await;
    // WHEN both are rotated before the first request
    let next_secret = "test-only-shared-secret-rotated-0123456789";
    let next_messaging = "test-only-messaging-secret-rotated-0123456789";
    put_secret(&f.secrets, f.secret_id(), next_secret).await;
    put_secret(
        &f.secrets,
        f.messaging_secret_id(),
        &messaging_key(MESSAGING_KID, next_messaging),
    )
    .await;
    // THEN the first exchange and the first sign-in are signed with the secrets read at INIT
    let signed = f.exchange_token("ann-token").await;
    assert_eq!(signed.status(), 200);
    decode_sdk_jwt(json_body(&signed)["jwt"].as_str().unwrap(), SHARED_SECRET);
    let signed = f.sign_in("ann-token").await;
    assert_eq!(signed.status(), 200);
    decode_messaging_jwt(
        json_body(&signed)["jwt"].as_str().unwrap(),
        MESSAGING_SECRET,
    );
}
