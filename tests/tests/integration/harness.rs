//! The local server's browser harness: its help center token endpoint and pages, as the browser
//! tests (`scripts/browser-test`) rely on them.

use devserver::harness::{TODO_SCRIPT, TOKEN_TTL_SECONDS};
use integration_tests::events::{header, json_body, set_cookies, text};
use integration_tests::harness::{answer, get, harness};
use integration_tests::tokens::unverified_claims;
use lambda_http::Body;

#[test]
fn the_help_center_page_remembers_its_visitor_in_a_cookie_and_holds_the_real_template() {
    let response = answer("/hc/en-us/p/todo-list?user=42&token=short-lived", None);
    assert_eq!(response.status(), 200);
    let cookies = set_cookies(&response);
    assert!(
        cookies.contains(&"hc_harness_user=42; Path=/; HttpOnly; SameSite=Strict".to_owned()),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("hc_harness_token=short-lived;"))
    );
    let page = text(&response);
    assert!(page.contains(r#"data-api-base-url="http://localhost:3000""#));
    assert!(page.contains(r#"<script src="/hc/theming_assets/todo-list.js" defer></script>"#));
    assert!(page.contains(r#"<script src="/harness/help-center-user.js?user=42"></script>"#));
    let script = answer("/hc/theming_assets/todo-list.js", None);
    assert_eq!(text(&script), TODO_SCRIPT);
}

#[test]
fn the_help_center_page_calls_only_loopback_apis() {
    let response = answer(
        "/hc/en-us/p/todo-list?user=1&api=https%3A%2F%2Fevil.example",
        None,
    );
    assert_eq!(response.status(), 400);
    let response = answer(
        "/hc/en-us/p/todo-list?user=1&api=http%3A%2F%2F127.0.0.1%3A9000",
        None,
    );
    assert!(text(&response).contains(r#"data-api-base-url="http://127.0.0.1:9000""#));
}

#[test]
fn anonymous_visitors_get_no_token_and_a_cleared_session() {
    let page = answer("/hc/en-us/p/todo-list?user=anonymous", None);
    assert!(
        set_cookies(&page)
            .iter()
            .any(|c| c.starts_with("hc_harness_user=; Path=/; Max-Age=0"))
    );
    let user = text(&answer("/harness/help-center-user.js?user=anonymous", None));
    assert!(user.contains("window.HelpCenter = {"), "{user}");
    assert!(user.contains(r#""role":"anonymous""#), "{user}");
    let token = answer("/api/v2/help_center/integration/token", None);
    assert_eq!(token.status(), 401);
}

#[test]
fn the_token_endpoint_signs_for_the_visitor_and_can_hand_out_one_expired_token() {
    let now = zendesk_jwt::devkeys::now();
    let fresh = answer(
        "/api/v2/help_center/integration/token",
        Some("hc_harness_user=42"),
    );
    assert_eq!(fresh.status(), 200);
    assert_eq!(header(&fresh, "cache-control"), Some("no-store"));
    let token = unverified_claims(json_body(&fresh)["token"].as_str().unwrap());
    assert_eq!(token["userId"], 42);
    let exp = token["exp"].as_i64().unwrap();
    assert!((now + TOKEN_TTL_SECONDS - exp).abs() <= 2);

    let expired = answer(
        "/api/v2/help_center/integration/token",
        Some("other=1; hc_harness_user=42; hc_harness_token=expired-once"),
    );
    let token = unverified_claims(json_body(&expired)["token"].as_str().unwrap());
    assert!(token["exp"].as_i64().unwrap() < now - 60);
    assert!(
        set_cookies(&expired)
            .iter()
            .any(|c| c.starts_with("hc_harness_token=; Path=/; Max-Age=0")),
        "the next token is a normal one"
    );
}

#[test]
fn the_sidebar_launcher_posts_fresh_tokens_the_way_zendesk_does() {
    let page = text(&answer("/harness/sidebar", None));
    assert!(page.contains(r#"<form method="post" action="/sidebar?origin="#));
    // Valid, forged, expired, and valid for an installation that is not enabled.
    assert_eq!(page.matches(r#"name="token""#).count(), 4);
    assert!(page.contains("Open for an installation that is not enabled (403)"));
    let tokens = json_body(&answer("/harness/sidebar/tokens.json", None));
    let not_enabled = unverified_claims(tokens["not_enabled"].as_str().unwrap());
    assert_eq!(
        not_enabled["aud"],
        "https://example.zendesk.com/api/v2/apps/installations/2.json"
    );
}

#[test]
fn other_paths_and_methods_are_left_to_the_functions() {
    assert!(harness().answer(&get("/todo_items", None)).is_none());
    let post = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/harness/sidebar")
        .body(Body::Empty)
        .unwrap();
    assert!(harness().answer(&post).is_none());
}
