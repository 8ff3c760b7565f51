//! Metrics from the shared crate's parts, against the real things they count: the JWKS cache
//! against a local JWKS server, the secret cache against moto's Secrets Manager, and refusal
//! reason classes from real tokens refused by the real verifiers.

use std::sync::Arc;
use std::time::Duration;

use devserver::devkeys::{self, help_center_claims};
use integration_tests::jwks_server::{JwksMode, JwksServer};
use integration_tests::services::{
    aws, aws_with_secrets_manager_at, create_secret, put_secret, secrets_manager,
};
use integration_tests::tokens::{keys, public_key_as_hmac_secret, sign_raw, sign_with};
use integration_tests::{INSTALLATION_ID, SUBDOMAIN};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use zendesk_jwt::lambda::metrics::{
    Function, Metrics, MetricsCapture, MetricsNamespace, Outcome, RefusalReason,
};
use zendesk_jwt::lambda::secrets::{SecretCache, SecretLocation, SecretTimes};
use zendesk_jwt::{
    AuthError, HelpCenterVerifier, JwksCache, JwksSettings, JwksVerifier, TokenRules, ZafVerifier,
    parse_rsa_public_key_pem,
};

fn capture(function: Function) -> (Metrics, MetricsCapture) {
    Metrics::capture(
        MetricsNamespace::parse("ZendeskJwt/tests").unwrap(),
        function,
    )
}

/// The metric each captured line counts (its one metric with the value 1), with its function.
fn counted(lines: &MetricsCapture) -> Vec<(String, String)> {
    lines
        .take()
        .iter()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
            assert_eq!(directives.len(), 1, "{line}");
            assert_eq!(directives[0]["Namespace"], "ZendeskJwt/tests");
            assert_eq!(directives[0]["Dimensions"], json!([["Function"]]));
            let metric = directives[0]["Metrics"][0]["Name"].as_str().unwrap();
            assert_eq!(line[metric], 1, "{line}");
            (
                line["Function"].as_str().unwrap().to_owned(),
                metric.to_owned(),
            )
        })
        .collect()
}

fn pair(function: &str, metric: &str) -> (String, String) {
    (function.to_owned(), metric.to_owned())
}

#[tokio::test]
async fn each_jwks_fetch_and_each_failed_fetch_is_counted() {
    let server = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    let (metrics, lines) = capture(Function::Todos);
    let settings = JwksSettings {
        cooldown: Duration::ZERO,
        timeout: Duration::from_secs(2),
        ..JwksSettings::default()
    };
    let cache = JwksCache::new(server.url(), settings, zendesk_jwt::clock::Clock::system())
        .with_metrics(metrics);

    // GIVEN a cold cache WHEN a known kid is asked for THEN one fetch is counted.
    cache.key("hc-1").await.unwrap();
    cache.key("hc-1").await.unwrap();
    assert_eq!(counted(&lines), [pair("todos", "JwksRefreshes")]);

    // WHEN an unknown kid makes it refetch from an endpoint that is down THEN one failure.
    server.set_mode(JwksMode::Down);
    assert!(matches!(
        cache.key("hc-9").await,
        Err(AuthError::UnknownKid)
    ));
    assert_eq!(counted(&lines), [pair("todos", "JwksRefreshFailures")]);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn each_secret_read_is_counted_and_an_unusable_value_is_a_failure() {
    let secrets = secrets_manager();
    let id = create_secret(&secrets, keys().primary.public_pem()).await;
    let (metrics, lines) = capture(Function::Sidebar);
    // A read every 300 s of a clock the test moves.
    let times = SecretTimes {
        ttl: Duration::from_secs(300),
        retry: Duration::ZERO,
    };
    let clock = zendesk_jwt::clock::MovableClock::new();
    let cache = SecretCache::new(
        &SecretLocation::SecretsManager(id.clone()),
        &aws(),
        times,
        clock.clock(),
        parse_rsa_public_key_pem,
    )
    .unwrap()
    .with_metrics(metrics);

    cache.get().await.unwrap();
    assert_eq!(counted(&lines), [pair("sidebar", "SecretRefreshes")]);

    // GIVEN a rotation gone wrong: the secret holds something that is not a key.
    put_secret(&secrets, &id, "unset").await;
    clock.advance(times.ttl);
    assert!(cache.get().await.is_ok(), "the last good key is kept");
    assert_eq!(
        counted(&lines),
        [
            pair("sidebar", "SecretRefreshFailures"),
            pair("sidebar", "SecretsRefused")
        ]
    );

    // GIVEN no Secrets Manager at all.
    let (metrics, lines) = capture(Function::SdkExchange);
    let unreachable = SecretCache::new(
        &SecretLocation::SecretsManager(id),
        &aws_with_secrets_manager_at("http://127.0.0.1:9"),
        times,
        zendesk_jwt::clock::Clock::system(),
        parse_rsa_public_key_pem,
    )
    .unwrap()
    .with_metrics(metrics);
    assert!(unreachable.get().await.is_err());
    assert_eq!(
        counted(&lines),
        [pair("sdk-exchange", "SecretRefreshFailures")]
    );
}

#[test]
fn sidebar_tokens_are_refused_with_the_reason_class_of_what_is_wrong() {
    let verifier = ZafVerifier::new(
        zendesk_jwt::ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap(),
        Duration::from_secs(30),
        zendesk_jwt::clock::Clock::system(),
    );
    let key =
        jsonwebtoken::DecodingKey::from_rsa_pem(keys().primary.public_pem().as_bytes()).unwrap();
    let claims = devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300);
    let with = |changes: Value| {
        let mut claims = claims.clone();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let now = devkeys::now();
    let primary = &keys().primary;
    let cases: Vec<(&str, String, Option<RefusalReason>)> = vec![
        ("valid", primary.sign(&claims), None),
        ("empty", String::new(), Some(RefusalReason::Missing)),
        (
            "not a JWT",
            "not-a-jwt".into(),
            Some(RefusalReason::Malformed),
        ),
        (
            "signed by another key",
            keys().rogue.sign(&claims),
            Some(RefusalReason::BadSignature),
        ),
        (
            "HS256 with the public key as secret",
            sign_with(
                Algorithm::HS256,
                &public_key_as_hmac_secret(primary),
                None,
                &claims,
            ),
            Some(RefusalReason::BadSignature),
        ),
        (
            "expired",
            primary.sign(&with(json!({"iat": now - 600, "exp": now - 300}))),
            Some(RefusalReason::Expired),
        ),
        (
            "not valid before a minute from now",
            primary.sign(&with(json!({"nbf": now + 600}))),
            Some(RefusalReason::NotYetValid),
        ),
        (
            "issued in the future",
            primary.sign(&with(json!({"iat": now + 600}))),
            Some(RefusalReason::NotYetValid),
        ),
        (
            "for another installation",
            primary.sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID + 1, 300)),
            Some(RefusalReason::WrongAudience),
        ),
        (
            "from another account",
            primary.sign(&with(json!({"iss": "other.zendesk.com"}))),
            Some(RefusalReason::WrongIssuer),
        ),
        (
            "with a key URL in its header",
            sign_raw(
                &json!({"alg": "RS256", "jku": "https://attacker.example/keys"}),
                &claims,
                Algorithm::RS256,
                primary.encoding_key(),
            ),
            Some(RefusalReason::Malformed),
        ),
    ];
    for (case, token, expected) in cases {
        let got = verifier.verify(&token, &key).err().map(|e| e.outcome());
        assert_eq!(got, expected.map(Outcome::Refused), "{case}");
    }
}

#[tokio::test]
async fn help_center_tokens_are_refused_by_class_and_a_jwks_outage_is_unavailable() {
    let server = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    let rules = TokenRules {
        issuer: None,
        audience: None,
        leeway: Duration::from_secs(30),
    };
    let cache = Arc::new(JwksCache::new(
        server.url(),
        JwksSettings {
            cooldown: Duration::ZERO,
            timeout: Duration::from_secs(2),
            ..JwksSettings::default()
        },
        zendesk_jwt::clock::Clock::system(),
    ));
    let verifier = HelpCenterVerifier::new(JwksVerifier::new(cache, &rules));
    assert!(
        verifier
            .verify(&keys().primary.sign(&help_center_claims(7, 300)))
            .await
            .is_ok()
    );
    let outcome = |result: Result<_, AuthError>| result.err().map(|e| e.outcome());
    let unknown_kid = keys().rotated.sign(&help_center_claims(7, 300));
    assert_eq!(
        outcome(verifier.verify(&unknown_kid).await),
        Some(Outcome::Refused(RefusalReason::UnknownKid))
    );
    let no_user = keys().primary.sign(&json!({"exp": devkeys::now() + 300}));
    assert_eq!(
        outcome(verifier.verify(&no_user).await),
        Some(Outcome::Refused(RefusalReason::Malformed))
    );

    // A cold cache whose JWKS endpoint is down: our failure, not the token's.
    let down = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    down.set_mode(JwksMode::Down);
    let cold = HelpCenterVerifier::new(JwksVerifier::new(
        Arc::new(JwksCache::new(
            down.url(),
            JwksSettings::default(),
            zendesk_jwt::clock::Clock::system(),
        )),
        &rules,
    ));
    let valid = keys().primary.sign(&help_center_claims(7, 300));
    assert_eq!(
        outcome(cold.verify(&valid).await),
        Some(Outcome::Unavailable)
    );
}

/// The outcome (and reason) each captured request line counts; event lines (key and secret
/// reads) have none and are left out.
fn outcomes(lines: &MetricsCapture) -> Vec<String> {
    lines
        .take()
        .iter()
        .filter_map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            let outcome = line["Outcome"].as_str()?;
            Some(match line["Reason"].as_str() {
                Some(reason) => format!("{outcome} {reason}"),
                None => outcome.to_owned(),
            })
        })
        .collect()
}

#[tokio::test]
async fn each_function_counts_every_request_once_by_its_outcome() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use integration_tests::events::request;
    use integration_tests::sdk_exchange::{
        SHARED_SECRET, SITE_ORIGIN, exchange_token, messaging_request, register_user_token,
        sign_in, table_config,
    };
    use integration_tests::services::create_table;
    use integration_tests::sidebar::{
        PAGE, config as sidebar_config, post, token_form, valid_token,
    };
    use integration_tests::todos::{fixture_counting_in, token_for};

    // sidebar
    let (metrics, lines) = capture(Function::Sidebar);
    let sidebar = sidebar::Sidebar::counting_in(
        metrics,
        &sidebar_config(SecretLocation::Inline(keys().primary.public_pem().into())),
        &aws(),
    )
    .unwrap();
    let expired = keys()
        .primary
        .sign(&devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, -3600));
    for (form, status) in [
        (token_form(&valid_token()), 200),
        (token_form(&expired), 401),
        (String::new(), 400),
    ] {
        assert_eq!(
            sidebar.handle(post(PAGE, Some(&form))).await.status(),
            status
        );
    }
    assert_eq!(
        sidebar
            .handle(request("GET", PAGE, &[], None))
            .await
            .status(),
        405
    );
    assert_eq!(
        outcomes(&lines),
        [
            "accepted",
            "refused expired",
            "refused missing",
            "client_error"
        ]
    );

    // todos
    let (metrics, lines) = capture(Function::Todos);
    let f = fixture_counting_in(metrics, 1).await;
    assert_eq!(f.list(1).await.status(), 200);
    assert_eq!(f.add(1, "one").await.status(), 201);
    assert_eq!(f.add(1, "two").await.status(), 409);
    let forged = sign_with(
        Algorithm::RS256,
        keys().rogue.encoding_key(),
        Some("hc-1"),
        &help_center_claims(1, 300),
    );
    assert_eq!(
        f.as_user(&forged, "GET", "/todo_items", None)
            .await
            .status(),
        401
    );
    assert_eq!(f.list_from("https://evil.example", 1).await.status(), 403);
    let preflight = f
        .call(
            "OPTIONS",
            "/todo_items",
            &[
                ("origin", integration_tests::HELP_CENTER_ORIGIN),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(preflight.status(), 200);
    let bearer = format!("Bearer {}", token_for(1));
    let not_json = f
        .call(
            "POST",
            "/todo_items",
            &[("authorization", &bearer), ("content-type", "text/plain")],
            Some("one"),
        )
        .await;
    assert_eq!(not_json.status(), 415);
    assert_eq!(
        outcomes(&lines),
        [
            "accepted",
            "accepted",
            "limit_reached",
            "refused bad_signature",
            "client_error",
            "accepted",
            "client_error"
        ]
    );

    // sdk-exchange
    let (metrics, lines) = capture(Function::SdkExchange);
    let aws = aws();
    let dynamodb = aws.dynamodb().unwrap();
    let table = create_table(&dynamodb, "token_hash").await;
    register_user_token(&dynamodb, &table, "counted-token", 3600, &[]).await;
    let config = table_config(
        SecretLocation::Inline(SHARED_SECRET.into()),
        Duration::from_secs(300),
        &table,
    );
    let exchange = sdk_exchange::SdkExchange::counting_in(metrics, &config, &aws).unwrap();
    assert_eq!(
        exchange_token(&exchange, "counted-token").await.status(),
        200
    );
    assert_eq!(
        exchange_token(&exchange, "never-issued").await.status(),
        401
    );
    let json = request(
        "POST",
        "/sdk/jwt",
        &[("content-type", "application/json")],
        Some("{}"),
    );
    assert_eq!(exchange.handle(json).await.status(), 415);
    // Messaging sign-in: a signed-in user, a preflight (answered by the CORS layer), another
    // site, and no token at all.
    register_user_token(
        &dynamodb,
        &table,
        "counted-messaging-token",
        3600,
        &[("external_id", AttributeValue::S("crm-1".into()))],
    )
    .await;
    assert_eq!(
        sign_in(&exchange, "counted-messaging-token").await.status(),
        200
    );
    let preflight = request(
        "OPTIONS",
        "/messaging/jwt",
        &[
            ("origin", SITE_ORIGIN),
            ("access-control-request-method", "POST"),
        ],
        None,
    );
    assert_eq!(exchange.handle(preflight).await.status(), 200);
    let other_site = messaging_request(&[("origin", "https://evil.example")], None);
    assert_eq!(exchange.handle(other_site).await.status(), 403);
    let no_token = messaging_request(&[("origin", SITE_ORIGIN)], None);
    assert_eq!(exchange.handle(no_token).await.status(), 401);
    assert_eq!(
        outcomes(&lines),
        [
            "accepted",
            "refused unknown_user_token",
            "client_error",
            "accepted",
            "accepted",
            "client_error",
            "refused missing"
        ]
    );
}
