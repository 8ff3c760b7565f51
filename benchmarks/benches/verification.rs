//! Verification and signing, each beside the raw operation of the same crypto backend
//! (aws-lc-rs), so the overhead of our code shows as a ratio:
//! `cargo bench -p benchmarks --bench verification`.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::{hmac, signature};
use criterion::{Criterion, criterion_group, criterion_main};
use integration_tests::jwks_server::JwksServer;
use integration_tests::tokens::{base64url_decode, public_key_der};
use sdk_exchange::{MessagingClaims, MessagingTokenIssuer, SdkTokenIssuer, SdkUser};
use serde_json::{Map, Value};
use zendesk_jwt::clock::Clock;
use zendesk_jwt::devkeys::{self, DevKey};
use zendesk_jwt::{
    HelpCenterVerifier, JwksCache, JwksSettings, JwksVerifier, TokenRules, ZafVerifier,
};

fn benches(c: &mut Criterion) {
    let key = DevKey::generate("bench-1");
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Raw RSA-2048 PKCS#1 v1.5 SHA-256 verify of a JWT's signature, key parsed once.
    let zaf_token = key.sign(&devkeys::zaf_claims("acme", 1, 3600));
    let (signing_input, signature_b64) = zaf_token.rsplit_once('.').unwrap();
    let signature_bytes = base64url_decode(signature_b64);
    let public_der = public_key_der(&key);
    let raw_key =
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_der);
    c.bench_function("raw RSA-2048 SHA-256 verify (aws-lc-rs)", |b| {
        b.iter(|| {
            raw_key
                .verify(signing_input.as_bytes(), &signature_bytes)
                .unwrap()
        })
    });

    // ZAF token: the sidebar's verification, as the handler does it.
    let verifier = ZafVerifier::new(
        zendesk_jwt::ZafInstallation::new("acme", 1).unwrap(),
        Duration::from_secs(30),
        Clock::system(),
    );
    let decoding = zendesk_jwt::DecodingKey::from_rsa_pem(key.public_pem().as_bytes()).unwrap();
    c.bench_function("verify ZAF token (ZafVerifier)", |b| {
        b.iter(|| verifier.verify(&zaf_token, &decoding).unwrap())
    });

    // Help center token with a warm JWKS cache (the JWKS is served over local HTTP once).
    let jwks = rt.block_on(JwksServer::start(devkeys::jwks(&[&key])));
    let cache = Arc::new(JwksCache::new(
        jwks.url(),
        JwksSettings::default(),
        Clock::system(),
    ));
    let rules = TokenRules {
        issuer: None,
        audience: None,
        leeway: Duration::from_secs(30),
    };
    let help_center = HelpCenterVerifier::new(JwksVerifier::new(cache, &rules));
    let hc_token = key.sign(&devkeys::help_center_claims(42, 3600));
    rt.block_on(help_center.verify(&hc_token)).unwrap();
    c.bench_function(
        "verify help center token, warm JWKS (HelpCenterVerifier)",
        |b| {
            b.to_async(&rt)
                .iter(|| async { help_center.verify(&hc_token).await.unwrap() })
        },
    );
    assert_eq!(jwks.hits(), 1, "the benchmark ran on the warm cache");

    // Raw HMAC-SHA256 over an SDK JWT's signing input, key prepared once.
    let secret = "bench-only-shared-secret-0123456789abcdef";
    let issuer = SdkTokenIssuer::from_secret(&secret.to_owned().into()).unwrap();
    let mut attributes = Map::new();
    attributes.insert("external_id".into(), Value::from("crm-42"));
    let user = SdkUser {
        name: "Ann Example".into(),
        email: "ann@example.com".into(),
        email_verified: false,
        attributes,
    };
    let sdk_jwt = issuer.sign(&user, Clock::system().now_seconds()).unwrap();
    let (sdk_input, _) = sdk_jwt.rsplit_once('.').unwrap();
    let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    c.bench_function("raw HMAC-SHA256 (aws-lc-rs)", |b| {
        b.iter(|| hmac::sign(&hmac_key, sdk_input.as_bytes()))
    });
    c.bench_function("sign SDK JWT (SdkTokenIssuer)", |b| {
        b.iter(|| issuer.sign(&user, Clock::system().now_seconds()).unwrap())
    });

    // A messaging JWT for the same user (its claims made from the user, then signed), beside a
    // raw HMAC over its own signing input.
    let messaging_key = serde_json::json!({
        "kid": "app_be4c0000000000000000000a",
        "secret": "bench-only-messaging-secret-0123456789",
    })
    .to_string();
    let messaging = MessagingTokenIssuer::from_secret(&messaging_key.into()).unwrap();
    let lifetime = sdk_exchange::messaging::DEFAULT_TOKEN_LIFETIME;
    let claims = |now| MessagingClaims::for_user(&user, now, lifetime).unwrap();
    let messaging_jwt = messaging.sign(&claims(1_800_000_000)).unwrap();
    let (messaging_input, _) = messaging_jwt.rsplit_once('.').unwrap();
    let messaging_hmac =
        hmac::Key::new(hmac::HMAC_SHA256, b"bench-only-messaging-secret-0123456789");
    c.bench_function("raw HMAC-SHA256, messaging JWT input (aws-lc-rs)", |b| {
        b.iter(|| hmac::sign(&messaging_hmac, messaging_input.as_bytes()))
    });
    c.bench_function("sign messaging JWT (MessagingTokenIssuer)", |b| {
        b.iter(|| {
            let now = zendesk_jwt::clock::now_seconds();
            messaging.sign(&claims(now)).unwrap()
        })
    });
}

criterion_group! {
    name = verification;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(verification);
