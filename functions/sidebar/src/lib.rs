//! The `sidebar` function: Zendesk's Apps Framework POSTs the app's initial page with a signed
//! JWT (`"signedUrls": true` in the manifest); this verifies it and serves the start page.
//!
//! `POST /sidebar?origin=…&app_guid=…` with form field `token`:
//! * valid token: 200 `text/html`, the start page that loads the ZAF SDK;
//! * no token: 400 error page; any invalid token: 401 error page; our own failure: 503.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use zendesk_jwt::env::{self, ConfigError};
use zendesk_jwt::{
    AuthError, DecodingKey, SecretCache, SecretSource, ZafVerifier, parse_rsa_public_key_pem,
};

/// The ZAF SDK the start page loads (Zendesk's CDN, major version 2).
pub const ZAF_SDK_URL: &str =
    "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js";

/// Largest form body accepted; a ZAF token is a few KiB at most.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Where the app's public key comes from.
#[derive(Clone, Debug)]
pub enum PublicKeySource {
    /// Secrets Manager secret id (`ZAF_PUBLIC_KEY_SECRET_ID`), the normal case.
    SecretId(String),
    /// The PEM itself (`ZAF_PUBLIC_KEY_PEM`), for local runs only.
    Pem(String),
}

/// The sidebar function's configuration, read once from the environment.
#[derive(Clone, Debug)]
pub struct SidebarConfig {
    /// `ZENDESK_SUBDOMAIN`: the account, `acme` for acme.zendesk.com.
    pub subdomain: String,
    /// `ZAF_APP_INSTALLATION_ID`: the app installation the token's `aud` must name.
    pub installation_id: u64,
    /// `ZAF_PUBLIC_KEY_SECRET_ID` or `ZAF_PUBLIC_KEY_PEM`.
    pub public_key: PublicKeySource,
    /// `SECRET_TTL_SECONDS` (default 300): how long the key is cached before it is read again.
    pub secret_ttl: Duration,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60): clock skew allowed on `exp`.
    pub leeway: Duration,
}

impl SidebarConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&env::ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = env::Reader::new(vars);
        let public_key = match (
            env.optional("ZAF_PUBLIC_KEY_SECRET_ID"),
            env.optional("ZAF_PUBLIC_KEY_PEM"),
        ) {
            (Some(id), _) => PublicKeySource::SecretId(id),
            (None, Some(pem)) => PublicKeySource::Pem(pem),
            (None, None) => {
                return Err(ConfigError::new(
                    "ZAF_PUBLIC_KEY_SECRET_ID",
                    "is required (or ZAF_PUBLIC_KEY_PEM for local runs)",
                ));
            }
        };
        let leeway = env.leeway()?;
        Ok(Self {
            subdomain: env.subdomain("ZENDESK_SUBDOMAIN")?,
            installation_id: env
                .required("ZAF_APP_INSTALLATION_ID")?
                .parse()
                .map_err(|_| ConfigError::new("ZAF_APP_INSTALLATION_ID", "must be a number"))?,
            public_key,
            secret_ttl: env.seconds_or("SECRET_TTL_SECONDS", Duration::from_secs(300))?,
            leeway,
        })
    }
}

/// The sidebar handler and what it keeps between invocations.
pub struct Sidebar {
    verifier: ZafVerifier,
    public_key: SecretCache<DecodingKey>,
}

#[derive(Deserialize)]
struct TokenForm {
    token: Option<String>,
}

#[derive(Deserialize)]
struct PageQuery {
    origin: Option<String>,
    app_guid: Option<String>,
}

/// The start page. Askama escapes every value written into it.
#[derive(Template)]
#[template(path = "start.html")]
struct StartPage<'a> {
    origin: &'a str,
    app_guid: &'a str,
    nonce: &'a str,
    sdk_url: &'a str,
}

/// The page shown to the agent when the app cannot be opened.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
}

impl Sidebar {
    /// Build the handler; `secrets` is required when the key comes from Secrets Manager.
    pub fn new(config: &SidebarConfig, secrets: Option<aws_sdk_secretsmanager::Client>) -> Self {
        let source = match (&config.public_key, secrets) {
            (PublicKeySource::SecretId(id), Some(client)) => SecretSource::SecretsManager {
                client,
                secret_id: id.clone(),
            },
            (PublicKeySource::SecretId(_), None) => {
                panic!("a Secrets Manager client is needed for ZAF_PUBLIC_KEY_SECRET_ID")
            }
            (PublicKeySource::Pem(pem), _) => SecretSource::Inline(pem.clone().into()),
        };
        Self {
            verifier: ZafVerifier::new(&config.subdomain, config.installation_id, config.leeway),
            public_key: SecretCache::new(source, config.secret_ttl, parse_rsa_public_key_pem),
        }
    }

    /// Answer one request. Every expected failure is a response; this never fails.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        if req.method() != Method::POST {
            return error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "This page is opened by Zendesk",
                "Zendesk opens this app with a signed POST request.",
            );
        }
        let form = match read_form(&req) {
            Ok(form) => form,
            Err((status, detail)) => return error_page(status, "Bad request", detail),
        };
        let Some(token) = form.token.filter(|t| !t.is_empty()) else {
            tracing::debug!("sidebar request without a token");
            return error_page(
                StatusCode::BAD_REQUEST,
                "Missing token",
                "Zendesk did not send a signed token. Check that the app's manifest has \"signedUrls\": true.",
            );
        };
        let query: PageQuery = serde_urlencoded::from_str(req.uri().query().unwrap_or(""))
            .unwrap_or(PageQuery {
                origin: None,
                app_guid: None,
            });
        let (Some(origin), Some(app_guid)) = (query.origin, query.app_guid) else {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The page address lacks the origin and app_guid parameters Zendesk adds.",
            );
        };
        let key = match self.public_key.get().await {
            Ok(key) => key,
            Err(error) => {
                tracing::error!(%error, "the app's public key is unavailable");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The app could not check its sign-in right now. Reload the ticket in a minute.",
                );
            }
        };
        match self.verifier.verify(&token, &key) {
            Ok(_claims) => start_page(&origin, &app_guid),
            Err(error) => {
                let reason = &error;
                tracing::debug!(%reason, "sidebar token refused");
                let status = match error {
                    AuthError::Missing => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                error_page(
                    status,
                    "Not signed in",
                    "Zendesk's signature on this request could not be verified. Reload the ticket; if it persists, ask an admin to check the app's public key and installation id.",
                )
            }
        }
    }
}

/// The form Zendesk POSTs, or the status and the detail shown on the error page.
fn read_form(req: &Request) -> Result<TokenForm, (StatusCode, &'static str)> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err((
            StatusCode::BAD_REQUEST,
            "Expected a form (application/x-www-form-urlencoded) with a token field.",
        ));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than 16 KiB.",
        ));
    }
    serde_urlencoded::from_bytes(body).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "The form could not be read (a field may be repeated).",
        )
    })
}

fn start_page(origin: &str, app_guid: &str) -> Response<Body> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let page = StartPage {
        origin,
        app_guid,
        nonce: &nonce,
        sdk_url: ZAF_SDK_URL,
    };
    html(StatusCode::OK, page.render(), Some(&nonce))
}

fn error_page(status: StatusCode, title: &str, detail: &str) -> Response<Body> {
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        detail,
    };
    html(status, page.render(), None)
}

fn html(
    status: StatusCode,
    rendered: askama::Result<String>,
    nonce: Option<&str>,
) -> Response<Body> {
    // Rendering cannot fail for these templates (no fallible filters); fall back to text anyway.
    let body = rendered.unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_owned());
    let script_src = match nonce {
        Some(nonce) => format!("script-src 'nonce-{nonce}' https://static.zdassets.com"),
        None => "script-src 'none'".to_owned(),
    };
    // The page is framed by Zendesk, so no frame-ancestors 'none'; it must never be cached.
    let csp = format!(
        "default-src 'none'; {script_src}; style-src 'unsafe-inline'; img-src 'self' data: https:; connect-src https:; base-uri 'none'; form-action 'none'; frame-ancestors https://*.zendesk.com"
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'")),
        )
        .body(Body::Text(body))
        .expect("static headers are valid")
}

/// The handler shared across invocations, as the Lambda runtime and the local server hold it.
pub type SharedSidebar = Arc<Sidebar>;
