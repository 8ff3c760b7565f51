//! Hostile requests that are not about the token's signature: CORS origins that only look
//! allowed, malformed, duplicated, mistyped or base64-encoded bodies, and user tokens that
//! resemble a real one. Each is a 4xx with a clear body and writes nothing.

use integration_tests::HELP_CENTER_ORIGIN;
use integration_tests::events::{header, json_body, message, post, posts_as_text_and_base64, text};
use integration_tests::sdk_exchange::fixture as sdk_exchange_fixture;
use integration_tests::sidebar::{PAGE, sidebar_from_secrets_manager, valid_token};
use integration_tests::todos::{fixture as todos_fixture, token_for};
use serde_json::json;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[tokio::test]
async fn cors_origins_that_only_look_allowed_are_refused_with_a_403() {
    let f = todos_fixture().await;
    for origin in [
        "https://acme.zendesk.com.evil.example",
        "https://evilacme.zendesk.com",
        "https://acme.zendesk.co",
        "https://acme.zendesk.com@evil.example",
        "https://acme.zendesk.com%2F.evil.example",
        "null",
        "http://acme.zendesk.com",
        "wss://acme.zendesk.com",
        "https://acme.zendesk.com:443",
        "https://acme.zendesk.com:8443",
        "https://acme.zendesk.com.",
        "https://acme.zendesk.com/",
        "HTTPS://ACME.ZENDESK.COM",
        "https://ACME.zendesk.com",
        "https://acme.zendesk.com, https://evil.example",
        "*",
        "",
    ] {
        let preflight = f
            .call(
                "OPTIONS",
                "/todo_items",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "authorization"),
                ],
                None,
            )
            .await;
        let get = f.list_from(origin, 2001).await;
        for (what, response) in [("preflight", preflight), ("GET", get)] {
            assert_eq!(response.status(), 403, "{what} from {origin:?}");
            assert_eq!(
                header(&response, "access-control-allow-origin"),
                None,
                "{what} from {origin:?}"
            );
            assert!(
                message(&response).contains("origin"),
                "{what} from {origin:?}: {}",
                text(&response)
            );
        }
    }
    let allowed = f.list_from(HELP_CENTER_ORIGIN, 2001).await;
    assert_eq!(allowed.status(), 200);
    let no_origin = f.list(2001).await;
    assert_eq!(no_origin.status(), 200, "servers and curl send no Origin");
}

#[tokio::test]
async fn hostile_to_do_bodies_are_clear_4xx_and_write_nothing() {
    let f = todos_fixture().await;
    let bearer = format!("Bearer {}", token_for(2002));
    let deep = format!(
        "{{\"value\":{}\"a\"{}}}",
        "[".repeat(8000),
        "]".repeat(8000)
    );
    let json_type = Some("application/json");
    let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        (
            "a byte-order mark",
            json_type,
            b"\xef\xbb\xbf{\"value\":\"a\"}".to_vec(),
            400,
        ),
        (
            "trailing garbage",
            json_type,
            b"{\"value\":\"a\"} x".to_vec(),
            400,
        ),
        (
            "two objects",
            json_type,
            b"{\"value\":\"a\"}{\"value\":\"b\"}".to_vec(),
            400,
        ),
        (
            "a comment",
            json_type,
            b"{\"value\":\"a\" /* b */}".to_vec(),
            400,
        ),
        ("8000 levels of nesting", json_type, deep.into_bytes(), 400),
        (
            "a lone surrogate",
            json_type,
            b"{\"value\":\"\\ud800\"}".to_vec(),
            400,
        ),
        (
            "invalid UTF-8",
            json_type,
            b"{\"value\":\"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "value an object",
            json_type,
            b"{\"value\":{\"value\":\"a\"}}".to_vec(),
            400,
        ),
        ("value true", json_type, b"{\"value\":true}".to_vec(), 400),
        (
            "Value in another case",
            json_type,
            b"{\"Value\":\"a\"}".to_vec(),
            400,
        ),
        (
            "value twice, once null",
            json_type,
            b"{\"value\":null,\"value\":\"a\"}".to_vec(),
            400,
        ),
        ("a JSON string", json_type, b"\"value\"".to_vec(), 400),
        ("JSON null", json_type, b"null".to_vec(), 400),
        (
            "one byte over 16 KiB",
            json_type,
            vec![b' '; 16 * 1024 + 1],
            413,
        ),
        (
            "text/plain",
            Some("text/plain"),
            b"{\"value\":\"a\"}".to_vec(),
            415,
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\n\r\na\r\n--x--".to_vec(),
            415,
        ),
        (
            "a JSON look-alike type",
            Some("application/jsonp"),
            b"{\"value\":\"a\"}".to_vec(),
            415,
        ),
        (
            "two types",
            Some("application/json, text/plain"),
            b"{\"value\":\"a\"}".to_vec(),
            415,
        ),
    ];
    for (case, content_type, body, status) in cases {
        let auth = [("authorization", bearer.as_str())];
        for (encoded, req) in posts_as_text_and_base64("/todo_items", &auth, content_type, &body) {
            let response = f.todos.handle(req).await;
            assert_eq!(response.status(), status, "{case} (base64: {encoded})");
            assert!(!message(&response).is_empty(), "{case}");
        }
    }
    assert!(f.stored(2002).await.is_empty(), "nothing was written");

    // The same body base64-encoded is the same item.
    let encoded = post(
        "/todo_items",
        &[("authorization", &bearer)],
        Some("application/json"),
        b"{\"value\":\"from base64\"}",
        true,
    );
    let created = f.todos.handle(encoded).await;
    assert_eq!(created.status(), 201);
    assert_eq!(f.stored(2002).await.len(), 1);
}

#[tokio::test]
async fn hostile_sdk_exchange_bodies_are_clear_4xx() {
    // A form without a usable token is a 401 like an unknown token (Zendesk's contract); only a
    // body that is not a form at all is a 415.
    let f = sdk_exchange_fixture().await;
    f.register("hostile-bodies-token-1", 3600, &[]).await;
    let form = Some("application/x-www-form-urlencoded");
    let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        ("no field", form, b"".to_vec(), 401),
        (
            "the field twice",
            form,
            b"user_token=a&user_token=hostile-bodies-token-1".to_vec(),
            401,
        ),
        (
            "the field twice, once empty",
            form,
            b"user_token=hostile-bodies-token-1&user_token=".to_vec(),
            401,
        ),
        (
            "an array-style field",
            form,
            b"user_token[]=hostile-bodies-token-1".to_vec(),
            401,
        ),
        (
            "the field in upper case",
            form,
            b"USER_TOKEN=hostile-bodies-token-1".to_vec(),
            401,
        ),
        (
            "JSON sent as a form",
            form,
            b"{\"user_token\":\"hostile-bodies-token-1\"}".to_vec(),
            401,
        ),
        ("a field without a value", form, b"user_token".to_vec(), 401),
        (
            "a broken percent escape",
            form,
            b"user_token=%ZZ".to_vec(),
            401,
        ),
        ("invalid UTF-8", form, b"user_token=\xff\xfe".to_vec(), 401),
        ("one byte over 16 KiB", form, vec![b'a'; 16 * 1024 + 1], 413),
        (
            "JSON",
            Some("application/json"),
            b"{\"user_token\":\"hostile-bodies-token-1\"}".to_vec(),
            415,
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x--".to_vec(),
            415,
        ),
        (
            "text/plain",
            Some("text/plain"),
            b"user_token=hostile-bodies-token-1".to_vec(),
            415,
        ),
        (
            "no content type",
            None,
            b"user_token=hostile-bodies-token-1".to_vec(),
            415,
        ),
    ];
    for (case, content_type, body, status) in cases {
        for (encoded, req) in posts_as_text_and_base64("/sdk/jwt", &[], content_type, &body) {
            let response = f.exchange.handle(req).await;
            assert_eq!(response.status(), status, "{case} (base64: {encoded})");
            assert!(!message(&response).is_empty(), "{case}");
            assert!(header(&response, "location").is_none(), "never a redirect");
        }
    }
    let encoded = post(
        "/sdk/jwt",
        &[],
        FORM,
        b"user_token=hostile-bodies-token-1",
        true,
    );
    assert_eq!(f.exchange.handle(encoded).await.status(), 200);
}

#[tokio::test]
async fn hostile_sidebar_bodies_are_clear_4xx_pages() {
    let sidebar = sidebar_from_secrets_manager().await;
    let token = valid_token();
    let form = Some("application/x-www-form-urlencoded");
    let cases: Vec<(&str, &str, Option<&str>, String, u16)> = vec![
        (
            "JSON",
            PAGE,
            Some("application/json"),
            json!({"token": token}).to_string(),
            400,
        ),
        (
            "multipart",
            PAGE,
            Some("multipart/form-data; boundary=x"),
            "--x--".into(),
            400,
        ),
        ("no content type", PAGE, None, format!("token={token}"), 400),
        (
            "the token twice",
            PAGE,
            form,
            format!("token={token}&token={token}"),
            400,
        ),
        (
            "an array-style field",
            PAGE,
            form,
            format!("token[]={token}"),
            400,
        ),
        (
            "one byte over 16 KiB",
            PAGE,
            form,
            "a".repeat(16 * 1024 + 1),
            413,
        ),
        (
            "origin twice in the page address",
            "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&origin=https%3A%2F%2Fevil.example&app_guid=abc",
            form,
            format!("token={token}"),
            400,
        ),
    ];
    for (case, page, content_type, body, status) in cases {
        for (encoded, req) in posts_as_text_and_base64(page, &[], content_type, body.as_bytes()) {
            let response = sidebar.handle(req).await;
            assert_eq!(response.status(), status, "{case} (base64: {encoded})");
            assert_eq!(
                header(&response, "content-type"),
                Some("text/html; charset=utf-8"),
                "{case}"
            );
            assert!(!text(&response).contains("ZAFClient"), "{case}");
        }
    }
    let encoded = post(PAGE, &[], FORM, format!("token={token}").as_bytes(), true);
    assert_eq!(sidebar.handle(encoded).await.status(), 200);
}

#[tokio::test]
async fn user_tokens_that_resemble_a_real_one_are_refused() {
    let f = sdk_exchange_fixture().await;
    let real = "ut-7f3a9c2e5b1d4e6f8a0b";
    f.register(real, 3600, &[]).await;
    let hash = sdk_exchange::token_hash(real);
    let cases: Vec<(&str, String)> = vec![
        ("a prefix", real[..real.len() - 1].to_owned()),
        ("a longer token", format!("{real}0")),
        ("upper case", real.to_uppercase()),
        ("a leading space", format!(" {real}")),
        ("a trailing newline", format!("{real}\n")),
        ("its stored hash", hash.clone()),
        ("its hash in upper case", hash.to_uppercase()),
        ("__proto__", "__proto__".into()),
        ("constructor", "constructor".into()),
        ("prototype", "prototype".into()),
        ("toString", "toString".into()),
        ("hasOwnProperty", "hasOwnProperty".into()),
        ("null", "null".into()),
        ("undefined", "undefined".into()),
        ("[object Object]", "[object Object]".into()),
        ("0", "0".into()),
        ("an injection", "' OR '1'='1".into()),
        ("a DynamoDB attribute", "{\"S\":\"x\"}".into()),
        ("4096 bytes", "u".repeat(4096)),
        ("4097 bytes", "u".repeat(4097)),
        ("15 KiB", "u".repeat(15 * 1024)),
    ];
    for (case, user_token) in cases {
        let form = serde_urlencoded::to_string([("user_token", user_token.as_str())]).unwrap();
        let response = f.exchange(&form).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(
            json_body(&response),
            json!({"message": "Unknown or expired user token"}),
            "{case}"
        );
    }
    let response = f.exchange(&format!("user_token={real}")).await;
    assert_eq!(response.status(), 200, "the real token still works");
}
