//! Browser harness: pages that stand in for Zendesk, so the help center to-do page and the sidebar
//! app can be tried in a browser without a Zendesk account. Served by the local server only when
//! the development environment is loaded (its keys sign every token made here).
//!
//! | route | what it stands in for |
//! | --- | --- |
//! | `GET /`, `GET /harness` | an index of these pages |
//! | `GET /hc/en-us/p/todo-list?user=N\|anonymous[&token=MODE][&api=URL]` | the help center custom page: the theme's real `todo-list.hbs` in a minimal layout |
//! | `GET /hc/theming_assets/todo-list.js` | the theme asset `todo-list.js`, unchanged |
//! | `GET /harness/help-center-user.js?user=…` | the help center's `window.HelpCenter.user` |
//! | `GET /api/v2/help_center/integration/token` | the help center token endpoint, for the user the page chose |
//! | `GET /harness/sidebar` | Zendesk's signed POST that opens the ticket sidebar app |
//! | `GET /harness/sidebar/tokens.json` | fresh tokens for that POST (valid, forged, expired, and valid for an installation that is not enabled), for the browser tests' stand-in Zendesk frame |
//! | `GET /harness/zaf-sdk-stand-in.js` | a stand-in for the ZAF SDK, for the launcher page opened whole |
//!
//! The help center page remembers its user, and the token `MODE`, in cookies, as the help center
//! remembers its session: `expired-once` makes the next token already expired (the page must get a
//! new one after the API refuses it), `short-lived` makes every token expire within seconds (the
//! page must not reuse them). `api` points the page at another to-do API base URL (loopback only).

use askama::Template;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use crate::dev::{self, DevEnvironment};
use crate::devkeys;

/// The help center template, exactly as a Guide theme holds it.
pub(crate) const TODO_TEMPLATE: &str =
    include_str!("../../web/help-center/templates/custom_pages/todo-list.hbs");
/// The help center script, exactly as a Guide theme holds it.
pub const TODO_SCRIPT: &str = include_str!("../../web/help-center/assets/todo-list.js");
/// The stand-in for Zendesk's ZAF SDK (not Zendesk's code; see the file's header).
pub(crate) const ZAF_SDK_STAND_IN: &str = include_str!("../harness/zaf-sdk-stand-in.js");
/// The template's placeholder for the to-do API base URL, which the harness fills in.
pub(crate) const API_BASE_PLACEHOLDER: &str =
    "https://YOUR-API-ID.execute-api.YOUR-REGION.amazonaws.com";
/// Where the harness serves theme assets (Guide serves them from its theming asset host).
const ASSET_PREFIX: &str = "/hc/theming_assets/";
/// Lifetime of a normal harness help center token.
pub const TOKEN_TTL_SECONDS: i64 = 600;
/// Lifetime of a `short-lived` token: shorter than the page's refresh margin.
pub(crate) const SHORT_TOKEN_TTL_SECONDS: i64 = 20;
/// The `app_guid` the harness sends to the sidebar, as Zendesk adds one to the app's URL.
pub const APP_GUID: &str = "00000000-0000-4000-8000-000000000001";

const USER_COOKIE: &str = "hc_harness_user";
const TOKEN_MODE_COOKIE: &str = "hc_harness_token";

/// The harness and the development keys it signs with.
pub struct Harness {
    env: DevEnvironment,
    page: GuidePage,
}

/// The Guide template rendered the way the help center would: comments dropped, the `asset`
/// helper resolved, and split around the API base URL setting.
struct GuidePage {
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "harness_index.html")]
struct IndexPage;

#[derive(Template)]
#[template(path = "harness_help_center.html")]
struct HelpCenterPage<'a> {
    user_param: &'a str,
    user_label: &'a str,
    template_before: &'a str,
    api_base: &'a str,
    template_after: &'a str,
}

#[derive(Template)]
#[template(path = "harness_sidebar.html")]
struct SidebarLauncher<'a> {
    action: &'a str,
    valid_token: &'a str,
    forged_token: &'a str,
    expired_token: &'a str,
    not_enabled_token: &'a str,
}

/// Tokens for the sidebar's signed POST, made now from the development keys.
struct SidebarTokens {
    valid: String,
    forged: String,
    expired: String,
    /// Valid, for an installation of the development app that is not in the sidebar's table.
    not_enabled: String,
}

#[derive(Deserialize, Default)]
struct HelpCenterQuery {
    user: Option<String>,
    token: Option<String>,
    api: Option<String>,
}

/// Who the help center page is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Visitor {
    Anonymous,
    User(u64),
}

impl Visitor {
    /// `N` (a user id, 1 to 2^53 - 1) or anything else, which is an anonymous visitor.
    fn parse(value: Option<&str>) -> Self {
        match value.and_then(zendesk_jwt::id::JsonSafeId::parse) {
            Some(id) => Visitor::User(id.get()),
            None => Visitor::Anonymous,
        }
    }
}

/// Render the Guide template for the harness: `{{!-- --}}` comments removed, `{{asset '…'}}`
/// resolved to the harness's asset route, split at the API base URL placeholder. Any other
/// Handlebars expression is an error, so the template stays one the harness shows faithfully.
fn guide_page(template: &str) -> Result<GuidePage, String> {
    let mut html = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{!--") {
        html.push_str(&rest[..start]);
        let end = rest[start..]
            .find("--}}")
            .ok_or("an unterminated {{!-- comment")?;
        rest = &rest[start + end + 4..];
    }
    html.push_str(rest);
    let mut resolved = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(start) = rest.find("{{") {
        resolved.push_str(&rest[..start]);
        let end = rest[start..].find("}}").ok_or("an unterminated {{")?;
        let expression = rest[start + 2..start + end].trim();
        let asset = expression
            .strip_prefix("asset ")
            .map(|name| name.trim().trim_matches('\''))
            .filter(|name| !name.is_empty() && !name.contains(['\'', '"', '/', '<', '>']))
            .ok_or_else(|| {
                format!("an expression the harness cannot render: {{{{{expression}}}}}")
            })?;
        resolved.push_str(ASSET_PREFIX);
        resolved.push_str(asset);
        rest = &rest[start + end + 2..];
    }
    resolved.push_str(rest);
    let mut parts = resolved.split(API_BASE_PLACEHOLDER);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(before), Some(after), None) => Ok(GuidePage {
            before: before.to_owned(),
            after: after.to_owned(),
        }),
        _ => Err(format!(
            "the template must hold the API base URL placeholder {API_BASE_PLACEHOLDER} exactly once"
        )),
    }
}

fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A harness cookie: the session of a stand-in help center on plain-HTTP localhost (so not
/// `Secure`), unreadable by scripts and never sent cross-site.
fn set_cookie(name: &str, value: Option<&str>) -> HeaderValue {
    let cookie = match value {
        Some(value) => format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
    };
    HeaderValue::from_str(&cookie).expect("cookie names and values are plain ASCII")
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(body))
        .expect("static headers are valid")
}

fn html(rendered: askama::Result<String>) -> Response<Body> {
    match rendered {
        Ok(page) => respond(StatusCode::OK, "text/html; charset=utf-8", page),
        Err(error) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("harness page failed to render: {error}"),
        ),
    }
}

fn javascript(source: String) -> Response<Body> {
    respond(StatusCode::OK, "text/javascript; charset=utf-8", source)
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    respond(status, "application/json", body.to_string())
}

/// Only loopback HTTP addresses may stand in for the to-do API.
fn loopback_base(url: &str) -> Option<&str> {
    let url = url.trim_end_matches('/');
    let host_and_port = url
        .strip_prefix("http://127.0.0.1")
        .or_else(|| url.strip_prefix("http://localhost"))?;
    let path_ok = host_and_port
        .strip_prefix(':')
        .map(|rest| {
            let port_end = rest.find('/').unwrap_or(rest.len());
            rest[..port_end].parse::<u16>().is_ok()
                && rest[port_end..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
        })
        .unwrap_or(host_and_port.is_empty());
    path_ok.then_some(url)
}

impl Harness {
    /// A harness signing with `env`'s development keys.
    pub fn new(env: DevEnvironment) -> Self {
        let page = guide_page(TODO_TEMPLATE)
            .unwrap_or_else(|error| panic!("web/help-center todo-list.hbs: {error}"));
        Self { env, page }
    }

    /// Answer `req` if it is one of the harness's routes.
    pub fn answer(&self, req: &Request) -> Option<Response<Body>> {
        if req.method() != Method::GET {
            return None;
        }
        let path = req.uri().path();
        let response = match path {
            "/" | "/harness" | "/harness/" => html(IndexPage.render()),
            "/hc/en-us/p/todo-list" => self.help_center_page(req),
            "/api/v2/help_center/integration/token" => self.help_center_token(req),
            "/harness/help-center-user.js" => help_center_user(req),
            "/harness/sidebar" => self.sidebar_launcher(),
            "/harness/sidebar/tokens.json" => self.sidebar_tokens_json(),
            "/harness/zaf-sdk-stand-in.js" => javascript(ZAF_SDK_STAND_IN.to_owned()),
            _ if path == format!("{ASSET_PREFIX}todo-list.js") => {
                javascript(TODO_SCRIPT.to_owned())
            }
            _ => return None,
        };
        Some(response)
    }

    fn help_center_page(&self, req: &Request) -> Response<Body> {
        let query: HelpCenterQuery =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
        let visitor = Visitor::parse(query.user.as_deref());
        let api_base = match query.api.as_deref() {
            Some(api) => match loopback_base(api) {
                Some(base) => base.to_owned(),
                None => {
                    return respond(
                        StatusCode::BAD_REQUEST,
                        "text/plain; charset=utf-8",
                        "api must be an http://127.0.0.1:PORT or http://localhost:PORT address"
                            .into(),
                    );
                }
            },
            // The page's own origin: the local server also serves the to-do API.
            None => match req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
            {
                Some(host) => format!("http://{host}"),
                None => dev::LOCAL_ORIGIN.to_owned(),
            },
        };
        let (user_param, user_label) = match visitor {
            Visitor::User(id) => (id.to_string(), format!("user {id}")),
            Visitor::Anonymous => ("anonymous".to_owned(), "nobody (anonymous)".to_owned()),
        };
        let page = HelpCenterPage {
            user_param: &user_param,
            user_label: &user_label,
            template_before: &self.page.before,
            api_base: &api_base,
            template_after: &self.page.after,
        };
        let mode = query
            .token
            .as_deref()
            .filter(|mode| matches!(*mode, "expired-once" | "short-lived"));
        let mut response = html(page.render());
        let user_cookie = match visitor {
            Visitor::User(_) => Some(user_param.as_str()),
            Visitor::Anonymous => None,
        };
        let headers = response.headers_mut();
        headers.append(header::SET_COOKIE, set_cookie(USER_COOKIE, user_cookie));
        headers.append(header::SET_COOKIE, set_cookie(TOKEN_MODE_COOKIE, mode));
        response
    }

    fn help_center_token(&self, req: &Request) -> Response<Body> {
        let Visitor::User(user) = Visitor::parse(cookie(req, USER_COOKIE)) else {
            return json(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({"error": "Couldn't authenticate you"}),
            );
        };
        let mode = cookie(req, TOKEN_MODE_COOKIE);
        let ttl = match mode {
            // Well past the API's leeway: the API refuses it, the page must fetch another.
            Some("expired-once") => -300,
            Some("short-lived") => SHORT_TOKEN_TTL_SECONDS,
            _ => TOKEN_TTL_SECONDS,
        };
        let mut response = json(
            StatusCode::OK,
            &serde_json::json!({"token": self.env.help_center_token(user, ttl)}),
        );
        if mode == Some("expired-once") {
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie(TOKEN_MODE_COOKIE, None));
        }
        response
    }

    /// Fresh tokens for the signed POST that opens the sidebar, valid for five minutes.
    fn sidebar_tokens(&self) -> SidebarTokens {
        SidebarTokens {
            valid: self.env.zaf_token(300),
            // Right claims, wrong key: signed with the help center key instead of the app's.
            forged: self.env.help_center.sign(&devkeys::zaf_claims(
                dev::SUBDOMAIN,
                dev::INSTALLATION_ID,
                300,
            )),
            expired: self.env.zaf_token(-300),
            not_enabled: self.env.zaf_token_for(dev::INSTALLATION_ID + 1, 300),
        }
    }

    fn sidebar_launcher(&self) -> Response<Body> {
        let action = format!(
            "/sidebar?origin=https%3A%2F%2F{}.zendesk.com&app_guid={APP_GUID}",
            dev::SUBDOMAIN
        );
        let tokens = self.sidebar_tokens();
        html(
            SidebarLauncher {
                action: &action,
                valid_token: &tokens.valid,
                forged_token: &tokens.forged,
                expired_token: &tokens.expired,
                not_enabled_token: &tokens.not_enabled,
            }
            .render(),
        )
    }

    /// The launcher's tokens as JSON, with the account's origin and the `app_guid` Zendesk would
    /// add to the app's URL: the browser tests POST them from a stand-in Zendesk frame.
    fn sidebar_tokens_json(&self) -> Response<Body> {
        let tokens = self.sidebar_tokens();
        json(
            StatusCode::OK,
            &serde_json::json!({
                "origin": format!("https://{}.zendesk.com", dev::SUBDOMAIN),
                "app_guid": APP_GUID,
                "valid": tokens.valid,
                "forged": tokens.forged,
                "expired": tokens.expired,
                "not_enabled": tokens.not_enabled,
            }),
        )
    }
}

/// `window.HelpCenter` as a help center page defines it, for the chosen visitor.
fn help_center_user(req: &Request) -> Response<Body> {
    let query: HelpCenterQuery =
        serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
    let user = match Visitor::parse(query.user.as_deref()) {
        Visitor::User(id) => serde_json::json!({
            "id": id,
            "role": "end_user",
            "name": format!("Harness user {id}"),
            "email": format!("user{id}@example.com"),
            "locale": "en-us",
        }),
        Visitor::Anonymous => serde_json::json!({"role": "anonymous", "locale": "en-us"}),
    };
    javascript(format!(
        "// Stand-in for the help center's window.HelpCenter (local harness).\nwindow.HelpCenter = {};\n",
        serde_json::json!({ "user": user })
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_template_renders_with_only_the_asset_helper_and_one_api_setting() {
        let page = guide_page(TODO_TEMPLATE).expect("the template renders");
        let html = format!("{}{}", page.before, page.after);
        assert!(!html.contains("{{"), "{html}");
        assert!(html.contains(r#"<script src="/hc/theming_assets/todo-list.js" defer></script>"#));
        assert!(
            page.before.ends_with(r#"data-api-base-url=""#),
            "{}",
            page.before
        );
    }

    #[test]
    fn unknown_handlebars_expressions_are_refused() {
        let template =
            format!(r#"<p data-api-base-url="{API_BASE_PLACEHOLDER}">{{{{t 'x'}}}}</p>"#);
        assert!(guide_page(&template).is_err());
        assert!(guide_page("<p>no setting</p>").is_err());
    }

    #[test]
    fn only_loopback_addresses_can_stand_in_for_the_api() {
        assert_eq!(
            loopback_base("http://127.0.0.1:3000/"),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            loopback_base("http://localhost:8080/stage"),
            Some("http://localhost:8080/stage")
        );
        assert_eq!(loopback_base("http://127.0.0.1.evil.example:80"), None);
        assert_eq!(loopback_base("http://localhost@evil.example"), None);
        assert_eq!(loopback_base("https://evil.example"), None);
        assert_eq!(loopback_base("http://127.0.0.1:1/\"><script>"), None);
    }

    #[test]
    fn visitors_are_user_ids_or_anonymous() {
        assert_eq!(Visitor::parse(Some("42")), Visitor::User(42));
        assert_eq!(Visitor::parse(Some("0")), Visitor::Anonymous);
        assert_eq!(Visitor::parse(Some("anonymous")), Visitor::Anonymous);
        assert_eq!(Visitor::parse(Some("9007199254740992")), Visitor::Anonymous);
        assert_eq!(Visitor::parse(None), Visitor::Anonymous);
    }
}
