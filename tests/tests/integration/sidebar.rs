//! The sidebar: Zendesk's signed POST of the app's start page.

use integration_tests::events::{header, request, text};
use integration_tests::services::{aws, unique};
use integration_tests::sidebar::{
    PAGE, config, open, post, sidebar_from_secrets_manager, valid_claims, valid_token, zaf_token,
};
use integration_tests::tokens::{keys, public_key_as_hmac_secret, raw_token, sign_with};
use integration_tests::{INSTALLATION_ID, SUBDOMAIN};
use jsonwebtoken::Algorithm;
use serde_json::json;
use sidebar::Sidebar;
use zendesk_jwt::devkeys;
use zendesk_jwt::lambda::secrets::SecretLocation;

#[tokio::test]
async fn a_valid_signed_post_gets_the_start_page() {
    let sidebar = sidebar_from_secrets_manager().await;
    let response = open(&sidebar, &valid_token()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let page = text(&response);
    assert!(
        page.contains("https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js")
    );
    assert!(
        page.contains(r#"data-origin="https://acme.zendesk.com""#),
        "{page}"
    );
    assert!(page.contains(r#"data-app-guid="0f1e2d3c-aaaa-bbbb-cccc-000000000001""#));
    assert!(page.contains("ZAFClient.init("));
}

#[tokio::test]
async fn the_start_page_scripts_run_under_the_response_nonce_only() {
    let sidebar = sidebar_from_secrets_manager().await;
    let response = open(&sidebar, &valid_token()).await;
    let csp = header(&response, "content-security-policy")
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    assert_eq!(nonce.len(), 32, "{csp}");
    assert!(
        csp.contains("frame-ancestors https://*.zendesk.com"),
        "{csp}"
    );
    let page = text(&response);
    assert_eq!(page.matches("<script").count(), 2, "{page}");
    assert_eq!(
        page.matches(&format!(r#"nonce="{nonce}""#)).count(),
        2,
        "{page}"
    );
    assert!(header(&response, "set-cookie").is_none());
    let again = open(&sidebar, &valid_token()).await;
    assert!(
        !text(&again).contains(nonce),
        "a new nonce for every response"
    );
}

#[tokio::test]
async fn the_error_page_says_what_happened_and_runs_no_script() {
    let sidebar = sidebar_from_secrets_manager().await;
    assert_eq!(open(&sidebar, &valid_token()).await.status(), 200);
    let response = open(&sidebar, "forged.token.value").await;
    assert_eq!(response.status(), 401);
    let csp = header(&response, "content-security-policy").unwrap();
    assert!(csp.contains("script-src 'none'"), "{csp}");
    let page = text(&response);
    assert!(
        page.contains("This app could not open (HTTP 401)."),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
}

#[tokio::test]
async fn values_written_into_the_page_are_escaped() {
    let sidebar = sidebar_from_secrets_manager().await;
    let page =
        "/sidebar?origin=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&app_guid=%3Cimg%20src%3Dx%3E";
    let response = sidebar
        .handle(post(page, Some(&format!("token={}", valid_token()))))
        .await;
    assert_eq!(response.status(), 200);
    let html = text(&response);
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("<img src=x>"), "{html}");
    assert!(
        html.contains("&#34;&#62;&#60;script&#62;") || html.contains("&quot;&gt;&lt;script&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn a_post_without_a_token_is_a_400_page() {
    let sidebar = sidebar_from_secrets_manager().await;
    assert_eq!(open(&sidebar, &valid_token()).await.status(), 200);
    for form in [None, Some(""), Some("token="), Some("other=1")] {
        let response = sidebar.handle(post(PAGE, form)).await;
        assert_eq!(response.status(), 400, "form {form:?}");
        assert!(text(&response).contains("Missing token"), "form {form:?}");
        assert_eq!(
            header(&response, "content-type"),
            Some("text/html; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn invalid_tokens_are_401_pages_and_never_the_start_page() {
    let sidebar = sidebar_from_secrets_manager().await;
    assert_eq!(open(&sidebar, &valid_token()).await.status(), 200);
    let keys = keys();
    let mut expired = valid_claims();
    expired["exp"] = json!(devkeys::now() - 120);
    let other_installation = devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID + 1, 300);
    let mut wrong_iss = valid_claims();
    wrong_iss["iss"] = json!("evil.zendesk.com");
    let other_account = devkeys::zaf_claims("evil", INSTALLATION_ID, 300);
    let mut no_exp = valid_claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let cases: Vec<(&str, String)> = vec![
        ("expired", zaf_token(&expired)),
        ("another installation's aud", zaf_token(&other_installation)),
        ("wrong iss", zaf_token(&wrong_iss)),
        ("another account", zaf_token(&other_account)),
        ("no exp", zaf_token(&no_exp)),
        (
            "alg none",
            raw_token(&json!({"alg": "none", "typ": "JWT"}), &valid_claims(), ""),
        ),
        (
            "HS256 signed with the public key",
            sign_with(
                Algorithm::HS256,
                &public_key_as_hmac_secret(&keys.primary),
                None,
                &valid_claims(),
            ),
        ),
        (
            "RS384 with the right key",
            sign_with(
                Algorithm::RS384,
                keys.primary.encoding_key(),
                None,
                &valid_claims(),
            ),
        ),
        (
            "PS256 with the right key",
            sign_with(
                Algorithm::PS256,
                keys.primary.encoding_key(),
                None,
                &valid_claims(),
            ),
        ),
        ("rogue key", keys.rogue.sign(&valid_claims())),
        ("garbage", "not.a.jwt".into()),
        ("jku header", {
            let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
            header.jku = Some("https://evil.example/keys.json".into());
            jsonwebtoken::encode(&header, &valid_claims(), keys.primary.encoding_key()).unwrap()
        }),
    ];
    for (case, token) in cases {
        let response = open(&sidebar, &token).await;
        assert_eq!(response.status(), 401, "{case}");
        let page = text(&response);
        assert!(page.contains("Not signed in"), "{case}: {page}");
        assert!(
            !page.contains("ZAFClient"),
            "{case} rendered the start page"
        );
    }
}

#[tokio::test]
async fn a_token_just_past_exp_within_the_leeway_is_accepted() {
    let sidebar = sidebar_from_secrets_manager().await;
    let mut claims = valid_claims();
    claims["exp"] = json!(devkeys::now() - 5);
    assert_eq!(open(&sidebar, &zaf_token(&claims)).await.status(), 200);
}

#[tokio::test]
async fn a_repeated_token_field_or_a_json_body_is_a_400() {
    let sidebar = sidebar_from_secrets_manager().await;
    let token = valid_token();
    assert_eq!(open(&sidebar, &token).await.status(), 200);
    let repeated = sidebar
        .handle(post(PAGE, Some(&format!("token={token}&token={token}"))))
        .await;
    assert_eq!(repeated.status(), 400);
    let json = sidebar
        .handle(request(
            "POST",
            PAGE,
            &[("content-type", "application/json")],
            Some(&json!({"token": token}).to_string()),
        ))
        .await;
    assert_eq!(json.status(), 400);
}

#[tokio::test]
async fn a_page_address_without_origin_and_app_guid_is_a_400() {
    let sidebar = sidebar_from_secrets_manager().await;
    assert_eq!(open(&sidebar, &valid_token()).await.status(), 200);
    let response = sidebar
        .handle(post("/sidebar", Some(&format!("token={}", valid_token()))))
        .await;
    assert_eq!(response.status(), 400);
    assert!(text(&response).contains("origin and app_guid"));
}

#[tokio::test]
async fn a_missing_secret_is_a_503_not_a_401() {
    let missing = SecretLocation::SecretsManager(unique("no-such-secret"));
    let sidebar = Sidebar::new(&config(missing), &aws()).unwrap();
    assert_eq!(open(&sidebar, &valid_token()).await.status(), 503);
}

#[tokio::test]
async fn a_get_is_refused() {
    let sidebar = sidebar_from_secrets_manager().await;
    assert_eq!(open(&sidebar, &valid_token()).await.status(), 200);
    let response = sidebar.handle(request("GET", PAGE, &[], None)).await;
    assert_eq!(response.status(), 405);
}
