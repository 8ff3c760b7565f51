//! Attacks on every place a token is checked: the sidebar, the to-do API and the SDK exchange's
//! identity-provider resolver. Each forged, confused or malformed token gets the endpoint's
//! ordinary refusal (a 4xx with a clear body), quickly, and never a 5xx or the protected answer.

use std::time::{Duration, Instant};

use super::sdk_exchange::identity_provider::{self, AUDIENCE, ISSUER};
use devserver::devkeys::{self, DevKey};
use integration_tests::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use lambda_http::{Body, Response};
use sdk_exchange::SdkExchange;
use serde_json::{Value, json};
use sidebar::Sidebar;

const SIDEBAR_PAGE: &str = "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc";
/// How long any refusal may take: they are all decided locally.
const QUICKLY: Duration = Duration::from_secs(2);

/// One endpoint that checks tokens, with what it trusts.
pub enum Endpoint {
    Sidebar(Sidebar),
    Todos(super::todos::Fixture),
    IdentityProvider(SdkExchange, JwksServer),
}

impl Endpoint {
    /// GIVEN all three endpoints, each with its real backing services.
    pub async fn all() -> Vec<Endpoint> {
        let (exchange, jwks) = identity_provider::idp_fixture().await;
        vec![
            Endpoint::Sidebar(super::sidebar::sidebar_from_secrets_manager().await),
            Endpoint::Todos(super::todos::fixture().await),
            Endpoint::IdentityProvider(exchange, jwks),
        ]
    }

    pub fn name(&self) -> &'static str {
        match self {
            Endpoint::Sidebar(_) => "sidebar",
            Endpoint::Todos(_) => "todos",
            Endpoint::IdentityProvider(..) => "sdk-exchange (identity provider)",
        }
    }

    /// The key the endpoint trusts.
    pub fn key(&self) -> &'static DevKey {
        match self {
            Endpoint::Sidebar(_) | Endpoint::Todos(_) => &keys().primary,
            Endpoint::IdentityProvider(..) => &keys().rotated,
        }
    }

    /// Claims the endpoint accepts.
    pub fn claims(&self) -> Value {
        match self {
            Endpoint::Sidebar(_) => devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300),
            Endpoint::Todos(_) => devkeys::help_center_claims(31_337, 300),
            Endpoint::IdentityProvider(..) => json!({
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "idp-user-1",
                "name": "Ida",
                "email": "ida@example.com",
                "iat": devkeys::now(),
                "exp": devkeys::now() + 300,
            }),
        }
    }

    /// `claims()` signed as the endpoint's issuer signs them.
    pub fn valid_token(&self) -> String {
        self.key().sign(&self.claims())
    }

    /// How often the endpoint's JWKS was fetched (the sidebar has none).
    pub fn jwks_hits(&self) -> usize {
        match self {
            Endpoint::Sidebar(_) => 0,
            Endpoint::Todos(f) => f.jwks.hits(),
            Endpoint::IdentityProvider(_, jwks) => jwks.hits(),
        }
    }

    /// Present `token` the way a client of this endpoint does.
    pub async fn present(&self, token: &str) -> Response<Body> {
        let form = |field: &str| serde_urlencoded::to_string([(field, token)]).unwrap();
        let started = Instant::now();
        let response = match self {
            Endpoint::Sidebar(sidebar) => {
                sidebar
                    .handle(request(
                        "POST",
                        SIDEBAR_PAGE,
                        &[("content-type", "application/x-www-form-urlencoded")],
                        Some(&form("token")),
                    ))
                    .await
            }
            Endpoint::Todos(f) => f.as_user(token, "GET", "/todo_items", None).await,
            Endpoint::IdentityProvider(exchange, _) => {
                exchange
                    .handle(request(
                        "POST",
                        "/sdk/jwt",
                        &[("content-type", "application/x-www-form-urlencoded")],
                        Some(&form("user_token")),
                    ))
                    .await
            }
        };
        assert!(
            started.elapsed() < QUICKLY,
            "{}: took {:?}",
            self.name(),
            started.elapsed()
        );
        response
    }

    /// Whether the response is this endpoint's ordinary refusal, with nothing protected in it.
    pub fn is_refusal(&self, response: &Response<Body>) -> bool {
        if response.status() != 401 {
            return false;
        }
        match self {
            Endpoint::Sidebar(_) => {
                let page = text(response);
                page.contains("Not signed in") && !page.contains("ZAFClient")
            }
            Endpoint::Todos(_) => {
                json_body(response) == json!({"message": "Invalid authentication"})
                    && header(response, "www-authenticate")
                        == Some("Bearer error=\"invalid_token\"")
            }
            Endpoint::IdentityProvider(..) => {
                json_body(response) == json!({"message": "Unknown or expired user token"})
            }
        }
    }

    /// Present each token; the cases that did not get the ordinary refusal, with what they got.
    pub async fn not_refused(&self, cases: &[(String, String)]) -> Vec<String> {
        let mut accepted = Vec::new();
        for (case, token) in cases {
            let response = self.present(token).await;
            if !self.is_refusal(&response) {
                let body: String = text(&response).chars().take(60).collect();
                accepted.push(format!(
                    "{}: {case}: {} {}",
                    self.name(),
                    response.status(),
                    body.replace('\n', " ")
                ));
            }
        }
        accepted
    }

    /// Present each token; THEN every one gets the ordinary refusal.
    pub async fn assert_all_refused(&self, cases: &[(String, String)]) {
        assert_all_refused(self.not_refused(cases).await);
    }

    /// The valid token is accepted: the refusals are not an endpoint that refuses everything.
    pub async fn assert_accepts_a_valid_token(&self) {
        let response = self.present(&self.valid_token()).await;
        assert_eq!(
            response.status(),
            200,
            "{}: {}",
            self.name(),
            text(&response)
        );
    }
}

/// THEN nothing was let through (every failure of every endpoint is listed at once).
fn assert_all_refused(not_refused: Vec<String>) {
    assert!(
        not_refused.is_empty(),
        "not refused:\n{}",
        not_refused.join("\n")
    );
}

/// The header a correctly signed token of this endpoint has.
fn header_for(endpoint: &Endpoint, alg: &str) -> Value {
    json!({"alg": alg, "typ": "JWT", "kid": endpoint.key().kid})
}

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
            let header = header_for(&endpoint, alg);
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

/// The valid claims with `name` set to `value` (or removed when `value` is `None`).
fn with(claims: &Value, name: &str, value: Option<Value>) -> Value {
    let mut claims = claims.clone();
    let map = claims.as_object_mut().unwrap();
    match value {
        Some(value) => map.insert(name.to_owned(), value),
        None => map.remove(name),
    };
    claims
}

#[tokio::test]
async fn claims_of_the_wrong_type_or_from_the_future_are_refused() {
    let now = devkeys::now();
    let tomorrow = now + 86_400;
    let mut not_refused = Vec::new();
    for endpoint in Endpoint::all().await {
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
            Endpoint::IdentityProvider(..) => mutations.extend([
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
                    endpoint.key().sign(&with(&claims, name, value)),
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
    for endpoint in &endpoints {
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
            Endpoint::IdentityProvider(..) => cases.extend([
                ("a help center token".into(), help_center.clone()),
                ("a ZAF token".into(), zaf_for(SUBDOMAIN, INSTALLATION_ID)),
                (
                    "another issuer".into(),
                    endpoint.key().sign(&with(
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
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    for endpoint in Endpoint::all().await {
        let valid = endpoint.valid_token();
        let parts: Vec<&str> = valid.split('.').collect();
        let mut flipped = valid.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let other = endpoint
            .key()
            .sign(&with(&endpoint.claims(), "extra", Some(json!(1))));
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
                format!("{}.{}.{}", b64("{alg"), parts[1], parts[2]),
            ),
            (
                "a header that is a JSON array",
                format!("{}.{}.{}", b64("[\"RS256\"]"), parts[1], parts[2]),
            ),
            (
                "a header without alg",
                format!("{}.{}.{}", b64("{\"typ\":\"JWT\"}"), parts[1], parts[2]),
            ),
            (
                "a header with alg twice",
                format!(
                    "{}.{}.{}",
                    b64("{\"alg\":\"none\",\"alg\":\"RS256\"}"),
                    parts[1],
                    parts[2]
                ),
            ),
            (
                "claims that are not JSON",
                format!("{}.{}.{}", parts[0], b64("not json"), parts[2]),
            ),
            (
                "claims that are a JSON array",
                format!("{}.{}.{}", parts[0], b64("[1]"), parts[2]),
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
