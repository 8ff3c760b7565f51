//! The `sidebar` function: Zendesk's Apps Framework POSTs the app's initial page with a signed
//! JWT (`"signedUrls": true` in the manifest); this verifies it and serves the start page, and
//! serves the app's own API to that page.
//!
//! `POST /sidebar?origin=…&app_guid=…` with form field `token`:
//! * valid token of an installation this deployment serves: 200 `text/html`, the start page that
//!   loads the ZAF SDK (with a session for the API, when sessions are on);
//! * otherwise an error page with the status of its [`SidebarError`]: no token 400, any invalid
//!   token 401, an installation that is not enabled 403, our own failure 503.
//!
//! `/sidebar/api/…` (see [`api`]): JSON, authenticated by the session; 404 when sessions are off.
//!
//! [`config`] holds the settings, [`error`] every page failure, [`api`] the API's routes and
//! failures, [`installations`] which installations are served, [`store`] the DynamoDB table,
//! [`pages`] the HTML; [`admin`] the changes the `installations` admin command makes.

pub mod admin;
pub mod api;
pub mod config;
pub mod error;
pub mod installations;
pub mod pages;
pub mod store;

use std::sync::Arc;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::env::ConfigError;
use zendesk_jwt::lambda::http::read_form;
use zendesk_jwt::lambda::metrics::{Function, Metrics, answer};
use zendesk_jwt::lambda::runtime;
use zendesk_jwt::lambda::secrets::{SecretCache, SecretTimes};
use zendesk_jwt::verify::MAX_APP_GUID_BYTES;
use zendesk_jwt::{DecodingKey, Session, SessionKey, ZafVerifier, parse_rsa_public_key_pem};

pub use config::{Installations, SessionConfig, SidebarConfig};
use error::{ApiError, SidebarError};

use api::Api;
use installations::{Admission, InstallationGate};
use store::SidebarStore;

/// The sidebar handler and what it keeps between invocations.
pub struct Sidebar {
    clock: Clock,
    verifier: ZafVerifier,
    public_key: SecretCache<DecodingKey>,
    gate: InstallationGate,
    /// The app's API and the sessions it takes; `None` when no session key is configured.
    api: Option<Api>,
    /// The table (installations, notes); `None` when none is configured.
    store: Option<Arc<SidebarStore>>,
    metrics: Metrics,
}

/// The form Zendesk POSTs.
#[derive(Deserialize)]
struct TokenForm {
    token: Option<String>,
}

/// The page URL's query, which Zendesk fills and `ZAFClient.init()` reads back.
#[derive(Default, Deserialize)]
struct PageQuery {
    origin: Option<String>,
    app_guid: Option<String>,
}

impl Sidebar {
    /// Build the handler; AWS clients come from `aws` for what lives there (the keys in Secrets
    /// Manager, the table in DynamoDB).
    pub fn new(config: &SidebarConfig, aws: &Aws) -> Result<Self, ConfigError> {
        let metrics = Metrics::stdout(config.metrics_namespace.clone(), Function::Sidebar);
        Self::counting_in(metrics, config, aws)
    }

    /// The same, counting requests and key reads in `metrics` (tests capture them; the local
    /// server discards them).
    pub fn counting_in(
        metrics: Metrics,
        config: &SidebarConfig,
        aws: &Aws,
    ) -> Result<Self, ConfigError> {
        let verifier = match &config.installations {
            Installations::Single(installation) => {
                ZafVerifier::new(installation.clone(), config.leeway, config.clock.clone())
            }
            Installations::Table { subdomain } => ZafVerifier::any_installation(
                subdomain.as_deref(),
                config.leeway,
                config.clock.clone(),
            ),
        };
        let store = match &config.table {
            Some(table) => Some(Arc::new(SidebarStore::new(
                aws.dynamodb()?,
                table,
                config.max_notes,
                config.clock.clone(),
            ))),
            None => None,
        };
        let api = match (&config.sessions, &store) {
            (Some(sessions), Some(store)) => Some(Api {
                clock: config.clock.clone(),
                key: SecretCache::new(
                    &sessions.key,
                    aws,
                    config.secret_times,
                    config.clock.clone(),
                    SessionKey::parse,
                )?
                .with_metrics(metrics.clone()),
                ttl: sessions.ttl,
                store: store.clone(),
            }),
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "SIDEBAR_TABLE",
                    "is required with sessions (SESSION_KEY_SECRET_ID or SESSION_KEY)",
                ));
            }
            (None, _) => None,
        };
        let cache_times = SecretTimes {
            ttl: config.installation_cache,
            retry: config.secret_times.retry,
        };
        Ok(Self {
            clock: config.clock.clone(),
            verifier,
            public_key: SecretCache::new(
                &config.public_key,
                aws,
                config.secret_times,
                config.clock.clone(),
                parse_rsa_public_key_pem,
            )?
            .with_metrics(metrics.clone()),
            gate: InstallationGate::new(
                config.installations.clone(),
                store.clone(),
                cache_times,
                config.clock.clone(),
            ),
            api,
            store,
            metrics,
        })
    }

    /// What the first request needs, fetched ahead of it ([`runtime::Function::prefetch`]):
    /// the app's public key, the session key and the connection to the table.
    pub async fn prefetch(&self) {
        let session_key = async {
            if let Some(api) = &self.api
                && let Err(error) = api.key.get().await
            {
                runtime::prefetch_failed("the session key", &error);
            }
        };
        let table = async {
            if let Some(store) = &self.store
                && let Err(error) = store.open_connection().await
            {
                runtime::prefetch_failed("the connection to the table", &error);
            }
        };
        let public_key = async {
            if let Err(error) = self.public_key.get().await {
                runtime::prefetch_failed("the app's public key", &error);
            }
        };
        tokio::join!(public_key, session_key, table);
    }

    /// Answer one request, and count it. Every expected failure is a response; this never
    /// fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let response = match api::api_path(req.uri().path()) {
            Some(rest) => answer(self.api(&req, rest).await),
            None => answer(self.start(&req).await),
        };
        self.metrics.count(response)
    }

    async fn api(&self, req: &Request, rest: &str) -> Result<Response<Body>, ApiError> {
        match &self.api {
            Some(api) => api.respond(req, rest, &self.gate).await,
            None => Err(ApiError::NotFound("Not found")),
        }
    }

    async fn start(&self, req: &Request) -> Result<Response<Body>, SidebarError> {
        if req.method() != Method::POST {
            return Err(SidebarError::MethodNotAllowed);
        }
        let form: TokenForm = read_form(req)?;
        let Some(token) = form.token.filter(|t| !t.is_empty()) else {
            tracing::debug!("sidebar request without a token");
            return Err(SidebarError::MissingToken);
        };
        let query: PageQuery =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
        // ZAFClient.init() needs both; an empty one is as good as none.
        let present = |value: Option<String>| value.filter(|v| !v.is_empty());
        let (Some(origin), Some(app_guid)) = (present(query.origin), present(query.app_guid))
        else {
            return Err(SidebarError::MissingPageParameters);
        };
        if self.api.is_some() && app_guid.len() > MAX_APP_GUID_BYTES {
            return Err(SidebarError::AppGuidTooLong);
        }
        let unavailable = |error: &dyn std::fmt::Display, what: &str| {
            tracing::error!(%error, "{what} is unavailable");
            SidebarError::KeyUnavailable
        };
        let (key, session_key) = match &self.api {
            Some(api) => {
                let (key, session_key) = tokio::join!(self.public_key.get(), api.key.get());
                let session_key = session_key.map_err(|e| unavailable(&e, "the session key"))?;
                (key, Some(session_key))
            }
            None => (self.public_key.get().await, None),
        };
        let key = key.map_err(|e| unavailable(&e, "the app's public key"))?;
        let verified = self.verifier.verify(&token, &key).map_err(|reason| {
            tracing::debug!(%reason, "sidebar token refused");
            SidebarError::from(reason)
        })?;
        let installation = &verified.installation;
        match self.gate.admit(installation).await {
            Ok(Admission::Enabled(_)) => {}
            Ok(Admission::NotEnabled) => {
                tracing::info!(%installation, "sidebar opened by an installation that is not enabled");
                return Err(SidebarError::NotEnabled(installation.clone()));
            }
            Err(error) => return Err(unavailable(&error, "the installation's record")),
        }
        let session = match (&self.api, session_key) {
            (Some(api), Some(key)) => {
                Some(Session::for_page(&verified, &app_guid, api.ttl, &self.clock).sign(&key))
            }
            _ => None,
        };
        Ok(pages::start_page(&origin, &app_guid, session.as_deref()))
    }
}

impl zendesk_jwt::lambda::runtime::Function for Sidebar {
    type Config = SidebarConfig;

    fn config() -> Result<SidebarConfig, ConfigError> {
        SidebarConfig::from_env()
    }

    fn build(config: &SidebarConfig, aws: &Aws) -> Result<Self, ConfigError> {
        Self::new(config, aws)
    }

    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send {
        Sidebar::handle(self, req)
    }

    fn prefetch(&self) -> impl Future<Output = ()> + Send {
        Sidebar::prefetch(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zendesk_jwt::devkeys::{DevKey, zaf_claims};

    const SUBDOMAIN: &str = "acme";
    const INSTALLATION: u64 = 360_001;
    const PAGE: &str = "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc-123";

    /// GIVEN a sidebar whose key is given inline (no AWS needed).
    fn sidebar(key: &DevKey) -> Sidebar {
        let vars = vec![
            ("ZENDESK_SUBDOMAIN", SUBDOMAIN.to_owned()),
            ("ZAF_APP_INSTALLATION_ID", INSTALLATION.to_string()),
            ("ZAF_PUBLIC_KEY_PEM", key.public_pem().to_owned()),
        ];
        let config = SidebarConfig::from_vars(&vars).unwrap();
        let no_aws: Vec<(&str, String)> = vec![];
        Sidebar::new(&config, &Aws::from_vars(&no_aws)).unwrap()
    }

    fn post(path: &str, content_type: &str, body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", content_type)
            .body(Body::Text(body.to_owned()))
            .unwrap()
    }

    fn form(token: &str) -> String {
        serde_urlencoded::to_string([("token", token)]).unwrap()
    }

    #[tokio::test]
    async fn a_valid_token_opens_the_start_page_and_anything_else_an_error_page() {
        let key = DevKey::generate("zaf");
        let sidebar = sidebar(&key);
        let valid = key.sign(&zaf_claims(SUBDOMAIN, INSTALLATION, 60));
        let form_type = "application/x-www-form-urlencoded";
        let ok = sidebar.handle(post(PAGE, form_type, &form(&valid))).await;
        assert_eq!(ok.status(), 200);
        let other_installation = key.sign(&zaf_claims(SUBDOMAIN, INSTALLATION + 1, 60));
        let rogue = DevKey::generate("zaf").sign(&zaf_claims(SUBDOMAIN, INSTALLATION, 60));
        let cases: [(&str, Request, u16); 10] = [
            (
                "GET",
                {
                    let mut get = post(PAGE, form_type, "");
                    *get.method_mut() = Method::GET;
                    get
                },
                405,
            ),
            ("JSON body", post(PAGE, "application/json", "{}"), 400),
            ("no token", post(PAGE, form_type, ""), 400),
            (
                "repeated token",
                post(
                    PAGE,
                    form_type,
                    &format!("{}&{}", form(&valid), form(&valid)),
                ),
                400,
            ),
            (
                "no app_guid",
                post("/sidebar?origin=x", form_type, &form(&valid)),
                400,
            ),
            (
                "empty origin",
                post("/sidebar?origin=&app_guid=x", form_type, &form(&valid)),
                400,
            ),
            (
                "empty app_guid",
                post("/sidebar?origin=x&app_guid=", form_type, &form(&valid)),
                400,
            ),
            (
                "another installation",
                post(PAGE, form_type, &form(&other_installation)),
                401,
            ),
            ("rogue key", post(PAGE, form_type, &form(&rogue)), 401),
            (
                "oversized",
                post(PAGE, form_type, &"a".repeat(17 * 1024)),
                413,
            ),
        ];
        for (case, request, status) in cases {
            let response = sidebar.handle(request).await;
            assert_eq!(response.status(), status, "{case}");
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap();
            assert!(csp.contains("script-src 'none'"), "{case}: an error page");
        }
    }
}
