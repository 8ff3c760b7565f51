//! The `sidebar` function: Zendesk's Apps Framework POSTs the app's initial page with a signed
//! JWT (`"signedUrls": true` in the manifest); this verifies it and serves the start page.
//!
//! `POST /sidebar?origin=…&app_guid=…` with form field `token`:
//! * valid token: 200 `text/html`, the start page that loads the ZAF SDK;
//! * otherwise an error page with the status of its [`SidebarError`]: no token 400, any invalid
//!   token 401, our own failure 503.
//!
//! [`config`] holds the settings, [`error`] every failure answer, [`pages`] the HTML.

pub mod config;
pub mod error;
pub mod pages;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::env::ConfigError;
use zendesk_jwt::lambda::http::read_form;
use zendesk_jwt::lambda::metrics::{Function, Metrics, Outcome};
use zendesk_jwt::lambda::secrets::SecretCache;
use zendesk_jwt::{DecodingKey, ZafVerifier, parse_rsa_public_key_pem};

pub use config::SidebarConfig;
pub use error::SidebarError;
pub use pages::ZAF_SDK_URL;

/// The sidebar handler and what it keeps between invocations.
pub struct Sidebar {
    verifier: ZafVerifier,
    public_key: SecretCache<DecodingKey>,
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
    /// Build the handler; a Secrets Manager client comes from `aws` when the key lives there.
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
        Ok(Self {
            verifier: ZafVerifier::new(&config.subdomain, config.installation_id, config.leeway),
            public_key: SecretCache::new(
                &config.public_key,
                aws,
                config.secret_times,
                parse_rsa_public_key_pem,
            )?
            .with_metrics(metrics.clone()),
            metrics,
        })
    }

    /// Answer one request, and count it. Every expected failure is a response; this never
    /// fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.start(&req).await {
            Ok(response) => {
                self.metrics.request(Outcome::Accepted);
                response
            }
            Err(error) => {
                self.metrics.request(error.outcome());
                error.into_response()
            }
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
        let key = self.public_key.get().await.map_err(|error| {
            tracing::error!(%error, "the app's public key is unavailable");
            SidebarError::KeyUnavailable
        })?;
        self.verifier.verify(&token, &key).map_err(|reason| {
            tracing::debug!(%reason, "sidebar token refused");
            SidebarError::from(reason)
        })?;
        Ok(pages::start_page(&origin, &app_guid))
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
