//! Attacks on every place a token is checked: the sidebar, the to-do API and the sdk-exchange
//! function's identity-provider resolver on both its routes. Each forged, confused or malformed token gets the endpoint's
//! ordinary refusal (a 4xx with a clear body), quickly, and never a 5xx or the protected answer.

use integration_tests::endpoints::{Endpoint, assert_all_refused};
use integration_tests::jwks_server::JwksServer;
use integration_tests::sdk_exchange::{AUDIENCE, ISSUER};
use integration_tests::tokens::{
    base64url, keys, public_key_forms, raw_token, rogue_curve_key, sign_raw, sign_with, with_claim,
};
use integration_tests::{INSTALLATION_ID, SUBDOMAIN};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use zendesk_jwt::devkeys::{self, DevKey};

#[tokio::test]
async fn alg_none_in_any_spelling_is_refused_everywhere() {
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let real_signature = endpoint
            .valid_token()
            .rsplit('.')
            .next()
            .unwrap()
            .to_owned();
        let mut cases = Vec::new();
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = endpoint.header_with_alg(alg);
            for (how, signature) in [("no signature", ""), ("a real signature", &real_signature)] {
                cases.push((
                    format!("alg {alg} with {how}"),
                    raw_token(&header, &endpoint.claims(), signature),
                ));
            }
            let unsigned = raw_token(&header, &endpoint.claims(), "");
            cases.push((
                format!("alg {alg} without the last dot"),
                unsigned.trim_end_matches('.').to_owned(),
            ));
        }
        endpoint.assert_all_refused(&cases).await;
    }
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_in_any_form_is_refused_everywhere() {
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let mut cases = Vec::new();
        for (form, secret) in public_key_forms(endpoint.key()) {
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                cases.push((
                    format!("{alg:?} keyed with the public key's {form}"),
                    sign_with(
                        alg,
                        &EncodingKey::from_secret(&secret),
                        Some(&endpoint.key().kid),
                        &endpoint.claims(),
                    ),
                ));
            }
        }
        endpoint.assert_all_refused(&cases).await;
    }
}

#[tokio::test]
async fn other_rsa_pss_and_curve_algorithms_are_refused_with_the_right_or_a_rogue_key() {
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let kid = Some(endpoint.key().kid.as_str());
        let mut cases = Vec::new();
        for alg in [
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            for (whose, key) in [
                ("the right key", endpoint.key()),
                ("a rogue key", &keys().rogue),
            ] {
                cases.push((
                    format!("{alg:?} with {whose}"),
                    sign_with(alg, key.encoding_key(), kid, &endpoint.claims()),
                ));
            }
        }
        cases.push((
            "RS256 with a rogue key and the trusted kid".into(),
            sign_with(
                Algorithm::RS256,
                keys().rogue.encoding_key(),
                kid,
                &endpoint.claims(),
            ),
        ));
        for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            cases.push((
                format!("{alg:?} with a rogue key"),
                sign_with(alg, &rogue_curve_key(alg), kid, &endpoint.claims()),
            ));
        }
        endpoint.assert_all_refused(&cases).await;
    }
}

#[tokio::test]
async fn key_carrying_headers_are_refused_and_what_they_name_is_never_fetched() {
    // The attacker's own key server, serving the rogue key under the trusted kid.
    let attacker = JwksServer::start(devkeys::jwks(&[&keys().rogue])).await;
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let fetches_before = endpoint.jwks_hits();
        let kid = endpoint.key().kid.clone();
        let rogue_jwk = serde_json::to_value(keys().rogue.jwk()).unwrap();
        let headers = [
            (
                "jku",
                json!({"alg": "RS256", "kid": kid, "jku": attacker.url()}),
            ),
            (
                "x5u",
                json!({"alg": "RS256", "kid": kid, "x5u": attacker.url()}),
            ),
            ("jwk", json!({"alg": "RS256", "kid": kid, "jwk": rogue_jwk})),
            (
                "x5c",
                json!({"alg": "RS256", "kid": kid, "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
            ),
            ("empty jku", json!({"alg": "RS256", "kid": kid, "jku": ""})),
            (
                "jku and jwk",
                json!({"alg": "RS256", "kid": kid, "jku": attacker.url(), "jwk": rogue_jwk}),
            ),
        ];
        let mut cases = Vec::new();
        for (what, header) in headers {
            for (whose, key) in [
                ("the rogue key", &keys().rogue),
                ("the right key", endpoint.key()),
            ] {
                cases.push((
                    format!("{what} header, signed with {whose}"),
                    sign_raw(
                        &header,
                        &endpoint.claims(),
                        Algorithm::RS256,
                        key.encoding_key(),
                    ),
                ));
            }
        }
        endpoint.assert_all_refused(&cases).await;
        assert_eq!(
            endpoint.jwks_hits(),
            fetches_before,
            "{}: refused before any key lookup",
            endpoint.name()
        );
    }
    assert_eq!(
        attacker.hits(),
        0,
        "a URL named in a token is never fetched"
    );
}

#[tokio::test]
async fn kid_abuse_is_refused_and_costs_at_most_one_jwks_refresh() {
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let fetches_before = endpoint.jwks_hits();
        let claims = endpoint.claims();
        let mut cases = Vec::new();
        let odd_kids = [
            ("path-like", json!("../../etc/passwd")),
            ("URL", json!("https://evil.example/keys.json")),
            ("huge", json!("k".repeat(4000))),
            ("with a NUL", json!("\u{0}hc-1")),
            ("empty", json!("")),
            ("null", Value::Null),
            ("a number", json!(1)),
            ("an object", json!({"kid": endpoint.key().kid})),
            ("an array", json!([endpoint.key().kid])),
        ];
        for (what, kid) in &odd_kids {
            let header = json!({"alg": "RS256", "kid": kid});
            cases.push((
                format!("kid {what}, rogue key"),
                sign_raw(
                    &header,
                    &claims,
                    Algorithm::RS256,
                    keys().rogue.encoding_key(),
                ),
            ));
            // The sidebar has one key and ignores kid: a token its key signed is Zendesk's,
            // unless the header itself is malformed (a kid that is not a string).
            let malformed_header = !(kid.is_string() || kid.is_null());
            if !matches!(endpoint, Endpoint::Sidebar(_)) || malformed_header {
                cases.push((
                    format!("kid {what}, right key"),
                    sign_raw(
                        &header,
                        &claims,
                        Algorithm::RS256,
                        endpoint.key().encoding_key(),
                    ),
                ));
            }
        }
        cases.push((
            "no kid".into(),
            sign_raw(
                &json!({"alg": "RS256"}),
                &claims,
                Algorithm::RS256,
                keys().rogue.encoding_key(),
            ),
        ));
        if !matches!(endpoint, Endpoint::Sidebar(_)) {
            cases.push((
                "no kid, right key".into(),
                sign_raw(
                    &json!({"alg": "RS256"}),
                    &claims,
                    Algorithm::RS256,
                    endpoint.key().encoding_key(),
                ),
            ));
        }
        endpoint.assert_all_refused(&cases).await;
        assert!(
            endpoint.jwks_hits() <= fetches_before + 1,
            "{}: {} fetches for {} odd kids",
            endpoint.name(),
            endpoint.jwks_hits() - fetches_before,
            cases.len()
        );
    }
}

#[tokio::test]
async fn claims_of_the_wrong_type_or_from_the_future_are_refused() {
    let now = devkeys::now();
    let tomorrow = now + 86_400;
    let mut not_refused = Vec::new();
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let claims = endpoint.claims();
        let mut mutations: Vec<(&str, &str, Option<Value>)> = vec![
            ("exp", "a string", Some(json!((now + 300).to_string()))),
            ("exp", "an array", Some(json!([now + 300]))),
            ("exp", "null", Some(Value::Null)),
            ("exp", "an object", Some(json!({"exp": now + 300}))),
            ("exp", "true", Some(json!(true))),
            ("exp", "beyond u64", Some(json!(1e30))),
            ("exp", "in the past", Some(json!(now - 3600))),
            ("exp", "missing", None),
            ("nbf", "tomorrow", Some(json!(tomorrow))),
            ("nbf", "a string", Some(json!(now.to_string()))),
            ("nbf", "an array", Some(json!([now]))),
            ("iat", "tomorrow", Some(json!(tomorrow))),
            ("iat", "a string", Some(json!(now.to_string()))),
            ("iat", "an array", Some(json!([now]))),
            ("iat", "null", Some(Value::Null)),
            ("iat", "an object", Some(json!({}))),
        ];
        match endpoint {
            Endpoint::Sidebar(_) => mutations.extend([
                ("aud", "a number", Some(json!(INSTALLATION_ID))),
                ("aud", "null", Some(Value::Null)),
                ("aud", "missing", None),
                (
                    "aud",
                    "an array with another audience",
                    Some(json!([claims["aud"], "https://evil.example"])),
                ),
                ("aud", "an object", Some(json!({"aud": claims["aud"]}))),
                ("iss", "an array", Some(json!([claims["iss"]]))),
                ("iss", "a number", Some(json!(1))),
                ("iss", "missing", None),
            ]),
            Endpoint::Todos(_) => mutations.extend([
                ("userId", "an array", Some(json!([31_337]))),
                ("userId", "null", Some(Value::Null)),
                ("userId", "an object", Some(json!({"id": 31_337}))),
                ("userId", "true", Some(json!(true))),
                ("userId", "a fraction", Some(json!(31_337.5))),
                ("userId", "negative", Some(json!(-31_337))),
                ("userId", "zero", Some(json!(0))),
                (
                    "userId",
                    "beyond 2^53",
                    Some(json!(9_007_199_254_740_993u64)),
                ),
                ("userId", "a decimal string", Some(json!("31337.0"))),
                ("userId", "a padded string", Some(json!(" 31337"))),
                ("userId", "missing", None),
            ]),
            Endpoint::IdentityProvider(..) | Endpoint::Messaging(..) => mutations.extend([
                ("aud", "a number", Some(json!(1))),
                ("aud", "null", Some(Value::Null)),
                ("aud", "missing", None),
                ("aud", "an object", Some(json!({"aud": AUDIENCE}))),
                ("aud", "another audience", Some(json!(["someone-else"]))),
                ("iss", "an array", Some(json!([ISSUER]))),
                ("iss", "missing", None),
                ("name", "a number", Some(json!(7))),
                ("email", "an array", Some(json!(["ida@example.com"]))),
                ("email", "null", Some(Value::Null)),
                ("sub", "a number", Some(json!(42))),
                ("sub", "an object", Some(json!({"id": "idp-user-1"}))),
            ]),
        }
        let cases: Vec<(String, String)> = mutations
            .into_iter()
            .map(|(name, what, value)| {
                (
                    format!("{name} {what}"),
                    endpoint.key().sign(&with_claim(&claims, name, value)),
                )
            })
            .collect();
        not_refused.extend(endpoint.not_refused(&cases).await);
        endpoint.assert_accepts_a_valid_token().await;
    }
    assert_all_refused(not_refused);
}

#[tokio::test]
async fn tokens_for_another_account_installation_or_flow_are_refused() {
    let endpoints = Endpoint::all().await;
    // Another account publishes its own keys; its help center key may even reuse our kid.
    let other_account = DevKey::generate("other-account-1");
    let zaf_for = |subdomain: &str, installation: u64| {
        keys()
            .primary
            .sign(&devkeys::zaf_claims(subdomain, installation, 300))
    };
    let help_center = keys()
        .primary
        .sign(&devkeys::help_center_claims(31_337, 300));
    // A sidebar session, signed with a session key of its own.
    let session = zendesk_jwt::Session {
        installation: zendesk_jwt::ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap(),
        app_guid: "00000000-0000-4000-8000-000000000001".into(),
        user: Some("1900000000001".into()),
        iat: devkeys::now() as u64,
        exp: (devkeys::now() + 300) as u64,
    }
    .sign(&zendesk_jwt::SessionKey::new(b"test-only-session-key-0123456789abcdef").unwrap());
    for endpoint in &endpoints {
        endpoint.assert_accepts_a_valid_token().await;
        let mut cases: Vec<(String, String)> = vec![(
            "signed by another account's key".into(),
            other_account.sign(&endpoint.claims()),
        )];
        match endpoint {
            Endpoint::Sidebar(_) => cases.extend([
                (
                    "another installation".into(),
                    zaf_for(SUBDOMAIN, INSTALLATION_ID + 1),
                ),
                ("another account".into(), zaf_for("evil", INSTALLATION_ID)),
                ("a help center token".into(), help_center.clone()),
            ]),
            Endpoint::Todos(_) => cases.extend([
                (
                    "another account's key under our kid".into(),
                    keys().rogue.sign(&endpoint.claims()),
                ),
                ("a ZAF token".into(), zaf_for(SUBDOMAIN, INSTALLATION_ID)),
            ]),
            Endpoint::IdentityProvider(..) | Endpoint::Messaging(..) => cases.extend([
                ("a help center token".into(), help_center.clone()),
                ("a ZAF token".into(), zaf_for(SUBDOMAIN, INSTALLATION_ID)),
                ("a sidebar session".into(), session.clone()),
                (
                    "another issuer".into(),
                    endpoint.key().sign(&with_claim(
                        &endpoint.claims(),
                        "iss",
                        Some(json!("https://evil.example/")),
                    )),
                ),
            ]),
        }
        endpoint.assert_all_refused(&cases).await;
    }
}

#[tokio::test]
async fn malformed_and_oversized_tokens_are_refused() {
    for endpoint in Endpoint::all().await {
        endpoint.assert_accepts_a_valid_token().await;
        let valid = endpoint.valid_token();
        let parts: Vec<&str> = valid.split('.').collect();
        let mut flipped = valid.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let other = endpoint
            .key()
            .sign(&with_claim(&endpoint.claims(), "extra", Some(json!(1))));
        let cases: Vec<(&str, String)> = vec![
            ("one dot", ".".into()),
            ("two dots", "..".into()),
            ("two parts", format!("{}.{}", parts[0], parts[1])),
            ("four parts", format!("{valid}.{}", parts[2])),
            ("the signature altered", String::from_utf8(flipped).unwrap()),
            (
                "another token's payload",
                format!(
                    "{}.{}.{}",
                    parts[0],
                    other.split('.').nth(1).unwrap(),
                    parts[2]
                ),
            ),
            ("padding added", format!("{valid}==")),
            (
                "standard base64 characters",
                valid.replace('-', "+").replace('_', "/"),
            ),
            (
                "a header that is not JSON",
                format!("{}.{}.{}", base64url("{alg"), parts[1], parts[2]),
            ),
            (
                "a header that is a JSON array",
                format!("{}.{}.{}", base64url("[\"RS256\"]"), parts[1], parts[2]),
            ),
            (
                "a header without alg",
                format!(
                    "{}.{}.{}",
                    base64url("{\"typ\":\"JWT\"}"),
                    parts[1],
                    parts[2]
                ),
            ),
            (
                "a header with alg twice",
                format!(
                    "{}.{}.{}",
                    base64url("{\"alg\":\"none\",\"alg\":\"RS256\"}"),
                    parts[1],
                    parts[2]
                ),
            ),
            (
                "claims that are not JSON",
                format!("{}.{}.{}", parts[0], base64url("not json"), parts[2]),
            ),
            (
                "claims that are a JSON array",
                format!("{}.{}.{}", parts[0], base64url("[1]"), parts[2]),
            ),
            ("non-ASCII", format!("{valid}é")),
            (
                "a JWE-shaped token",
                format!(
                    "{}.{}.{}.{}.{}",
                    parts[0], parts[1], parts[2], parts[1], parts[2]
                ),
            ),
            (
                "9 KiB",
                format!("{}.{}.{}", parts[0], "A".repeat(9 * 1024), parts[2]),
            ),
            ("15 KiB of one character", "A".repeat(15 * 1024)),
            ("not a token", "hello".into()),
        ];
        let cases: Vec<(String, String)> = cases
            .into_iter()
            .map(|(case, token)| (case.to_owned(), token))
            .collect();
        endpoint.assert_all_refused(&cases).await;
    }
}
