//! Keys, secrets, sessions, installations and user tokens over simulated months: each function
//! instance reads a clock the test moves, and every rotation, expiry and change is checked to
//! take effect within its documented window and no later.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::events::{json_body, request, text};
use integration_tests::lifetime::DAY;
use integration_tests::sdk_exchange::{decode_sdk_jwt, exchange_token, table_config};
use integration_tests::services::{aws, create_secret, create_table, put_secret, secrets_manager};
use integration_tests::sidebar::{
    APP_GUID, Mode, PAGE, app_fixture, config, post, record, session_of, token_form,
};
use integration_tests::todos::fixture_at;
use integration_tests::tokens::keys;
use integration_tests::{INSTALLATION_ID, SUBDOMAIN};
use lambda_http::{Body, Response};
use sdk_exchange::{SdkExchange, token_hash};
use serde_json::json;
use sidebar::{Sidebar, SidebarConfig};
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::clock::{Clock, MovableClock};
use zendesk_jwt::devkeys::{DevKey, help_center_claims, issued_at, jwks, zaf_claims};
use zendesk_jwt::lambda::metrics::{Function, Metrics, MetricsCapture};
use zendesk_jwt::lambda::secrets::SecretLocation;

/// Secrets are read again after this long in these tests (`SECRET_TTL_SECONDS`, the default).
const TTL: Duration = Duration::from_secs(300);
/// After a failed read, the next one waits this long (`SECRET_RETRY_SECONDS`, the default).
const RETRY: Duration = Duration::from_secs(30);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A ZAF token of `installation`, signed by `key`, made now on `clock`.
fn zaf_token_at(key: &DevKey, installation: &ZafInstallation, clock: &Clock) -> String {
    let claims = zaf_claims(
        installation.subdomain(),
        installation.installation_id(),
        300,
    );
    key.sign(&issued_at(claims, clock.now_seconds(), 300))
}

fn acme() -> ZafInstallation {
    ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap()
}

/// A sidebar instance built from `config`, reading `clock`, counting in `metrics`.
fn sidebar_at(config: &SidebarConfig, clock: &MovableClock, metrics: Metrics) -> Sidebar {
    let config = SidebarConfig {
        clock: clock.clock(),
        ..config.clone()
    };
    Sidebar::counting_in(metrics, &config, &aws()).expect("the sidebar is configured")
}

/// The start page for a token of `installation` signed by `key`, at the instance's time.
async fn open(
    sidebar: &Sidebar,
    key: &DevKey,
    installation: &ZafInstallation,
    clock: &MovableClock,
) -> Response<Body> {
    let token = zaf_token_at(key, installation, &clock.clock());
    let page = format!(
        "/sidebar?origin=https%3A%2F%2F{}.zendesk.com&app_guid={APP_GUID}",
        installation.subdomain()
    );
    sidebar.handle(post(&page, Some(&token_form(&token)))).await
}

/// A note read with `session`, as the start page makes it.
async fn read_note(sidebar: &Sidebar, session: &str) -> Response<Body> {
    let auth = format!("Bearer {session}");
    let headers = [("authorization", auth.as_str()), ("x-app-guid", APP_GUID)];
    sidebar
        .handle(request(
            "GET",
            "/sidebar/api/tickets/7/note",
            &headers,
            None,
        ))
        .await
}

fn secret_id(location: &SecretLocation) -> String {
    match location {
        SecretLocation::SecretsManager(id) => id.clone(),
        SecretLocation::Inline(_) => panic!("the fixture's secrets are in Secrets Manager"),
    }
}

fn counted(metrics: &MetricsCapture, metric: &str) -> usize {
    metrics
        .take()
        .iter()
        .filter(|line| line.contains(&format!("\"{metric}\":1")))
        .count()
}

#[tokio::test]
async fn the_apps_key_rotated_every_month_is_used_from_one_ttl_after_each_rotation() {
    // GIVEN the sidebar reading the app's public key from Secrets Manager
    let clock = MovableClock::new();
    let secrets = secrets_manager();
    let keys = keys();
    let id = create_secret(&secrets, keys.primary.public_pem()).await;
    let sidebar = sidebar_at(
        &config(SecretLocation::SecretsManager(id.clone())),
        &clock,
        Metrics::disabled(Function::Sidebar),
    );
    let (mut old, mut new) = (&keys.primary, &keys.rotated);
    assert_eq!(open(&sidebar, old, &acme(), &clock).await.status(), 200);
    for month in 1..=12 {
        // WHEN the key is rotated in Secrets Manager
        put_secret(&secrets, &id, new.public_pem()).await;
        // THEN for one TTL the instance keeps the key it read, and no longer
        clock.advance(TTL - secs(1));
        assert_eq!(
            open(&sidebar, old, &acme(), &clock).await.status(),
            200,
            "month {month}"
        );
        assert_eq!(
            open(&sidebar, new, &acme(), &clock).await.status(),
            401,
            "month {month}"
        );
        clock.advance(secs(1));
        assert_eq!(
            open(&sidebar, new, &acme(), &clock).await.status(),
            200,
            "month {month}"
        );
        assert_eq!(
            open(&sidebar, old, &acme(), &clock).await.status(),
            401,
            "month {month}"
        );
        // and a month of daily use goes on with the new key
        for _ in 0..30 {
            clock.advance(DAY);
            assert_eq!(open(&sidebar, new, &acme(), &clock).await.status(), 200);
        }
        std::mem::swap(&mut old, &mut new);
    }
}

#[tokio::test]
async fn a_rotated_session_key_ends_every_session_within_one_ttl_each_month() {
    // GIVEN the sidebar with sessions, its session key in Secrets Manager
    let f = app_fixture(Mode::Single, secs(60), secs(900)).await;
    let clock = MovableClock::new();
    let sidebar = sidebar_at(&f.config, &clock, Metrics::disabled(Function::Sidebar));
    let key_id = secret_id(&f.config.sessions.as_ref().unwrap().key);
    let secrets = secrets_manager();
    for month in 1..=12 {
        let page = open(&sidebar, &keys().primary, &acme(), &clock).await;
        assert_eq!(page.status(), 200, "month {month}: {}", text(&page));
        let session = session_of(&page);
        assert_eq!(read_note(&sidebar, &session).await.status(), 200);
        // WHEN the session key is replaced
        put_secret(
            &secrets,
            &key_id,
            &format!("month {month} session key, long enough"),
        )
        .await;
        // THEN the session works until the instance reads the new key, one TTL later at most
        clock.advance(TTL - secs(1));
        assert_eq!(
            read_note(&sidebar, &session).await.status(),
            200,
            "month {month}"
        );
        clock.advance(secs(1));
        assert_eq!(
            read_note(&sidebar, &session).await.status(),
            401,
            "month {month}"
        );
        // and a page opened now carries a session of the new key
        let renewed = session_of(&open(&sidebar, &keys().primary, &acme(), &clock).await);
        assert_eq!(
            read_note(&sidebar, &renewed).await.status(),
            200,
            "month {month}"
        );
        clock.advance(30 * DAY);
    }
}

#[tokio::test]
async fn the_sdk_shared_secret_rotated_every_month_signs_from_one_ttl_after_each_rotation() {
    // GIVEN the exchange with its shared secret in Secrets Manager, and a user token that
    // lives all year
    let clock = MovableClock::new();
    let dynamodb = aws().dynamodb().unwrap();
    let table = create_table(&dynamodb, "token_hash").await;
    let secrets = secrets_manager();
    let first = "shared-secret-of-month-0-0123456789";
    let id = create_secret(&secrets, first).await;
    let config = sdk_exchange::ExchangeConfig {
        clock: clock.clock(),
        ..table_config(SecretLocation::SecretsManager(id.clone()), TTL, &table)
    };
    let exchange =
        SdkExchange::counting_in(Metrics::disabled(Function::SdkExchange), &config, &aws())
            .unwrap();
    register(&dynamodb, &table, "year-token", &clock, 400 * DAY, false).await;
    let mut current = first.to_owned();
    for month in 1..=12 {
        // An exchange reads the secret as it is; then it is rotated.
        let signed = exchange_token(&exchange, "year-token").await;
        decode_sdk_jwt(json_body(&signed)["jwt"].as_str().unwrap(), &current);
        let next = format!("shared-secret-of-month-{month}-0123456789");
        put_secret(&secrets, &id, &next).await;
        clock.advance(TTL - secs(1));
        let signed = exchange_token(&exchange, "year-token").await;
        assert_eq!(signed.status(), 200);
        decode_sdk_jwt(json_body(&signed)["jwt"].as_str().unwrap(), &current);
        clock.advance(secs(1));
        let signed = exchange_token(&exchange, "year-token").await;
        let claims = decode_sdk_jwt(json_body(&signed)["jwt"].as_str().unwrap(), &next);
        assert_eq!(claims["iat"], clock.clock().now_seconds(), "month {month}");
        current = next;
        clock.advance(30 * DAY);
    }
}

#[tokio::test]
async fn a_help_center_key_added_is_trusted_at_once_and_one_withdrawn_within_the_max_age() {
    // GIVEN the to-do API whose JWKS holds the primary key
    let clock = MovableClock::new();
    let f = fixture_at(clock.clock(), 500, Metrics::disabled(Function::Todos)).await;
    let keys = keys();
    let list = |key: &'static DevKey| {
        let token = key.sign(&issued_at(
            help_center_claims(42, 300),
            clock.clock().now_seconds(),
            300,
        ));
        let auth = format!("Bearer {token}");
        let todos = f.todos.clone();
        async move {
            todos
                .handle(request(
                    "GET",
                    "/todo_items",
                    &[("authorization", &auth)],
                    None,
                ))
                .await
                .status()
        }
    };
    assert_eq!(list(&keys.primary).await, 200);
    let (mut old, mut new) = (&keys.primary, &keys.rotated);
    for month in 1..=6 {
        // WHEN Zendesk publishes a second key THEN tokens of it are accepted at once
        f.jwks.set_document(jwks(&[old, new]));
        clock.advance(secs(31)); // past the cool-down of the last refresh
        assert_eq!(list(new).await, 200, "month {month}: the added key");
        // WHEN the old key is withdrawn THEN it is trusted until the keys reach their maximum
        // age (JWKS_MAX_AGE_SECONDS, 600), and no longer
        f.jwks.set_document(jwks(&[new]));
        clock.advance(secs(598));
        assert_eq!(list(old).await, 200, "month {month}: within the max age");
        clock.advance(secs(2));
        assert_eq!(list(old).await, 401, "month {month}: withdrawn");
        assert_eq!(list(new).await, 200);
        clock.advance(30 * DAY);
        std::mem::swap(&mut old, &mut new);
    }
}

#[tokio::test]
async fn an_apps_key_rotated_to_a_refused_value_is_kept_one_ttl_then_answered_503() {
    let clock = MovableClock::new();
    let secrets = secrets_manager();
    let id = create_secret(&secrets, keys().primary.public_pem()).await;
    let (metrics, lines) = Metrics::capture(Default::default(), Function::Sidebar);
    let sidebar = sidebar_at(
        &config(SecretLocation::SecretsManager(id.clone())),
        &clock,
        metrics,
    );
    let status = || {
        let token = zaf_token_at(&keys().primary, &acme(), &clock.clock());
        let request = post(PAGE, Some(&token_form(&token)));
        let sidebar = &sidebar;
        async move { sidebar.handle(request).await.status() }
    };
    assert_eq!(status().await, 200);
    // WHEN the key is replaced by the placeholder the stack starts with
    put_secret(&secrets, &id, "unset").await;
    clock.advance(TTL);
    // THEN the last good key is kept for one TTL after the first refusal, which is counted
    assert_eq!(status().await, 200);
    assert_eq!(counted(&lines, "SecretsRefused"), 1);
    clock.advance(TTL - RETRY);
    assert_eq!(status().await, 200, "still within the TTL");
    clock.advance(RETRY);
    // and then no longer: the page says the key is unavailable
    assert_eq!(status().await, 503);
    assert_eq!(status().await, 503, "no stale key comes back");
    // WHEN a usable key is stored THEN the instance recovers at the next attempt
    put_secret(&secrets, &id, keys().primary.public_pem()).await;
    clock.advance(secs(1));
    assert_eq!(status().await, 200);
}

#[tokio::test]
async fn a_session_key_rotated_to_a_refused_value_stops_every_session_within_two_ttls() {
    let f = app_fixture(Mode::Single, secs(60), secs(3600)).await;
    let clock = MovableClock::new();
    let (metrics, lines) = Metrics::capture(Default::default(), Function::Sidebar);
    let sidebar = sidebar_at(&f.config, &clock, metrics);
    let key_id = secret_id(&f.config.sessions.as_ref().unwrap().key);
    let session = session_of(&open(&sidebar, &keys().primary, &acme(), &clock).await);
    assert_eq!(read_note(&sidebar, &session).await.status(), 200);
    // WHEN the session key is replaced by one too short to be used
    put_secret(&secrets_manager(), &key_id, "too short").await;
    clock.advance(TTL);
    assert_eq!(read_note(&sidebar, &session).await.status(), 200);
    assert!(counted(&lines, "SecretsRefused") >= 1);
    clock.advance(TTL);
    // THEN after one more TTL the old key is trusted no more: 503, not the old sessions
    let refused = read_note(&sidebar, &session).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(
        open(&sidebar, &keys().primary, &acme(), &clock)
            .await
            .status(),
        503,
        "no page is served with a session of the old key either"
    );
}

#[tokio::test]
async fn an_sdk_secret_rotated_to_the_redacted_copy_is_kept_one_ttl_then_answered_503() {
    let clock = MovableClock::new();
    let dynamodb = aws().dynamodb().unwrap();
    let table = create_table(&dynamodb, "token_hash").await;
    let secrets = secrets_manager();
    let good = "a-full-shared-secret-0123456789";
    let id = create_secret(&secrets, good).await;
    let (metrics, lines) = Metrics::capture(Default::default(), Function::SdkExchange);
    let config = sdk_exchange::ExchangeConfig {
        clock: clock.clock(),
        ..table_config(SecretLocation::SecretsManager(id.clone()), TTL, &table)
    };
    let exchange = SdkExchange::counting_in(metrics, &config, &aws()).unwrap();
    register(&dynamodb, &table, "ann", &clock, 30 * DAY, false).await;
    assert_eq!(exchange_token(&exchange, "ann").await.status(), 200);
    put_secret(&secrets, &id, "abc***xyz").await;
    clock.advance(TTL);
    let kept = exchange_token(&exchange, "ann").await;
    assert_eq!(kept.status(), 200);
    decode_sdk_jwt(json_body(&kept)["jwt"].as_str().unwrap(), good);
    assert!(counted(&lines, "SecretsRefused") >= 1);
    clock.advance(TTL);
    assert_eq!(exchange_token(&exchange, "ann").await.status(), 503);
}

#[tokio::test]
async fn sessions_minted_on_instances_two_seconds_apart_are_accepted_by_each_other_until_expiry() {
    // GIVEN two instances of the sidebar whose clocks are 2 s ahead of and behind the true time
    let f = app_fixture(Mode::Single, secs(60), secs(900)).await;
    let ahead = MovableClock::skewed(2_000);
    let behind = MovableClock::skewed(-2_000);
    let disabled = || Metrics::disabled(Function::Sidebar);
    let (a, b) = (
        sidebar_at(&f.config, &ahead, disabled()),
        sidebar_at(&f.config, &behind, disabled()),
    );
    for day in 1..=30 {
        // WHEN each mints a session and the other is called with it at once
        let from_a = session_of(&open(&a, &keys().primary, &acme(), &ahead).await);
        let from_b = session_of(&open(&b, &keys().primary, &acme(), &behind).await);
        // THEN both are accepted on both
        let on_both = |expected: u16, when: &'static str| {
            let (a, b, from_a, from_b) = (&a, &b, &from_a, &from_b);
            async move {
                for (session, name) in [(from_a, "ahead"), (from_b, "behind")] {
                    for (sidebar, on) in [(a, "A"), (b, "B")] {
                        let status = read_note(sidebar, session).await.status();
                        assert_eq!(status, expected, "day {day} {when}: {name} on {on}");
                    }
                }
            }
        };
        on_both(200, "at once").await;
        // and each instance refuses both once its clock is past their expiry (900 s after they
        // were made on a clock at most 4 s apart)
        for clock in [&ahead, &behind] {
            clock.advance(secs(905));
        }
        on_both(401, "after expiry").await;
        for clock in [&ahead, &behind] {
            clock.advance(DAY - secs(905));
        }
    }
}

/// The status of the start page of the test installation (table mode).
async fn admitted(sidebar: &Sidebar, clock: &MovableClock) -> u16 {
    open(sidebar, &keys().primary, &acme(), clock)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn installation_changes_take_effect_within_the_cache_time_and_no_later_all_year() {
    // GIVEN the sidebar in table mode, records cached for 60 s, the installation enabled
    let f = app_fixture(Mode::Table(None), secs(60), secs(900)).await;
    let clock = MovableClock::new();
    let sidebar = sidebar_at(&f.config, &clock, Metrics::disabled(Function::Sidebar));
    f.add(&acme(), record(true, "Acme", json!({"greeting": "hello"})))
        .await;
    for month in 1..=12 {
        assert_eq!(admitted(&sidebar, &clock).await, 200, "month {month}");
        // WHEN it is disabled right after a page read its record
        f.admin.set_enabled(&acme(), false).await.unwrap();
        // THEN pages open for the rest of the cache time, and not a second longer
        clock.advance(secs(59));
        assert_eq!(admitted(&sidebar, &clock).await, 200, "month {month}");
        clock.advance(secs(1));
        assert_eq!(admitted(&sidebar, &clock).await, 403, "month {month}");
        // WHEN it is enabled again, with new settings THEN the same holds the other way
        f.admin.set_enabled(&acme(), true).await.unwrap();
        let settings = json!({"greeting": format!("month {month}")});
        f.admin
            .set_settings(&acme(), settings.as_object().unwrap())
            .await
            .unwrap();
        clock.advance(secs(59));
        assert_eq!(admitted(&sidebar, &clock).await, 403, "month {month}");
        clock.advance(secs(1));
        let page = open(&sidebar, &keys().primary, &acme(), &clock).await;
        assert_eq!(page.status(), 200, "month {month}");
        // and the settings the app reads are the record as it is now
        let auth = format!("Bearer {}", session_of(&page));
        let headers = [("authorization", auth.as_str()), ("x-app-guid", APP_GUID)];
        let read = sidebar
            .handle(request("GET", "/sidebar/api/settings", &headers, None))
            .await;
        assert_eq!(json_body(&read)["settings"], settings, "month {month}");
        clock.advance(30 * DAY);
    }
}

/// Store the user token `user_token` as an organisation's backend would, expiring `lifetime`
/// after now on `clock`.
async fn register(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    user_token: &str,
    clock: &MovableClock,
    lifetime: Duration,
    revoked: bool,
) {
    let expires = clock.clock().now_seconds() + lifetime.as_secs();
    dynamodb
        .put_item()
        .table_name(table)
        .item("token_hash", AttributeValue::S(token_hash(user_token)))
        .item("expires_at", AttributeValue::N(expires.to_string()))
        .item("name", AttributeValue::S("Ann Example".into()))
        .item("email", AttributeValue::S("ann@example.com".into()))
        .item("revoked", AttributeValue::Bool(revoked))
        .send()
        .await
        .expect("DynamoDB Local stores the user token");
}

#[tokio::test]
async fn user_tokens_expire_at_their_second_and_revocation_takes_effect_at_once() {
    // GIVEN the exchange and a user token that expires in 30 days
    let clock = MovableClock::new();
    let dynamodb = aws().dynamodb().unwrap();
    let table = create_table(&dynamodb, "token_hash").await;
    let config = sdk_exchange::ExchangeConfig {
        clock: clock.clock(),
        ..table_config(
            SecretLocation::Inline("an-inline-shared-secret-0123456789".into()),
            TTL,
            &table,
        )
    };
    let exchange =
        SdkExchange::counting_in(Metrics::disabled(Function::SdkExchange), &config, &aws())
            .unwrap();
    register(&dynamodb, &table, "month-token", &clock, 30 * DAY, false).await;
    register(&dynamodb, &table, "revoked-later", &clock, 300 * DAY, false).await;
    // WHEN it is used every day THEN it works until its expiry second, and never after
    for day in 1..30 {
        clock.advance(DAY);
        assert_eq!(
            exchange_token(&exchange, "month-token").await.status(),
            200,
            "day {day}"
        );
    }
    clock.advance(DAY - secs(5));
    assert_eq!(exchange_token(&exchange, "month-token").await.status(), 200);
    clock.advance(secs(5));
    assert_eq!(exchange_token(&exchange, "month-token").await.status(), 401);
    // WHEN another user's token is revoked THEN the next exchange is refused
    assert_eq!(
        exchange_token(&exchange, "revoked-later").await.status(),
        200
    );
    register(&dynamodb, &table, "revoked-later", &clock, 300 * DAY, true).await;
    assert_eq!(
        exchange_token(&exchange, "revoked-later").await.status(),
        401
    );
}
