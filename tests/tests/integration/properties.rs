//! Property-based tests: for arbitrary tokens and arbitrary bodies, every handler answers with a
//! 4xx and a clear body; never a panic, never a 5xx, never the protected answer.

use std::collections::BTreeMap;

use integration_tests::*;
use lambda_http::{Body, Response};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tower::ServiceExt;

use super::attacks::Endpoint;

const SIDEBAR_PAGE: &str = "/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A runner that writes no regression files into the source tree.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Names that matter somewhere in a JWT header, a claim set or a request body, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "alg",
            "kid",
            "jku",
            "x5u",
            "jwk",
            "x5c",
            "typ",
            "crit",
            "exp",
            "iat",
            "nbf",
            "aud",
            "iss",
            "sub",
            "userId",
            "name",
            "email",
            "value",
            "token",
            "user_token",
            "__proto__",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_]{1,8}",
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Three base64url segments: a header with a plausible or odd `alg` and any other fields, any
/// claims, any signature bytes.
fn jwt_shaped() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        prop::sample::select(vec![
            "RS256", "none", "NONE", "HS256", "ES256", "PS256", "RS512"
        ])
        .prop_map(Value::from),
        json_value(),
    ];
    (
        alg,
        prop::collection::btree_map(field_name(), json_value(), 0..4),
        json_value(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(alg, extra, claims, signature)| {
            let mut header: BTreeMap<String, Value> = extra;
            header.insert("alg".into(), alg);
            format!(
                "{}.{}.{}",
                base64url(serde_json::to_string(&header).unwrap().as_bytes()),
                base64url(claims.to_string().as_bytes()),
                base64url(&signature)
            )
        })
}

/// Any token-like text: printable ASCII, JWT-shaped, or text with arbitrary characters.
fn any_token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,300}",
        jwt_shaped(),
        // Beyond printable ASCII; the to-do API gets it in a header, where it is not text.
        "[ -~\u{80}-\u{10ffff}]{0,80}",
    ]
}

/// THEN the answer is the endpoint's ordinary refusal (400 for a sidebar POST with no token).
fn refused(endpoint: &Endpoint, token: &str, response: &Response<Body>) -> bool {
    endpoint.is_refusal(response)
        || (token.is_empty()
            && matches!(endpoint, Endpoint::Sidebar(_))
            && response.status() == 400)
}

#[test]
fn arbitrary_tokens_are_refused_by_every_endpoint() {
    let rt = runtime();
    let endpoints = rt.block_on(Endpoint::all());
    runner(256)
        .run(&any_token(), |token| {
            for endpoint in &endpoints {
                let response = rt.block_on(endpoint.present(&token));
                prop_assert!(
                    refused(endpoint, &token, &response),
                    "{}: {} {}",
                    endpoint.name(),
                    response.status(),
                    text(&response)
                );
            }
            Ok(())
        })
        .unwrap();
}

/// How to change one character of a token.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(prop::sample::Index, char),
    Insert(prop::sample::Index, char),
    Delete(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let ch = prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (any::<prop::sample::Index>(), ch.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (any::<prop::sample::Index>(), ch).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
    ]
}

fn mutate(token: &str, mutation: &Mutation) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    match mutation {
        Mutation::Replace(i, c) => {
            let i = i.index(chars.len());
            chars[i] = *c;
        }
        Mutation::Insert(i, c) => {
            let i = i.index(chars.len() + 1);
            chars.insert(i, *c);
        }
        Mutation::Delete(i) => {
            let i = i.index(chars.len());
            chars.remove(i);
        }
    }
    chars.into_iter().collect()
}

#[test]
fn a_valid_token_changed_in_one_character_is_refused_by_every_endpoint() {
    let rt = runtime();
    let endpoints = rt.block_on(Endpoint::all());
    let valid: Vec<String> = endpoints.iter().map(Endpoint::valid_token).collect();
    runner(256)
        .run(&mutation(), |mutation| {
            for (endpoint, valid) in endpoints.iter().zip(&valid) {
                let token = mutate(valid, &mutation);
                prop_assume!(&token != valid);
                let response = rt.block_on(endpoint.present(&token));
                prop_assert!(
                    refused(endpoint, &token, &response),
                    "{}: {token}: {} {}",
                    endpoint.name(),
                    response.status(),
                    text(&response)
                );
            }
            Ok(())
        })
        .unwrap();
}

/// Content types a client might send, right and wrong.
fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
        ])
        .prop_map(|t| Some(t.to_owned())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

/// Any body: JSON, a form with the fields the handlers read, text, or bytes.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let form = prop::collection::vec((field_name(), "[ -~]{0,40}"), 0..4)
        .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap().into_bytes());
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        form,
        "[ -~]{0,200}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..300),
        (0usize..3).prop_map(|extra| vec![b'x'; 16 * 1024 + extra]),
    ]
}

/// A request with `body`, base64-encoded when it is not text or when `encode` says so (API
/// Gateway does either).
fn with_body(
    path: &str,
    headers: &[(&str, &str)],
    content_type: &Option<String>,
    body: &[u8],
    encode: bool,
) -> lambda_http::Request {
    let mut headers = headers.to_vec();
    if let Some(content_type) = content_type {
        headers.push(("content-type", content_type));
    }
    match std::str::from_utf8(body) {
        Ok(text) if !encode => request("POST", path, &headers, Some(text)),
        _ => request_base64("POST", path, &headers, body),
    }
}

/// Whether a body would be a good new to-do item (those are not what this test is about).
fn is_a_valid_item(content_type: &Option<String>, body: &[u8]) -> bool {
    let json = content_type.as_deref().is_none_or(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    });
    let value: Option<Value> = serde_json::from_slice(body).ok();
    json && value.is_some_and(|v| v["value"].as_str().is_some_and(|s| !s.trim().is_empty()))
}

#[test]
fn arbitrary_bodies_never_get_a_2xx_or_a_5xx_from_any_handler() {
    let rt = runtime();
    let todos = rt.block_on(super::todos::fixture());
    let sdk = rt.block_on(super::sdk_exchange::fixture());
    let sidebar = rt.block_on(super::sidebar::sidebar_from_secrets_manager());
    let bearer = format!("Bearer {}", super::todos::token_for(77_001));
    runner(256)
        .run(
            &(content_type(), any_body(), any::<bool>()),
            |(content_type, body, encode)| {
                let mut answers = Vec::new();
                if !is_a_valid_item(&content_type, &body) {
                    let req = with_body(
                        "/todo_items",
                        &[("authorization", &bearer)],
                        &content_type,
                        &body,
                        encode,
                    );
                    answers.push((
                        "todos",
                        rt.block_on(todos::service(todos.todos.clone()).oneshot(req))
                            .unwrap(),
                    ));
                }
                let req = with_body("/sdk/jwt", &[], &content_type, &body, encode);
                answers.push(("sdk-exchange", rt.block_on(sdk.exchange.handle(req))));
                let req = with_body(SIDEBAR_PAGE, &[], &content_type, &body, encode);
                answers.push(("sidebar", rt.block_on(sidebar.handle(req))));
                for (handler, response) in answers {
                    prop_assert!(
                        response.status().is_client_error(),
                        "{handler}: {} {}",
                        response.status(),
                        text(&response)
                    );
                    prop_assert!(!text(&response).is_empty(), "{handler}: an empty body");
                }
                Ok(())
            },
        )
        .unwrap();
    assert!(
        rt.block_on(todos.stored(77_001)).is_empty(),
        "nothing was written"
    );
}
