//! The JWKS cache against a real local HTTP server: single flight, size cap, timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::jwks_server::{JwksMode, JwksServer, jwks_settings};
use integration_tests::tokens::keys;
use zendesk_jwt::devkeys;
use zendesk_jwt::{AuthError, JwksCache};

#[tokio::test]
async fn concurrent_lookups_of_a_cold_cache_share_one_fetch() {
    let server = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    server.set_mode(JwksMode::Slow(Duration::from_millis(200)));
    let cache = Arc::new(JwksCache::new(
        server.url(),
        jwks_settings(Duration::ZERO, Duration::from_secs(2)),
        zendesk_jwt::clock::Clock::system(),
    ));
    let lookups = (0..20).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.key("hc-1").await.is_ok() })
    });
    let results = futures::future::join_all(lookups).await;
    assert!(results.into_iter().all(|ok| ok.unwrap()));
    assert_eq!(
        server.hits(),
        1,
        "one fetch in flight; the others waited for it"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_is_one_fetch_per_cooldown() {
    let server = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    let cache = Arc::new(JwksCache::new(
        server.url(),
        jwks_settings(Duration::from_secs(60), Duration::from_secs(2)),
        zendesk_jwt::clock::Clock::system(),
    ));
    cache.key("hc-1").await.unwrap();
    let lookups = (0..50).map(|i| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.key(&format!("unknown-{i}")).await.is_err() })
    });
    assert!(
        futures::future::join_all(lookups)
            .await
            .into_iter()
            .all(|refused| refused.unwrap())
    );
    assert_eq!(server.hits(), 2, "the warm-up fetch and one refresh");
}

#[tokio::test]
async fn an_oversized_document_is_refused() {
    let keys_json = devkeys::jwks(&[&keys().primary]);
    let padded = keys_json.replacen(
        '{',
        &format!("{{\"padding\":\"{}\",", "x".repeat(70 * 1024)),
        1,
    );
    let server = JwksServer::start(padded).await;
    let cache = JwksCache::new(
        server.url(),
        jwks_settings(Duration::ZERO, Duration::from_secs(2)),
        zendesk_jwt::clock::Clock::system(),
    );
    let error = cache.key("hc-1").await.unwrap_err();
    assert!(matches!(error, AuthError::KeysUnavailable(_)), "{error}");
    assert!(error.to_string().contains("larger"), "{error}");
}

#[tokio::test]
async fn a_slow_jwks_endpoint_fails_fast() {
    let server = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    server.set_mode(JwksMode::Slow(Duration::from_secs(10)));
    let cache = JwksCache::new(
        server.url(),
        jwks_settings(Duration::ZERO, Duration::from_millis(300)),
        zendesk_jwt::clock::Clock::system(),
    );
    let started = Instant::now();
    let error = cache.key("hc-1").await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_jwks_endpoint_is_unavailable_not_unknown() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let cache = JwksCache::new(
        "http://127.0.0.1:9/keys.json",
        jwks_settings(Duration::ZERO, Duration::from_secs(1)),
        zendesk_jwt::clock::Clock::system(),
    );
    assert!(cache.key("hc-1").await.unwrap_err().is_unavailable());
}
