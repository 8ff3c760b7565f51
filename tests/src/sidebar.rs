//! The sidebar function over moto's Secrets Manager, and what its tests send: Zendesk's signed
//! POST of the app's start page.

use std::time::Duration;

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use sidebar::{Sidebar, SidebarConfig};
use zendesk_jwt::devkeys::zaf_claims;
use zendesk_jwt::lambda::secrets::SecretLocation;

use crate::events::request;
use crate::services::{aws, create_secret, secrets_manager};
use crate::tokens::keys;
use crate::{INSTALLATION_ID, SUBDOMAIN};

/// The start page's address as Zendesk fills it in (`origin` and `app_guid`).
pub const PAGE: &str =
    "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=0f1e2d3c-aaaa-bbbb-cccc-000000000001";

/// The sidebar's configuration for the test account, with the app's public key at `public_key`.
pub fn config(public_key: SecretLocation) -> SidebarConfig {
    SidebarConfig {
        subdomain: SUBDOMAIN.into(),
        installation_id: INSTALLATION_ID,
        public_key,
        secret_times: crate::services::secret_times(Duration::from_secs(300)),
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
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
