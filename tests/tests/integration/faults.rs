//! Faults of the real services the functions depend on: a dedicated DynamoDB Local that hangs,
//! dies and comes back on the same port with its data; a moto server that is not there at cold
//! start and then is; a JWKS endpoint that is slow, failing or closing connections. The functions
//! answer 503 with a message within a bounded time, write nothing by halves, and recover by
//! themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use integration_tests::dynamodb_proxy::{DynamoDbProxy, ProxyMode};
use integration_tests::events::{header, text};
use integration_tests::faults::{
    DOWN_BOUND, HUNG_BOUND, Outcomes, assert_503_within, assert_nothing_half_written,
    assert_recovers, keep_writing,
};
use integration_tests::jwks_server::JwksMode;
use integration_tests::processes::LocalProcess;
use integration_tests::sdk_exchange::{
    SHARED_SECRET, exchange_token, fixture_with_inline_secret, sdk_claims, table_config,
};
use integration_tests::services::{
    DYNAMODB_ENDPOINT, aws, aws_with_dynamodb_at, aws_with_secrets_manager_at, create_named_secret,
    secret_times, service_setting, unique,
};
use integration_tests::sidebar::{config as sidebar_config, open, valid_token};
use integration_tests::todos::{fixture_on, fixture_with, token_for};
use integration_tests::tokens::{keys, sign_with};
use sdk_exchange::SdkExchange;
use sidebar::{Sidebar, SidebarConfig};
use zendesk_jwt::JwksSettings;
use zendesk_jwt::devkeys;
use zendesk_jwt::lambda::secrets::SecretLocation;

#[tokio::test]
async fn dynamodb_hanging_or_dying_mid_run_is_a_503_and_the_functions_recover_when_it_returns() {
    // GIVEN a DynamoDB Local of this test's own, with its data in a folder, and both functions
    // that use DynamoDB built once over it, as a Lambda execution environment builds them.
    let mut dynamodb_local = tokio::task::spawn_blocking(LocalProcess::dynamodb)
        .await
        .unwrap();
    let aws = aws_with_dynamodb_at(&dynamodb_local.endpoint());
    let todos = Arc::new(fixture_on(&aws, 500, Duration::from_secs(30)).await);
    let sdk = fixture_with_inline_secret(&aws).await;
    let user_token = "faults-user-token-1";
    sdk.register(user_token, 3600, &[]).await;
    for value in ["before 1", "before 2"] {
        assert_eq!(todos.add(1, value).await.status(), 201);
    }
    assert_eq!(sdk.exchange_token(user_token).await.status(), 200);

    // WHEN DynamoDB hangs (the process is frozen and answers nothing),
    dynamodb_local.pause();
    // THEN reads and writes answer 503 within the operation timeout.
    let token = token_for(1);
    tokio::join!(
        assert_503_within(
            HUNG_BOUND,
            "GET while hung",
            todos.as_user(&token, "GET", "/todo_items", None)
        ),
        assert_503_within(HUNG_BOUND, "POST while hung", todos.add(1, "while hung")),
        assert_503_within(
            HUNG_BOUND,
            "SDK exchange while hung",
            sdk.exchange_token(user_token)
        ),
    );
    // AND WHEN it wakes up, the same functions work again.
    dynamodb_local.resume();
    assert_recovers(Duration::from_secs(10), "GET after the hang", || {
        todos.as_user(&token, "GET", "/todo_items", None)
    })
    .await;

    let first_id = todos.stored(1).await[0].0;

    // WHEN DynamoDB dies while writes are under way,
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|i| keep_writing(todos.clone(), 10 + 3 * i..13 + 3 * i, stop.clone()))
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    dynamodb_local.kill();
    // THEN every route that needs it answers 503 quickly.
    assert_503_within(
        DOWN_BOUND,
        "GET while down",
        todos.as_user(&token, "GET", "/todo_items", None),
    )
    .await;
    assert_503_within(DOWN_BOUND, "POST while down", todos.add(1, "while down")).await;
    let delete = format!("/todo_items/{first_id}");
    assert_503_within(
        DOWN_BOUND,
        "DELETE while down",
        todos.as_user(&token, "DELETE", &delete, None),
    )
    .await;
    assert_503_within(
        DOWN_BOUND,
        "SDK exchange while down",
        sdk.exchange_token(user_token),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.extend(writer.await.unwrap());
    }
    assert!(
        outcomes.iter().any(|(.., s)| *s == 201),
        "some writes got through before"
    );
    assert!(
        outcomes.iter().any(|(.., s)| *s == 503),
        "some writes met the outage"
    );

    // AND WHEN it comes back on the same port with its data,
    let dynamodb_local = tokio::task::spawn_blocking(move || {
        dynamodb_local.restart();
        dynamodb_local
    })
    .await
    .unwrap();
    // THEN the same functions recover by themselves,
    assert_recovers(Duration::from_secs(20), "GET after the restart", || {
        todos.as_user(&token, "GET", "/todo_items", None)
    })
    .await;
    assert_recovers(
        Duration::from_secs(10),
        "SDK exchange after the restart",
        || sdk.exchange_token(user_token),
    )
    .await;
    // AND the data is whole: nothing lost, nothing duplicated, nothing written by halves.
    // (The write answered 503 while DynamoDB hung may have been applied when it woke up.)
    let first_user: Vec<String> = todos.stored_values(1).await;
    assert_eq!(&first_user[..2], ["before 1", "before 2"]);
    assert!(
        first_user[2..].iter().all(|v| v == "while hung"),
        "{first_user:?}"
    );
    assert_eq!(todos.counter(1).await, first_user.len() as u64);
    assert_nothing_half_written(&todos, &outcomes).await;
    // AND WHEN every add that was answered 503 is retried with its key, as a client would,
    // THEN it is stored exactly once, whether or not the first attempt had been applied.
    let mut retried = 0;
    for (user, value, status) in &outcomes {
        if *status == 503 {
            let response = todos.add_with_key(*user, value, value).await;
            assert_eq!(response.status(), 201, "retry of {value}");
            retried += 1;
        }
    }
    assert!(retried > 0, "some writes met the outage");
    let retried_outcomes: Outcomes = outcomes
        .iter()
        .map(|(user, value, _)| (*user, value.clone(), 201))
        .collect();
    assert_nothing_half_written(&todos, &retried_outcomes).await;
    assert_eq!(todos.add(1, "after").await.status(), 201);
    drop(dynamodb_local);
}

#[tokio::test]
async fn an_add_whose_answer_is_lost_is_answered_as_made_or_503_and_stored_once_when_retried_with_its_key()
 {
    // GIVEN the to-do API reaching DynamoDB Local through a proxy that can cut it off
    // mid-write: DynamoDB applies the write, the answer never arrives.
    let proxy = DynamoDbProxy::start(&service_setting(DYNAMODB_ENDPOINT)).await;
    let todos = fixture_on(
        &aws_with_dynamodb_at(&proxy.endpoint()),
        500,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        todos.add_with_key(1, "before", "k-before").await.status(),
        201
    );
    proxy.set_mode(ProxyMode::LoseWriteAnswers);
    // WHEN adds are made while their answers are lost, but reads still answer
    for value in ["keyed 1", "no key 1"] {
        let response = if value.starts_with("no key") {
            todos.add(1, value).await
        } else {
            todos.add_with_key(1, value, &value.replace(' ', "-")).await
        };
        // THEN the read after each shows it was made: 201, as made (not a replay)
        assert_eq!(response.status(), 201, "{value}: {}", text(&response));
        assert_eq!(header(&response, "idempotent-replayed"), None, "{value}");
    }
    // WHEN no answer arrives at all, reads included
    proxy.set_mode(ProxyMode::LoseEveryAnswer);
    for value in ["keyed 2", "no key 2"] {
        let response = if value.starts_with("no key") {
            todos.add(1, value).await
        } else {
            todos.add_with_key(1, value, &value.replace(' ', "-")).await
        };
        // THEN the client is told the service is unavailable, and when to retry
        assert_eq!(response.status(), 503, "{value}");
        assert_eq!(header(&response, "retry-after"), Some("1"), "{value}");
    }
    assert!(proxy.lost_answers() >= 4);
    // ... though DynamoDB stored every one of them.
    proxy.set_mode(ProxyMode::Forward);
    let stored: Vec<String> = todos.stored_values(1).await;
    assert_eq!(
        stored,
        ["before", "keyed 1", "no key 1", "keyed 2", "no key 2"]
    );
    // WHEN the connection is back and the client retries each keyed add as it was sent
    for value in ["keyed 1", "keyed 2"] {
        let response = todos.add_with_key(1, value, &value.replace(' ', "-")).await;
        // THEN an add with its key is answered as made, and not made again,
        assert_eq!(response.status(), 201, "{value}");
        assert_eq!(header(&response, "idempotent-replayed"), Some("true"));
    }
    // while an add without a key is made a second time (the reason the page sends keys).
    assert_eq!(todos.add(1, "no key 2").await.status(), 201);
    let stored: Vec<String> = todos.stored_values(1).await;
    assert_eq!(
        stored,
        [
            "before", "keyed 1", "no key 1", "keyed 2", "no key 2", "no key 2"
        ],
        "every keyed add is stored once"
    );
    assert_eq!(todos.counter(1).await, 6);
}

#[tokio::test]
async fn secrets_manager_unreachable_at_cold_start_is_a_503_then_success_without_a_restart() {
    // GIVEN moto's port reserved but nothing listening, and both functions that read secrets
    // built over it (their cold start happens while Secrets Manager is unreachable).
    let mut moto = LocalProcess::moto_not_started();
    let moto_aws = aws_with_secrets_manager_at(&moto.endpoint());
    let secrets = moto_aws.secrets_manager().unwrap();
    let zaf_secret = unique("zaf-public-key");
    let sdk_secret = unique("sdk-shared-secret");
    let sidebar = Sidebar::new(
        &SidebarConfig {
            secret_times: secret_times(Duration::from_secs(1)),
            ..sidebar_config(SecretLocation::SecretsManager(zaf_secret.clone()))
        },
        &moto_aws,
    )
    .unwrap();
    let sdk = fixture_with_inline_secret(&aws()).await;
    let exchange_fn = SdkExchange::new(
        &table_config(
            SecretLocation::SecretsManager(sdk_secret.clone()),
            Duration::from_secs(1),
            &sdk.table,
        ),
        &moto_aws,
    )
    .unwrap();
    sdk.register("secrets-fault-token", 3600, &[]).await;
    let zaf_token = valid_token();
    let open_sidebar = || open(&sidebar, &zaf_token);

    // THEN both answer 503 with a message, quickly.
    assert_503_within(DOWN_BOUND, "sidebar at cold start", open_sidebar()).await;
    assert_503_within(
        DOWN_BOUND,
        "SDK exchange at cold start",
        exchange_token(&exchange_fn, "secrets-fault-token"),
    )
    .await;

    // WHEN Secrets Manager comes up with the secrets,
    moto = tokio::task::spawn_blocking(move || {
        moto.restart();
        moto
    })
    .await
    .unwrap();
    create_named_secret(&secrets, &zaf_secret, keys().primary.public_pem()).await;
    create_named_secret(&secrets, &sdk_secret, SHARED_SECRET).await;
    // THEN the same functions succeed, without a restart.
    assert_recovers(Duration::from_secs(10), "sidebar", open_sidebar).await;
    assert_recovers(Duration::from_secs(10), "SDK exchange", || {
        exchange_token(&exchange_fn, "secrets-fault-token")
    })
    .await;

    // AND WHEN it goes away again past the TTL, the last good secrets keep serving.
    moto.kill();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    assert_eq!(open_sidebar().await.status(), 200);
    let response = exchange_token(&exchange_fn, "secrets-fault-token").await;
    assert_eq!(response.status(), 200);
    sdk_claims(&response, SHARED_SECRET);
    assert!(
        started.elapsed() < DOWN_BOUND * 2,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_jwks_is_slow_failing_or_closing_connections() {
    let f = fixture_with(500, Duration::ZERO).await;
    let token = token_for(3001);
    assert_eq!(
        f.as_user(&token, "GET", "/todo_items", None).await.status(),
        200
    );
    for mode in [
        JwksMode::Slow(Duration::from_secs(30)),
        JwksMode::Down,
        JwksMode::Close,
    ] {
        f.jwks.set_mode(mode.clone());
        // A known kid never waits for the JWKS.
        let started = Instant::now();
        assert_eq!(
            f.as_user(&token, "GET", "/todo_items", None).await.status(),
            200,
            "{mode:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{mode:?}: {:?}",
            started.elapsed()
        );
        // An unknown kid costs one failed refresh (at most the 2 s fetch timeout), then 401.
        let unknown = keys().rotated.sign(&devkeys::help_center_claims(3001, 300));
        let started = Instant::now();
        let refused = f.as_user(&unknown, "GET", "/todo_items", None).await;
        assert_eq!(refused.status(), 401, "{mode:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{mode:?}: {:?}",
            started.elapsed()
        );
        // The failed refresh kept the good keys.
        assert_eq!(
            f.as_user(&token, "GET", "/todo_items", None).await.status(),
            200,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_cold_cache_fails_fast_whatever_the_jwks_does() {
    // GIVEN the default JWKS settings (3 s timeout), for each fault at once.
    let cases = [
        JwksMode::Slow(Duration::from_secs(30)),
        JwksMode::Down,
        JwksMode::Close,
    ]
    .map(|mode| async move {
        let f = fixture_on(&aws(), 500, JwksSettings::default().cooldown).await;
        f.jwks.set_mode(mode.clone());
        let token = token_for(3002);
        let bound = JwksSettings::default().timeout + Duration::from_secs(1);
        // THEN the first request is a 503 within the fetch timeout,
        assert_503_within(
            bound,
            &format!("{mode:?}"),
            f.as_user(&token, "GET", "/todo_items", None),
        )
        .await;
        // AND the requests after it do not wait for the JWKS again.
        let started = Instant::now();
        for _ in 0..20 {
            assert_eq!(
                f.as_user(&token, "GET", "/todo_items", None).await.status(),
                503
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{mode:?}: {:?}",
            started.elapsed()
        );
        assert_eq!(f.jwks.hits(), 1, "{mode:?}");
    });
    futures::future::join_all(cases).await;
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_a_bounded_number_of_fetches_whatever_the_jwks_does() {
    let cooldown = Duration::from_secs(1);
    let cases = [
        JwksMode::Up,
        JwksMode::Down,
        JwksMode::Close,
        JwksMode::Slow(Duration::from_millis(500)),
    ]
    .map(|mode| async move {
        // GIVEN a warm cache,
        let f = Arc::new(fixture_with(500, cooldown).await);
        assert_eq!(f.list(3003).await.status(), 200);
        f.jwks.set_mode(mode.clone());
        // WHEN 300 tokens with made-up kids arrive over about 2.5 s,
        let started = Instant::now();
        for wave in 0..5 {
            let requests = (0..60).map(|i| {
                let f = f.clone();
                async move {
                    let token = sign_with(
                        jsonwebtoken::Algorithm::RS256,
                        keys().rogue.encoding_key(),
                        Some(&format!("made-up-{wave}-{i}")),
                        &devkeys::help_center_claims(3003, 300),
                    );
                    f.as_user(&token, "GET", "/todo_items", None)
                        .await
                        .status()
                        .as_u16()
                }
            });
            let statuses = futures::future::join_all(requests).await;
            assert!(statuses.iter().all(|s| *s == 401), "{mode:?}: {statuses:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // THEN the JWKS was fetched at most once per cool-down (plus the warm-up).
        let periods = (started.elapsed().as_secs_f64() / cooldown.as_secs_f64()).ceil() as usize;
        assert!(
            f.jwks.hits() <= 1 + periods,
            "{mode:?}: {} fetches in {:?}",
            f.jwks.hits(),
            started.elapsed()
        );
    });
    futures::future::join_all(cases).await;
}
