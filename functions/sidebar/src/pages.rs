//! The two pages the sidebar serves: the start page (loads the ZAF SDK, keeps `origin` and
//! `app_guid`, and with sessions on carries the session and the ticket's note) and the error
//! page. Askama escapes every value written into them.

use askama::Template;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

/// The ZAF SDK the start page loads (Zendesk's CDN, major version 2).
pub(crate) const ZAF_SDK_URL: &str =
    "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js";

/// The start page.
#[derive(Template)]
#[template(path = "start.html")]
struct StartPage<'a> {
    origin: &'a str,
    app_guid: &'a str,
    nonce: &'a str,
    sdk_url: &'a str,
    /// The session for the app's API; `None` when sessions are off (the page is then exactly
    /// the page without notes).
    session: Option<&'a str>,
}

/// The page shown to the agent when the app cannot be opened.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// The start page for the ZAF client of `origin` and `app_guid`, its scripts allowed by a fresh
/// CSP nonce; with a `session`, it also shows the ticket's note through the app's API (on the
/// page's own origin, which the CSP then allows to be fetched).
pub(crate) fn start_page(origin: &str, app_guid: &str, session: Option<&str>) -> Response<Body> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let page = StartPage {
        origin,
        app_guid,
        nonce: &nonce,
        sdk_url: ZAF_SDK_URL,
        session,
    };
    let scripts = Scripts::Nonce {
        nonce: &nonce,
        same_origin_api: session.is_some(),
    };
    html(StatusCode::OK, page.render(), scripts)
}

/// What a page may run and fetch.
enum Scripts<'a> {
    /// No script at all (error pages).
    None,
    /// Scripts under this nonce and from Zendesk's CDN; with `same_origin_api`, fetches to the
    /// page's own origin too.
    Nonce {
        nonce: &'a str,
        same_origin_api: bool,
    },
}

/// An error page (no scripts at all).
pub(crate) fn error_page(status: StatusCode, title: &str, detail: &str) -> Response<Body> {
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        detail,
    };
    html(status, page.render(), Scripts::None)
}

fn html(status: StatusCode, rendered: askama::Result<String>, scripts: Scripts) -> Response<Body> {
    // Rendering cannot fail for these templates (no fallible filters); fall back to text anyway.
    let body = rendered.unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_owned());
    let (script_src, connect_src) = match scripts {
        Scripts::Nonce {
            nonce,
            same_origin_api,
        } => (
            format!("script-src 'nonce-{nonce}' https://static.zdassets.com"),
            // 'self': the API is on the page's own origin, which is plain http:// locally.
            if same_origin_api {
                "connect-src 'self' https:"
            } else {
                "connect-src https:"
            },
        ),
        Scripts::None => ("script-src 'none'".to_owned(), "connect-src https:"),
    };
    // The page is framed by Zendesk, so no frame-ancestors 'none'; it must never be cached.
    let csp = format!(
        "default-src 'none'; {script_src}; style-src 'unsafe-inline'; img-src 'self' data: https:; {connect_src}; base-uri 'none'; form-action 'none'; frame-ancestors https://*.zendesk.com"
    );
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'")),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            _ => panic!("a text body"),
        }
    }

    fn csp(response: &Response<Body>) -> &str {
        response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
    }

    #[test]
    fn the_start_page_escapes_its_values_and_allows_only_its_own_scripts() {
        let response = start_page("https://acme.zendesk.com\"><script>", "guid<b>&", None);
        let page = text(&response);
        assert!(!page.contains("\"><script>"), "{page}");
        assert!(page.contains("guid&#60;b&#62;&#38;") || page.contains("guid&lt;b&gt;&amp;"));
        let policy = csp(&response);
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(page.contains(&format!("nonce=\"{nonce}\"")));
        assert!(policy.contains("frame-ancestors https://*.zendesk.com"));
        assert!(policy.contains("; connect-src https:;"), "{policy}");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert!(!page.contains("data-session"), "no session, no notes");
        assert!(!page.contains("id=\"note\""), "no session, no notes");
    }

    #[test]
    fn with_a_session_the_page_carries_it_and_may_call_its_own_origin() {
        let response = start_page("https://acme.zendesk.com", "g", Some("a.b.c"));
        let page = text(&response);
        assert!(page.contains(r#"data-session="a.b.c""#), "{page}");
        assert!(page.contains("id=\"note\""), "{page}");
        let policy = csp(&response);
        assert!(policy.contains("; connect-src 'self' https:;"), "{policy}");
        assert!(policy.contains("default-src 'none';"), "{policy}");
        assert!(
            response.headers().get(header::SET_COOKIE).is_none(),
            "never a cookie"
        );
    }

    #[test]
    fn each_start_page_has_a_new_nonce_and_an_error_page_runs_no_script() {
        assert_ne!(
            csp(&start_page("o", "g", None)),
            csp(&start_page("o", "g", None))
        );
        let error = error_page(StatusCode::UNAUTHORIZED, "Not signed in", "<why>");
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert!(csp(&error).contains("script-src 'none'"));
        assert!(!text(&error).contains("<why>"));
        assert!(text(&error).contains("HTTP 401"));
    }
}
