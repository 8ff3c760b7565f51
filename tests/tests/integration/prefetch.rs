//! Prefetch at INIT (`runtime::Function::prefetch`, on unless `PREFETCH_AT_INIT=false`; the
//! sidebar's): what its first request needs is fetched while Lambda initialises the function, so
//! the first request finds it, and a service that hangs holds INIT for at most
//! `PREFETCH_TIMEOUT`.

use std::time::Duration;

use lambda_http::{Body, Response};

use integration_tests::faults::{HUNG_BOUND, assert_503_within};
use integration_tests::services::{
    aws, aws_with_secrets_manager_at, create_secret, put_secret, secrets_manager,
};
use integration_tests::sidebar::{PAGE, config, post, token_form};
use integration_tests::tokens::keys;
use sidebar::Sidebar;
use zendesk_jwt::devkeys::{DevKey, issued_at, zaf_claims};
use zendesk_jwt::lambda::runtime::{PREFETCH_TIMEOUT, prefetch_at_init};
use zendesk_jwt::lambda::secrets::SecretLocation;

/// The app's start page, POSTed with a token signed by `key`.
async fn start_page(sidebar: &Sidebar, key: &DevKey) -> Response<Body> {
    let token = key.sign(&issued_at(
        zaf_claims(
            integration_tests::SUBDOMAIN,
            integration_tests::INSTALLATION_ID,
            300,
        ),
        zendesk_jwt::clock::Clock::system().now_seconds(),
        300,
    ));
    sidebar.handle(post(PAGE, Some(&token_form(&token)))).await
}

async fn open(sidebar: &Sidebar, key: &DevKey) -> u16 {
    start_page(sidebar, key).await.status().as_u16()
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
async fn a_secrets_manager_that_hangs_holds_init_for_at_most_the_prefetch_timeout() {
    // GIVEN a sidebar reading its key from a Secrets Manager endpoint that accepts connections
    // and never answers
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.push(stream);
        }
    });
    let config = config(SecretLocation::SecretsManager("sidebar-key".into()));
    let sidebar = Sidebar::new(&config, &aws_with_secrets_manager_at(&endpoint)).unwrap();
    // WHEN it prefetches at INIT
    let started = std::time::Instant::now();
    prefetch_at_init(&sidebar).await;
    // THEN INIT goes on after PREFETCH_TIMEOUT (not the SDK's operation timeout)
    let waited = started.elapsed();
    assert!(
        waited >= PREFETCH_TIMEOUT && waited < PREFETCH_TIMEOUT + Duration::from_secs(2),
        "INIT waited {waited:?}"
    );
    // and the first request, the endpoint still hanging, answers 503 within the bound of one
    // AWS operation
    let keys = keys();
    let first = start_page(&sidebar, &keys.primary);
    assert_503_within(HUNG_BOUND, "first request", first).await;
    held.abort();
}
