//! The sidebar function over moto's Secrets Manager (and, for the app's API and table mode,
//! DynamoDB Local), and what its tests send: Zendesk's signed POST of the app's start page, and
//! the page's calls to `/sidebar/api/…` with the session it carries.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use sidebar::admin::InstallationAdmin;
use sidebar::store::{InstallationRecord, PARTITION_KEY, SORT_KEY};
use sidebar::{Installations, SessionConfig, Sidebar, SidebarConfig};
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::devkeys::zaf_claims;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::secrets::SecretLocation;

use crate::events::{header, message, request, text};
use crate::services::{aws, create_secret, secrets_manager, unique};
use crate::tokens::{keys, unverified_claims};
use crate::{INSTALLATION_ID, SUBDOMAIN};

/// The `app_guid` Zendesk puts in the start page's address in these tests.
pub const APP_GUID: &str = "0f1e2d3c-aaaa-bbbb-cccc-000000000001";

/// The start page's address as Zendesk fills it in (`origin` and `app_guid`).
pub const PAGE: &str =
    "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=0f1e2d3c-aaaa-bbbb-cccc-000000000001";

/// The sidebar's configuration for the test account, with the app's public key at `public_key`.
pub fn config(public_key: SecretLocation) -> SidebarConfig {
    SidebarConfig {
        installations: Installations::Single(
            ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap(),
        ),
        public_key,
        secret_times: crate::services::secret_times(Duration::from_secs(300)),
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
        clock: zendesk_jwt::clock::Clock::system(),
        table: None,
        installation_cache: Duration::from_secs(60),
        sessions: None,
        max_notes: sidebar::store::DEFAULT_MAX_NOTES,
    }
}

/// GIVEN the app's public key stored in Secrets Manager.
pub async fn sidebar_from_secrets_manager() -> Sidebar {
    let id = create_secret(&secrets_manager(), keys().primary.public_pem()).await;
    Sidebar::new(&config(SecretLocation::SecretsManager(id)), &aws())
        .expect("the sidebar is configured")
}

/// A POST of `form` (none: an empty body) to `page`, as a form.
pub fn post(page: &str, form: Option<&str>) -> Request {
    request(
        "POST",
        page,
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
}

/// `token=<token>`, URL-encoded.
pub fn token_form(token: &str) -> String {
    serde_urlencoded::to_string([("token", token)]).unwrap()
}

/// Open the start page with `token`, as Zendesk does.
pub async fn open(sidebar: &Sidebar, token: &str) -> Response<Body> {
    sidebar.handle(post(PAGE, Some(&token_form(token)))).await
}

/// Claims the sidebar accepts: the test app installation, for five minutes.
pub fn valid_claims() -> Value {
    zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300)
}

/// `claims` signed with the app's key.
pub fn zaf_token(claims: &Value) -> String {
    keys().primary.sign(claims)
}

/// A token the sidebar accepts.
pub fn valid_token() -> String {
    zaf_token(&valid_claims())
}

/// The test app installation ([`SUBDOMAIN`], [`INSTALLATION_ID`]).
pub fn acme() -> ZafInstallation {
    ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap()
}

/// A token of `installation`, signed with the app's key (one key for every installation).
pub fn token_of(installation: &ZafInstallation) -> String {
    zaf_token(&zaf_claims(
        installation.subdomain(),
        installation.installation_id(),
        300,
    ))
}

/// How the app fixture serves installations.
pub enum Mode {
    /// `ZAF_INSTALLATIONS=single`: the test installation ([`acme`]).
    Single,
    /// `ZAF_INSTALLATIONS=table`, of any account, or of one with `ZENDESK_SUBDOMAIN`.
    Table(Option<&'static str>),
}

/// The sidebar with sessions, its table and the keys behind it.
pub struct AppFixture {
    /// The function.
    pub sidebar: Sidebar,
    /// Its table (installations and notes).
    pub table: String,
    /// A client for the DynamoDB the function uses.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The admin operations on the table, as the `installations` command makes them.
    pub admin: InstallationAdmin,
    /// The session key (also stored in moto's Secrets Manager, where the function reads it).
    pub session_key: String,
    /// The configuration it was built from.
    pub config: SidebarConfig,
}

/// A fresh sidebar table, as the template makes it (partition key `pk`, sort key `sk`, the index
/// of installation records), in the DynamoDB of `aws`.
pub async fn create_sidebar_table(dynamodb: &aws_sdk_dynamodb::Client) -> String {
    let name = unique("sidebar");
    devserver::dev::create_sidebar_table(dynamodb, &name)
        .await
        .unwrap_or_else(|e| panic!("DynamoDB Local refused CreateTable: {e}"));
    name
}

/// GIVEN the sidebar in `mode` with sessions of `session_ttl`, installation records cached for
/// `cache`, both keys in Secrets Manager, over a fresh table of the local DynamoDB.
pub async fn app_fixture(mode: Mode, cache: Duration, session_ttl: Duration) -> AppFixture {
    app_fixture_on(&aws(), mode, cache, session_ttl).await
}

/// The same over the DynamoDB that `aws` reaches.
pub async fn app_fixture_on(
    aws: &Aws,
    mode: Mode,
    cache: Duration,
    session_ttl: Duration,
) -> AppFixture {
    let dynamodb = aws.dynamodb().expect("a DynamoDB client");
    let table = create_sidebar_table(&dynamodb).await;
    let session_key = unique("session-key-that-is-long-enough");
    let secrets = secrets_manager();
    let public_key = create_secret(&secrets, keys().primary.public_pem()).await;
    let session_secret = create_secret(&secrets, &session_key).await;
    let installations = match mode {
        Mode::Single => Installations::Single(acme()),
        Mode::Table(subdomain) => Installations::Table {
            subdomain: subdomain.map(str::to_owned),
        },
    };
    let config = SidebarConfig {
        installations,
        table: Some(table.clone()),
        installation_cache: cache,
        sessions: Some(SessionConfig {
            key: SecretLocation::SecretsManager(session_secret),
            ttl: session_ttl,
        }),
        ..config(SecretLocation::SecretsManager(public_key))
    };
    AppFixture {
        sidebar: Sidebar::new(&config, aws).expect("the sidebar is configured"),
        admin: InstallationAdmin::new(dynamodb.clone(), table.clone()),
        table,
        dynamodb,
        session_key,
        config,
    }
}

/// An installation record, enabled or not, with a name and these settings.
pub fn record(enabled: bool, name: &str, settings: Value) -> InstallationRecord {
    InstallationRecord {
        enabled,
        name: name.to_owned(),
        settings: settings.as_object().cloned().unwrap_or_default(),
    }
}

/// The session a start page carries (its `data-session`); fails when it has none.
pub fn session_of(page: &Response<Body>) -> String {
    let html = text(page);
    let start = html
        .find("data-session=\"")
        .unwrap_or_else(|| panic!("the page carries no session: {html}"))
        + "data-session=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// The claims of a session, read without checking anything.
pub fn session_claims(session: &str) -> Value {
    unverified_claims(session)
}

impl AppFixture {
    /// GIVEN `installation` in the table with `record`.
    pub async fn add(&self, installation: &ZafInstallation, record: InstallationRecord) {
        self.admin
            .add(installation, &record)
            .await
            .unwrap_or_else(|e| panic!("adding {installation}: {e}"));
    }

    /// GIVEN `installation` enabled in the table.
    pub async fn enable(&self, installation: &ZafInstallation) {
        self.add(installation, record(true, "Test", json!({})))
            .await;
    }

    /// Open the start page of `installation` at `app_guid`, as Zendesk does.
    pub async fn open_as(&self, installation: &ZafInstallation, app_guid: &str) -> Response<Body> {
        let page = format!(
            "/sidebar?origin=https%3A%2F%2F{}.zendesk.com&app_guid={}",
            installation.subdomain(),
            zendesk_jwt::verify::encode_uri_component(app_guid)
        );
        self.sidebar
            .handle(post(&page, Some(&token_form(&token_of(installation)))))
            .await
    }

    /// The session the start page of `installation` at [`APP_GUID`] carries.
    pub async fn session_for(&self, installation: &ZafInstallation) -> String {
        let page = self.open_as(installation, APP_GUID).await;
        assert_eq!(page.status(), 200, "{}", text(&page));
        session_of(&page)
    }

    /// A call of the app's API, as the start page makes it: `session` as the bearer token and
    /// `app_guid` in `X-App-Guid` (as `encodeURIComponent` writes it), each only when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        session: Option<&str>,
        app_guid: Option<&str>,
        body: Option<&str>,
    ) -> Response<Body> {
        let auth = session.map(|s| format!("Bearer {s}"));
        let guid = app_guid.map(zendesk_jwt::verify::encode_uri_component);
        let mut headers = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("authorization", auth.as_str()));
        }
        if let Some(guid) = &guid {
            headers.push(("x-app-guid", guid.as_str()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.sidebar
            .handle(request(method, path, &headers, body))
            .await
    }

    /// Any request to the function, with these headers (none added).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response<Body> {
        self.sidebar
            .handle(request(method, path, headers, body))
            .await
    }

    /// `GET` the note of `ticket` with `session` (made for [`APP_GUID`]).
    pub async fn read_note(&self, session: &str, ticket: u64) -> Response<Body> {
        let path = format!("/sidebar/api/tickets/{ticket}/note");
        self.call("GET", &path, Some(session), Some(APP_GUID), None)
            .await
    }

    /// `PUT` `note` as the note of `ticket`, replacing `version`, with `session`.
    pub async fn save_note(
        &self,
        session: &str,
        ticket: u64,
        note: &str,
        version: u64,
    ) -> Response<Body> {
        let path = format!("/sidebar/api/tickets/{ticket}/note");
        let body = json!({ "note": note, "version": version }).to_string();
        self.call("PUT", &path, Some(session), Some(APP_GUID), Some(&body))
            .await
    }

    /// `GET /sidebar/api/settings` with `session`.
    pub async fn settings(&self, session: &str) -> Response<Body> {
        self.call(
            "GET",
            "/sidebar/api/settings",
            Some(session),
            Some(APP_GUID),
            None,
        )
        .await
    }

    /// The item of `ticket`'s note of `installation`, straight from the table.
    pub async fn note_item(
        &self,
        installation: &ZafInstallation,
        ticket: u64,
    ) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, AttributeValue::S(installation.to_string()))
            .key(SORT_KEY, AttributeValue::S(format!("note#{ticket}")))
            .consistent_read(true)
            .send()
            .await
            .expect("DynamoDB Local answers GetItem")
            .item
    }

    /// The note count of `installation` (its `usage` item), straight from the table.
    pub async fn note_count(&self, installation: &ZafInstallation) -> Option<u64> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, AttributeValue::S(installation.to_string()))
            .key(
                SORT_KEY,
                AttributeValue::S(sidebar::store::USAGE_ITEM.into()),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("DynamoDB Local answers GetItem")
            .item?;
        item.get("note_count")?.as_n().ok()?.parse().ok()
    }

    /// Every item of the table, straight from it.
    pub async fn all_items(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .expect("DynamoDB Local answers Scan")
            .items
            .unwrap_or_default()
    }
}

/// A minute, as the tests move clocks and caches.
pub const MINUTE: Duration = Duration::from_secs(60);
/// Ten minutes.
pub const TEN_MINUTES: Duration = Duration::from_secs(600);

/// The second account's installation in the table-mode fixtures.
pub fn globex() -> ZafInstallation {
    ZafInstallation::new("globex", 7).unwrap()
}

/// THEN the response is the API's 401, with the bearer challenge.
pub fn assert_unauthenticated(response: &lambda_http::Response<lambda_http::Body>, case: &str) {
    assert_eq!(response.status(), 401, "{case}: {}", text(response));
    assert_eq!(
        header(response, "www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{case}"
    );
    assert_eq!(
        message(response),
        "Invalid or expired session; reopen the app",
        "{case}"
    );
}
