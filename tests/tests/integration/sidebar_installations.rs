//! The sidebar's installations in table mode: which installations open the start page and the
//! API, and how their records are read, cached and kept when DynamoDB fails.

use std::time::Duration;

use integration_tests::INSTALLATION_ID as INSTALLATION;
use integration_tests::dynamodb_proxy::{DynamoDbProxy, one_request};
use integration_tests::events::{header, message, text};
use integration_tests::processes::{LocalProcess, free_port};
use integration_tests::services::{DYNAMODB_ENDPOINT, aws_with_dynamodb_at, service_setting};
use integration_tests::sidebar::{
    APP_GUID, AppFixture, MINUTE, Mode, TEN_MINUTES, acme, app_fixture, app_fixture_on, globex,
    record,
};
use integration_tests::tokens::keys;
use serde_json::json;
use sidebar::Sidebar;
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::devkeys;

/// THEN the response is the 403 page that names the installation, with no script and no session.
fn assert_not_enabled_page(
    response: &lambda_http::Response<lambda_http::Body>,
    installation: &ZafInstallation,
) {
    assert_eq!(response.status(), 403, "{installation}: {}", text(response));
    let page = text(response);
    assert!(page.contains("App not enabled"), "{page}");
    assert!(
        page.contains(&format!(
            "{}.zendesk.com (app installation {})",
            installation.subdomain(),
            installation.installation_id()
        )),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("data-session"), "{page}");
    assert!(
        header(response, "content-security-policy")
            .unwrap()
            .contains("script-src 'none'")
    );
}

#[tokio::test]
async fn in_table_mode_an_enabled_installation_opens_and_an_unknown_or_disabled_one_gets_a_403_page()
 {
    // GIVEN table mode with acme#1 enabled, acme#2 disabled and acme#3 unknown.
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    let enabled = ZafInstallation::new("acme", 1).unwrap();
    let disabled = ZafInstallation::new("acme", 2).unwrap();
    let unknown = ZafInstallation::new("acme", 3).unwrap();
    app.enable(&enabled).await;
    app.add(&disabled, record(false, "Disabled", json!({})))
        .await;
    // WHEN each opens the app, THEN only the enabled one gets the start page.
    let page = app.open_as(&enabled, APP_GUID).await;
    assert_eq!(page.status(), 200, "{}", text(&page));
    assert!(text(&page).contains("ZAFClient.init("));
    assert_not_enabled_page(&app.open_as(&disabled, APP_GUID).await, &disabled);
    assert_not_enabled_page(&app.open_as(&unknown, APP_GUID).await, &unknown);
}

#[tokio::test]
async fn in_table_mode_any_account_in_the_table_opens_but_only_with_an_iss_and_aud_that_agree() {
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    app.enable(&acme()).await;
    app.enable(&globex()).await;
    assert_eq!(app.open_as(&acme(), APP_GUID).await.status(), 200);
    assert_eq!(app.open_as(&globex(), APP_GUID).await.status(), 200);
    // A token whose iss names one account and whose aud names another's installation is not
    // Zendesk's: refused like any invalid token, though both installations are enabled.
    let mut mixed = devkeys::zaf_claims("acme", 7, 300);
    mixed["aud"] = json!(globex().audience());
    let mut mixed_other_way = devkeys::zaf_claims("globex", INSTALLATION, 300);
    mixed_other_way["aud"] = json!(acme().audience());
    for (case, claims) in [
        ("iss acme, aud globex#7", mixed),
        ("iss globex, aud acme", mixed_other_way),
    ] {
        let response =
            integration_tests::sidebar::open(&app.sidebar, &keys().primary.sign(&claims)).await;
        assert_eq!(response.status(), 401, "{case}");
        assert!(text(&response).contains("Not signed in"), "{case}");
    }
}

#[tokio::test]
async fn table_mode_with_zendesk_subdomain_serves_only_that_accounts_installations() {
    let app = app_fixture(Mode::Table(Some("acme")), MINUTE, TEN_MINUTES).await;
    app.enable(&acme()).await;
    app.enable(&globex()).await;
    assert_eq!(app.open_as(&acme(), APP_GUID).await.status(), 200);
    // globex is in the table, but the deployment is acme's: its token is not for this app.
    let response = app.open_as(&globex(), APP_GUID).await;
    assert_eq!(response.status(), 401, "{}", text(&response));
}

#[tokio::test]
async fn a_disabled_installation_is_refused_within_the_cache_time_on_the_page_and_the_api() {
    // GIVEN an enabled installation with a session and a note, records cached for 1 s.
    let app = app_fixture(Mode::Table(None), Duration::from_secs(1), TEN_MINUTES).await;
    app.enable(&acme()).await;
    let session = app.session_for(&acme()).await;
    assert_eq!(
        app.save_note(&session, 42, "Call back", 0).await.status(),
        200
    );
    // WHEN the admin disables it
    app.admin.set_enabled(&acme(), false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // THEN the page is a 403 and every API call too, the still-valid session included.
    assert_not_enabled_page(&app.open_as(&acme(), APP_GUID).await, &acme());
    for response in [
        app.read_note(&session, 42).await,
        app.save_note(&session, 42, "Changed", 1).await,
        app.settings(&session).await,
    ] {
        assert_eq!(response.status(), 403, "{}", text(&response));
        assert_eq!(
            message(&response),
            "This app is not enabled for this Zendesk account"
        );
    }
    let item = app.note_item(&acme(), 42).await.unwrap();
    assert_eq!(
        item["note"].as_s().unwrap(),
        "Call back",
        "nothing was written"
    );
    // AND enabled again, it works again with the same session.
    app.admin.set_enabled(&acme(), true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.read_note(&session, 42).await.status(), 200);
    assert_eq!(app.open_as(&acme(), APP_GUID).await.status(), 200);
}

#[tokio::test]
async fn installation_records_are_read_once_per_cache_time_and_one_at_a_time() {
    let proxy = DynamoDbProxy::start(&service_setting(DYNAMODB_ENDPOINT)).await;
    let aws = aws_with_dynamodb_at(&proxy.endpoint());
    let app = app_fixture_on(&aws, Mode::Table(None), MINUTE, TEN_MINUTES).await;
    app.enable(&acme()).await;
    // WHEN twenty pages open at once on a cold cache, and ten more after them
    let before = proxy.requests();
    let installation = acme();
    let opens: Vec<_> = (0..20)
        .map(|_| app.open_as(&installation, APP_GUID))
        .collect();
    for response in futures::future::join_all(opens).await {
        assert_eq!(response.status(), 200);
    }
    for _ in 0..10 {
        assert_eq!(app.open_as(&acme(), APP_GUID).await.status(), 200);
    }
    // THEN the record was read once.
    let gets = proxy.requests().get("GetItem").copied().unwrap_or(0)
        - before.get("GetItem").copied().unwrap_or(0);
    assert_eq!(gets, 1, "{:?}", proxy.requests());
    // AND every API call makes one DynamoDB request: settings read the record itself, notes
    // their own item (the record's check is cached).
    let session = app.session_for(&acme()).await;
    assert_eq!(
        proxy.status_and_requests(app.settings(&session)).await,
        (200, one_request("GetItem"))
    );
    assert_eq!(
        proxy.status_and_requests(app.read_note(&session, 5)).await,
        (200, one_request("GetItem"))
    );
    // A new note is one transaction (the note and the installation's note count), a change of
    // one a single UpdateItem.
    assert_eq!(
        proxy
            .status_and_requests(app.save_note(&session, 5, "x", 0))
            .await,
        (200, one_request("TransactWriteItems"))
    );
    assert_eq!(
        proxy
            .status_and_requests(app.save_note(&session, 5, "y", 0))
            .await,
        (409, one_request("TransactWriteItems"))
    );
    assert_eq!(
        proxy
            .status_and_requests(app.save_note(&session, 5, "y", 1))
            .await,
        (200, one_request("UpdateItem"))
    );
}

#[tokio::test]
async fn without_dynamodb_the_page_is_a_503_and_with_a_cached_record_it_still_opens() {
    // GIVEN the sidebar with nothing listening where DynamoDB should be: nothing cached, so a
    // 503 page, at once.
    let app = app_fixture(Mode::Table(None), MINUTE, TEN_MINUTES).await;
    app.enable(&acme()).await;
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let cut_off = AppFixture {
        sidebar: Sidebar::new(&app.config, &aws_with_dynamodb_at(&nowhere)).unwrap(),
        ..app
    };
    let started = std::time::Instant::now();
    let response = cut_off.open_as(&acme(), APP_GUID).await;
    assert_eq!(response.status(), 503, "{}", text(&response));
    assert!(text(&response).contains("Temporarily unavailable"));
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    // GIVEN a DynamoDB of the test's own, the record cached (a 1 s cache), then DynamoDB killed
    let mut dynamodb = LocalProcess::dynamodb();
    let app = app_fixture_on(
        &aws_with_dynamodb_at(&dynamodb.endpoint()),
        Mode::Table(None),
        Duration::from_secs(1),
        TEN_MINUTES,
    )
    .await;
    app.enable(&acme()).await;
    assert_eq!(app.open_as(&acme(), APP_GUID).await.status(), 200);
    dynamodb.kill();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // THEN the last good record keeps the app open (the failed refresh is logged).
    for _ in 0..3 {
        assert_eq!(app.open_as(&acme(), APP_GUID).await.status(), 200);
    }
}
