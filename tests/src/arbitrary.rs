//! What the property tests generate: arbitrary tokens, one-character edits of a valid token,
//! content types and bodies; and the runner and runtime they run in.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::tokens::base64url;

/// A runtime for driving the async handlers from inside a property.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A runner of `cases` cases that writes no regression files into the source tree.
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Names that matter somewhere in a JWT header, a claim set or a request body, and others.
pub fn field_name() -> impl Strategy<Value = String> {
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
pub fn json_value() -> impl Strategy<Value = Value> {
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

/// Three base64url segments: a header with a plausible or odd `alg` and any other fields, any
/// claims, any signature bytes.
pub fn jwt_shaped() -> impl Strategy<Value = String> {
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
                base64url(serde_json::to_string(&header).unwrap()),
                base64url(claims.to_string()),
                base64url(&signature)
            )
        })
}

/// Any token-like text: printable ASCII, JWT-shaped, or text with arbitrary characters.
pub fn any_token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,300}",
        jwt_shaped(),
        // Beyond printable ASCII; the to-do API gets it in a header, where it is not text.
        "[ -~\u{80}-\u{10ffff}]{0,80}",
    ]
}

/// How to change one character of a token.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Replace the character at the index.
    Replace(prop::sample::Index, char),
    /// Insert a character at the index.
    Insert(prop::sample::Index, char),
    /// Delete the character at the index.
    Delete(prop::sample::Index),
}

/// Any one-character change, with characters that are at home in a token and some that are not.
pub fn mutation() -> impl Strategy<Value = Mutation> {
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

/// `token` with `mutation` applied.
pub fn mutate(token: &str, mutation: &Mutation) -> String {
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

/// Content types a client might send, right and wrong.
pub fn content_type() -> impl Strategy<Value = Option<String>> {
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
pub fn any_body() -> impl Strategy<Value = Vec<u8>> {
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

/// Whether a body would be a good new to-do item (those are not what the body property is
/// about).
pub fn is_a_valid_item(content_type: Option<&str>, body: &[u8]) -> bool {
    let json = content_type.is_none_or(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    });
    let value: Option<Value> = serde_json::from_slice(body).ok();
    json && value.is_some_and(|v| v["value"].as_str().is_some_and(|s| !s.trim().is_empty()))
}
