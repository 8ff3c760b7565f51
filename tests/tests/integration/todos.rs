//! The to-do API: authentication, per-user isolation, validation, the cap, concurrency, CORS.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::events::{header, json_body, message, text};
use integration_tests::jwks_server::JwksMode;
use integration_tests::todos::{
    assert_invalid_authentication, fixture, fixture_with, in_parallel, token_for, values,
};
use integration_tests::tokens::{keys, public_key_as_hmac_secret, raw_token, sign_with};
use integration_tests::{HELP_CENTER_ORIGIN, SUBDOMAIN};
use jsonwebtoken::Algorithm;
use serde_json::json;
use todos::TodosConfig;
use zendesk_jwt::devkeys::{self, help_center_claims};

#[tokio::test]
async fn a_new_user_has_an_empty_list() {
    let f = fixture().await;
    let response = f.list(1).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(json_body(&response), json!({"todo_items": []}));
}

#[tokio::test]
async fn added_items_come_back_in_order_of_creation_with_safe_integer_ids() {
    let f = fixture().await;
    for value in ["first", "second", "third"] {
        let response = f.add(7, value).await;
        assert_eq!(response.status(), 201);
    }
    let body = json_body(&f.list(7).await);
    assert_eq!(values(&body), ["first", "second", "third"]);
    for item in body["todo_items"].as_array().unwrap() {
        let id = item["id"].as_u64().expect("ids are JSON numbers");
        assert!(id > 0 && id < 1 << 53);
    }
    assert_eq!(
        f.stored(7).await.len(),
        3,
        "the table holds the three items"
    );
}

#[tokio::test]
async fn a_post_answers_the_whole_list() {
    let f = fixture().await;
    f.add(8, "one").await;
    let body = json_body(&f.add(8, "two").await);
    assert_eq!(values(&body), ["one", "two"]);
}

#[tokio::test]
async fn delete_removes_the_item_and_answers_the_rest() {
    let f = fixture().await;
    f.add(9, "keep").await;
    let body = json_body(&f.add(9, "drop").await);
    let drop_id = body["todo_items"][1]["id"].as_u64().unwrap();
    let response = f.delete(9, drop_id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(values(&json_body(&response)), ["keep"]);
    assert_eq!(f.stored(9).await.len(), 1);
}

#[tokio::test]
async fn deleting_an_absent_item_is_harmless() {
    let f = fixture().await;
    f.add(10, "still here").await;
    let response = f.delete(10, 123_456).await;
    assert_eq!(response.status(), 200);
    assert_eq!(values(&json_body(&response)), ["still here"]);
    // The counter was not decremented by the harmless delete: the user can still reach the cap.
    let again = f.delete(10, 123_456).await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn users_see_and_change_only_their_own_items() {
    let f = fixture().await;
    let a = json_body(&f.add(100, "A's secret").await);
    let a_id = a["todo_items"][0]["id"].as_u64().unwrap();
    f.add(200, "B's item").await;

    let b_list = json_body(&f.list(200).await);
    assert_eq!(values(&b_list), ["B's item"], "B does not see A's items");

    let b_delete = f.delete(200, a_id).await;
    assert_eq!(b_delete.status(), 200);
    assert_eq!(values(&json_body(&b_delete)), ["B's item"]);
    assert_eq!(
        f.stored(100).await,
        vec![(a_id, "A's secret".to_owned())],
        "A's item survived B's delete"
    );
}

#[tokio::test]
async fn a_numeric_string_user_id_is_the_same_user() {
    let f = fixture().await;
    f.add(300, "mine").await;
    let token = keys()
        .primary
        .sign(&json!({"userId": "300", "exp": devkeys::now() + 300}));
    let response = f.as_user(&token, "GET", "/todo_items", None).await;
    assert_eq!(values(&json_body(&response)), ["mine"]);
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_write_nothing() {
    let f = fixture().await;
    assert_eq!(f.add(401, "a good item").await.status(), 201);
    let token = token_for(400);
    let long = "x".repeat(1001);
    let huge = json!({ "value": "y".repeat(17 * 1024) }).to_string();
    let cases: Vec<(&str, Option<&str>, String, u16)> = vec![
        (
            "not JSON",
            Some("application/json"),
            "value=milk".into(),
            400,
        ),
        ("empty body", Some("application/json"), String::new(), 400),
        ("no value", Some("application/json"), "{}".into(), 400),
        (
            "value is a number",
            Some("application/json"),
            r#"{"value": 42}"#.into(),
            400,
        ),
        (
            "value is null",
            Some("application/json"),
            r#"{"value": null}"#.into(),
            400,
        ),
        (
            "value is an array",
            Some("application/json"),
            r#"{"value": ["a"]}"#.into(),
            400,
        ),
        (
            "blank value",
            Some("application/json"),
            r#"{"value": "   "}"#.into(),
            400,
        ),
        (
            "value over 1000 characters",
            Some("application/json"),
            json!({ "value": long }).to_string(),
            400,
        ),
        (
            "duplicated value",
            Some("application/json"),
            r#"{"value": "a", "value": "b"}"#.into(),
            400,
        ),
        (
            "a JSON array",
            Some("application/json"),
            r#"["a"]"#.into(),
            400,
        ),
        ("body over 16 KiB", Some("application/json"), huge, 413),
        (
            "form content type",
            Some("application/x-www-form-urlencoded"),
            "value=milk".into(),
            415,
        ),
    ];
    for (case, content_type, body, status) in cases {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        let response = f.call("POST", "/todo_items", &headers, Some(&body)).await;
        assert_eq!(response.status(), status, "{case}");
        let message = json_body(&response)["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!message.is_empty(), "{case}: no message");
    }
    assert!(f.stored(400).await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn bad_paths_and_methods_are_clear_errors() {
    let f = fixture().await;
    let token = token_for(450);
    assert_eq!(f.list(450).await.status(), 200);
    let not_an_id = f.as_user(&token, "DELETE", "/todo_items/abc", None).await;
    assert_eq!(not_an_id.status(), 404);
    let too_big = f
        .as_user(&token, "DELETE", "/todo_items/9007199254740993", None)
        .await;
    assert_eq!(too_big.status(), 404);
    // An id is named in plain digits: with a leading zero it names no item, and nothing goes.
    assert_eq!(f.add(450, "milk").await.status(), 201);
    let id = f.stored(450).await[0].0;
    let padded = f
        .as_user(&token, "DELETE", &format!("/todo_items/0{id}"), None)
        .await;
    assert_eq!(padded.status(), 404);
    assert_eq!(f.stored_values(450).await, ["milk"]);
    assert_eq!(f.delete(450, id).await.status(), 200);
    assert!(f.stored(450).await.is_empty());
    let put = f.as_user(&token, "PUT", "/todo_items", None).await;
    assert_eq!(put.status(), 405);
    let elsewhere = f.as_user(&token, "GET", "/other", None).await;
    assert_eq!(elsewhere.status(), 404);
    assert!(json_body(&elsewhere)["message"].is_string());
}

#[tokio::test]
async fn the_cap_is_enforced_and_a_delete_frees_a_slot() {
    let f = fixture_with(3, Duration::from_secs(30)).await;
    for i in 0..3 {
        assert_eq!(f.add(500, &format!("item {i}")).await.status(), 201);
    }
    let refused = f.add(500, "one too many").await;
    assert_eq!(refused.status(), 409);
    assert!(message(&refused).contains("maximum"));
    assert_eq!(f.stored(500).await.len(), 3);

    let first = f.stored(500).await[0].0;
    f.delete(500, first).await;
    assert_eq!(f.add(500, "fits again").await.status(), 201);
    assert_eq!(f.stored(500).await.len(), 3);
}

#[tokio::test]
async fn fifty_concurrent_posts_give_exactly_fifty_items() {
    let f = Arc::new(fixture().await);
    let posts = (0..50).map(|i| {
        let f = f.clone();
        tokio::spawn(async move { f.add(600, &format!("item {i}")).await.status().as_u16() })
    });
    let statuses = futures::future::join_all(posts).await;
    assert!(
        statuses.iter().all(|s| *s.as_ref().unwrap() == 201),
        "{statuses:?}"
    );
    let stored = f.stored(600).await;
    assert_eq!(stored.len(), 50);
    let mut values: Vec<_> = stored.into_iter().map(|(_, v)| v).collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 50, "no item lost or duplicated");
}

#[tokio::test]
async fn the_cap_holds_under_concurrent_posts_and_every_refusal_stays_a_409() {
    // GIVEN a cap of 50, and one user's token
    let f = Arc::new(fixture_with(50, Duration::from_secs(30)).await);
    let token = token_for(700);
    // AND DynamoDB Local warmed up: its JVM compiles its write path during the first few hundred
    // writes, and cold it is many times slower than DynamoDB (its queue on one item outlasts
    // every budget: docs/PERFORMANCE.md, section 8)
    let warm_up: Vec<_> = (0..300)
        .map(|i| {
            let f = f.clone();
            async move { f.add(701 + i % 6, "warm-up").await.status().as_u16() }
        })
        .collect();
    assert!(
        in_parallel(warm_up)
            .await
            .iter()
            .all(|s| *s == 201 || *s == 409)
    );
    // WHEN 600 adds for that user are sent at once (they queue on the user's one item: many time
    // out before DynamoDB answers them)
    let posts = (0..600).map(|i| {
        let (f, token) = (f.clone(), token.clone());
        tokio::spawn(async move {
            let value = format!("item {i}");
            let body = json!({ "value": value }).to_string();
            let response = f.as_user(&token, "POST", "/todo_items", Some(&body)).await;
            (value, response.status().as_u16())
        })
    });
    let outcomes: Vec<(String, u16)> = futures::future::join_all(posts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let statuses = |status: u16| outcomes.iter().filter(|(_, s)| *s == status).count();
    // THEN exactly 50 are created and the other 550 are the cap's 409 (never a 503 for a
    // refusal DynamoDB gave, or would give),
    assert_eq!(
        (statuses(201), statuses(409)),
        (50, 550),
        "{:?}",
        outcomes.iter().map(|(_, s)| *s).collect::<Vec<_>>()
    );
    // AND the 50 stored are exactly the ones answered 201.
    let mut stored = f.stored_values(700).await;
    let mut created: Vec<String> = outcomes
        .into_iter()
        .filter(|(_, s)| *s == 201)
        .map(|(v, _)| v)
        .collect();
    stored.sort();
    created.sort();
    assert_eq!(stored, created);
    f.assert_totals_agree(700).await;
}

#[tokio::test]
async fn every_bad_token_is_the_same_401() {
    let f = fixture().await;
    assert_eq!(f.list(800).await.status(), 200);
    let keys = keys();
    let claims = help_center_claims(800, 300);
    let mut expired = claims.clone();
    expired["exp"] = json!(devkeys::now() - 120);
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("expired", Some(keys.primary.sign(&expired))),
        ("no exp", Some(keys.primary.sign(&no_exp))),
        (
            "alg none",
            Some(raw_token(
                &json!({"alg": "none", "kid": "hc-1"}),
                &claims,
                "",
            )),
        ),
        (
            "HS256 signed with the public key",
            Some(sign_with(
                Algorithm::HS256,
                &public_key_as_hmac_secret(&keys.primary),
                Some("hc-1"),
                &claims,
            )),
        ),
        (
            "RS384 with the right key",
            Some(sign_with(
                Algorithm::RS384,
                keys.primary.encoding_key(),
                Some("hc-1"),
                &claims,
            )),
        ),
        (
            "PS256 with the right key",
            Some(sign_with(
                Algorithm::PS256,
                keys.primary.encoding_key(),
                Some("hc-1"),
                &claims,
            )),
        ),
        (
            "rogue key with a trusted kid",
            Some(keys.rogue.sign(&claims)),
        ),
        (
            "no kid",
            Some(sign_with(
                Algorithm::RS256,
                keys.primary.encoding_key(),
                None,
                &claims,
            )),
        ),
        (
            "userId not numeric",
            Some(
                keys.primary
                    .sign(&json!({"userId": "abc", "exp": devkeys::now() + 300})),
            ),
        ),
        (
            "userId missing",
            Some(keys.primary.sign(&json!({"exp": devkeys::now() + 300}))),
        ),
        ("garbage", Some("a.b.c".into())),
    ];
    for (case, token) in cases {
        let response = match &token {
            Some(token) => f.as_user(token, "GET", "/todo_items", None).await,
            None => f.call("GET", "/todo_items", &[], None).await,
        };
        assert_invalid_authentication(&response, case);
    }
    let basic = f
        .call(
            "GET",
            "/todo_items",
            &[("authorization", "Basic dXNlcjpwYXNz")],
            None,
        )
        .await;
    assert_invalid_authentication(&basic, "Basic scheme");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origin_and_preflight_needs_no_token() {
    let f = fixture().await;
    let preflight = |origin: &'static str| {
        [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ]
    };
    let allowed = f
        .call(
            "OPTIONS",
            "/todo_items",
            &preflight(HELP_CENTER_ORIGIN),
            None,
        )
        .await;
    assert!(allowed.status().is_success());
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(HELP_CENTER_ORIGIN)
    );
    let methods = header(&allowed, "access-control-allow-methods")
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("DELETE"));
    let headers = header(&allowed, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"));

    for origin in [
        "https://evil.example",
        "https://acme.zendesk.com.evil.example",
        "null",
        "http://acme.zendesk.com",
    ] {
        let refused = f
            .call("OPTIONS", "/todo_items", &preflight(origin), None)
            .await;
        assert_eq!(
            header(&refused, "access-control-allow-origin"),
            None,
            "{origin}"
        );
    }

    let get = f.list_from(HELP_CENTER_ORIGIN, 900).await;
    assert_eq!(get.status(), 200);
    assert_eq!(
        header(&get, "access-control-allow-origin"),
        Some(HELP_CENTER_ORIGIN)
    );
    assert!(
        header(&get, "vary")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("origin")
    );
}

#[tokio::test]
async fn an_unknown_kid_costs_one_refetch_then_401() {
    let f = fixture().await;
    assert_eq!(f.list(1000).await.status(), 200);
    assert_eq!(f.jwks.hits(), 1, "the JWKS is fetched lazily, once");

    let unknown = sign_with(
        Algorithm::RS256,
        keys().rotated.encoding_key(),
        Some("nobody"),
        &help_center_claims(1000, 300),
    );
    assert_invalid_authentication(
        &f.as_user(&unknown, "GET", "/todo_items", None).await,
        "unknown kid",
    );
    assert_eq!(f.jwks.hits(), 2, "one refresh for the unknown kid");
    assert_invalid_authentication(
        &f.as_user(&unknown, "GET", "/todo_items", None).await,
        "unknown kid again",
    );
    assert_eq!(f.jwks.hits(), 2, "no second refresh within the cool-down");
    assert_eq!(f.list(1000).await.status(), 200);
    assert_eq!(f.jwks.hits(), 2, "known keys come from the cache");
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_a_refresh() {
    let f = fixture_with(500, Duration::ZERO).await;
    assert_eq!(f.list(1100).await.status(), 200);
    f.jwks
        .set_document(devkeys::jwks(&[&keys().primary, &keys().rotated]));
    let rotated = keys().rotated.sign(&help_center_claims(1100, 300));
    let response = f.as_user(&rotated, "GET", "/todo_items", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(f.jwks.hits(), 2);
}

#[tokio::test]
async fn cached_keys_keep_working_when_the_jwks_goes_down() {
    let f = fixture_with(500, Duration::ZERO).await;
    assert_eq!(f.list(1200).await.status(), 200);
    f.jwks.set_mode(JwksMode::Down);
    assert_eq!(f.list(1200).await.status(), 200);
    // An unknown kid now triggers a failing refresh; the known key still works afterwards.
    let unknown = keys().rotated.sign(&help_center_claims(1200, 300));
    let refused = f.as_user(&unknown, "GET", "/todo_items", None).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(f.list(1200).await.status(), 200);
}

#[tokio::test]
async fn a_cold_cache_with_the_jwks_down_is_a_503() {
    let f = fixture().await;
    f.jwks.set_mode(JwksMode::Down);
    let response = f.list(1300).await;
    assert_eq!(response.status(), 503);
    assert!(json_body(&response)["message"].is_string());
}

#[tokio::test]
async fn an_add_retried_with_its_idempotency_key_is_stored_once() {
    let f = fixture().await;
    // GIVEN an add made with a key
    let first = f.add_with_key(1400, "buy milk", "5b0c6c9e-1").await;
    assert_eq!(first.status(), 201);
    assert_eq!(header(&first, "idempotent-replayed"), None);
    // WHEN the client sends it again with the same key (its answer was lost, say)
    let again = f.add_with_key(1400, "buy milk", "5b0c6c9e-1").await;
    // THEN it gets the same answer, marked as a replay, and there is still one item
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), Some("true"));
    assert_eq!(json_body(&again), json_body(&first));
    assert_eq!(f.stored(1400).await.len(), 1);
    assert_eq!(f.counter(1400).await, 1);
    // AND another key is another add, as is an add without a key (behaviour without the header
    // is unchanged: two adds, two items)
    assert_eq!(
        f.add_with_key(1400, "buy milk", "5b0c6c9e-2")
            .await
            .status(),
        201
    );
    assert_eq!(f.add(1400, "buy milk").await.status(), 201);
    assert_eq!(f.add(1400, "buy milk").await.status(), 201);
    assert_eq!(f.stored(1400).await.len(), 4);
    assert_eq!(f.counter(1400).await, 4);
}

#[tokio::test]
async fn concurrent_adds_with_one_key_store_one_item() {
    let f = Arc::new(fixture().await);
    let posts = (0..20).map(|_| {
        let f = f.clone();
        tokio::spawn(async move {
            let response = f.add_with_key(1500, "only once", "same-key").await;
            (
                response.status().as_u16(),
                header(&response, "idempotent-replayed").map(str::to_owned),
            )
        })
    });
    let answers: Vec<(u16, Option<String>)> = futures::future::join_all(posts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        answers.iter().all(|(status, _)| *status == 201),
        "{answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|(_, replayed)| replayed.is_none())
            .count(),
        1,
        "exactly one add was made: {answers:?}"
    );
    assert_eq!(f.stored_values(1500).await, ["only once"]);
    assert_eq!(f.counter(1500).await, 1);
}

#[tokio::test]
async fn a_key_reused_for_another_item_is_refused_and_a_bad_key_is_a_400() {
    let f = fixture().await;
    assert_eq!(f.add_with_key(1600, "first", "key-1").await.status(), 201);
    let reused = f.add_with_key(1600, "something else", "key-1").await;
    assert_eq!(reused.status(), 422);
    assert!(message(&reused).contains("Idempotency-Key"));
    for bad in ["", "has space", &"x".repeat(65), "quote\"d"] {
        let response = f.add_with_key(1600, "third", bad).await;
        assert_eq!(response.status(), 400, "{bad:?}");
        assert!(message(&response).contains("Idempotency-Key"), "{bad:?}");
    }
    assert_eq!(
        f.stored_values(1600).await,
        ["first"],
        "nothing else was written"
    );
}

#[tokio::test]
async fn an_expired_key_may_be_used_again_and_old_keys_are_cleaned_up() {
    let f = fixture().await;
    let user = 1700;
    assert_eq!(f.add_with_key(user, "seed", "live-0").await.status(), 201);
    // GIVEN the user's item holds one expired key record and 110 live ones (as a day of adds
    // would leave them)
    let now = devkeys::now() as u64;
    let record = |expires: u64| {
        AttributeValue::M(HashMap::from([
            ("h".to_owned(), AttributeValue::S("0".repeat(32))),
            ("e".to_owned(), AttributeValue::N(expires.to_string())),
        ]))
    };
    let mut update = f
        .dynamodb
        .update_item()
        .table_name(&f.table)
        .key("owner", AttributeValue::S(format!("{SUBDOMAIN}#{user}")))
        .expression_attribute_names("#old", "kexpired")
        .expression_attribute_values(":old", record(now - 10));
    let mut set = vec!["#old = :old".to_owned()];
    for i in 1..=110 {
        update = update
            .expression_attribute_names(format!("#k{i}"), format!("klive-{i}"))
            .expression_attribute_values(format!(":k{i}"), record(now + 1000 + i));
        set.push(format!("#k{i} = :k{i}"));
    }
    update
        .update_expression(format!("SET {}", set.join(", ")))
        .send()
        .await
        .unwrap();
    // WHEN an add reuses the expired key
    let response = f.add_with_key(user, "new item", "expired").await;
    // THEN it is a new add, not a replay
    assert_eq!(response.status(), 201);
    assert_eq!(header(&response, "idempotent-replayed"), None);
    assert_eq!(values(&json_body(&response)), ["seed", "new item"]);
    // AND the key records were cut down to the newest 64, the new key among them
    let item = f.user_item(user).await;
    let keys: Vec<&String> = item.keys().filter(|name| name.starts_with('k')).collect();
    assert_eq!(keys.len(), 64, "{keys:?}");
    assert!(item.contains_key("kexpired"), "the renewed key is kept");
    assert!(!item.contains_key("klive-1"), "the oldest records are gone");
    assert!(item.contains_key("klive-110"));
    // AND the to-dos themselves were not touched
    assert_eq!(f.stored(user).await.len(), 2);
    assert_eq!(f.counter(user).await, 2);
}

#[tokio::test]
async fn a_users_values_share_a_byte_budget_that_a_delete_frees() {
    let f = fixture().await;
    let user = 1800;
    // 1000 characters of three bytes each: 3,000 bytes; 100 of them fill the 300,000 bytes.
    let big = "€".repeat(1000);
    for i in 0..100 {
        let response = f.add(user, &big).await;
        assert_eq!(response.status(), 201, "add {i}");
    }
    let refused = f.add(user, "x").await;
    assert_eq!(refused.status(), 409);
    assert!(
        message(&refused).contains("storage limit"),
        "{}",
        text(&refused)
    );
    assert_eq!(f.stored(user).await.len(), 100, "nothing was written");
    let item = f.user_item(user).await;
    assert_eq!(item["value_bytes"].as_n().unwrap(), "300000");
    // WHEN one item is deleted THEN its bytes are free again
    let first = f.stored(user).await[0].0;
    let deleted = f.delete(user, first).await;
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        f.user_item(user).await["value_bytes"].as_n().unwrap(),
        "297000"
    );
    assert_eq!(f.add(user, "fits again").await.status(), 201);
    assert_eq!(f.counter(user).await, 100);
}

#[test]
fn the_item_cap_is_bounded_by_what_one_dynamodb_item_holds() {
    let vars = |max: &str| -> Vec<(&str, String)> {
        vec![
            ("ZENDESK_SUBDOMAIN", "acme".into()),
            ("TODOS_TABLE", "t".into()),
            ("ALLOWED_ORIGINS", HELP_CENTER_ORIGIN.into()),
            ("MAX_ITEMS_PER_USER", max.into()),
        ]
    };
    assert_eq!(
        TodosConfig::from_vars(&vars("1000")).unwrap().max_items,
        1000
    );
    for bad in ["0", "1001", "1000000"] {
        let error = TodosConfig::from_vars(&vars(bad)).unwrap_err();
        assert_eq!(error.name, "MAX_ITEMS_PER_USER", "{bad}");
    }
}

#[tokio::test]
async fn hundreds_of_parallel_adds_and_deletes_across_users_lose_and_duplicate_nothing() {
    let f = fixture().await;
    let users: Vec<u64> = (1900..1910).collect();
    // WHEN 300 adds run in parallel, 30 for each of 10 users (every other one with a key)
    let mut adds = Vec::new();
    for &user in &users {
        for i in 0..30 {
            let f = &f;
            adds.push(async move {
                let value = format!("u{user} item {i}");
                let response = if i % 2 == 0 {
                    f.add_with_key(user, &value, &format!("k{i}")).await
                } else {
                    f.add(user, &value).await
                };
                response.status().as_u16()
            });
        }
    }
    let statuses = in_parallel(adds).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    // AND THEN 150 deletes (every other item of each user) and 150 more adds run in parallel
    let mut deletes = Vec::new();
    let mut expected: HashMap<u64, Vec<String>> = HashMap::new();
    for &user in &users {
        let stored = f.stored(user).await;
        assert_eq!(stored.len(), 30, "user {user} after the adds");
        for (n, (id, value)) in stored.into_iter().enumerate() {
            if n % 2 == 0 {
                deletes.push((user, id));
            } else {
                expected.entry(user).or_default().push(value);
            }
        }
    }
    let mut mixed = Vec::new();
    for (i, (user, id)) in deletes.into_iter().enumerate() {
        let f = &f;
        mixed.push(
            Box::pin(async move { f.delete(user, id).await.status().as_u16() })
                as std::pin::Pin<Box<dyn std::future::Future<Output = u16>>>,
        );
        let add_user = users[i % users.len()];
        let value = format!("u{add_user} item {}", 30 + i / users.len());
        expected.entry(add_user).or_default().push(value.clone());
        mixed.push(Box::pin(async move {
            f.add(add_user, &value).await.status().as_u16()
        }));
    }
    let statuses = in_parallel(mixed).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    // THEN each user has exactly the 15 items not deleted and the 15 added, once each
    for &user in &users {
        let mut values: Vec<String> = f.stored_values(user).await;
        let mut want = expected.remove(&user).unwrap();
        values.sort();
        want.sort();
        assert_eq!(values.len(), 30, "user {user}");
        assert_eq!(values, want, "user {user}");
        f.assert_totals_agree(user).await;
    }
}

#[tokio::test]
async fn hundreds_of_parallel_adds_and_deletes_for_one_user_at_the_cap_keep_it_exact() {
    let f = fixture_with(100, Duration::from_secs(30)).await;
    let user = 2000;
    // WHEN 300 adds for one user with a cap of 100 run in parallel
    let adds: Vec<_> = (0..300)
        .map(|i| {
            let f = &f;
            async move {
                let value = format!("item {i}");
                let status = f.add(user, &value).await.status().as_u16();
                (value, status)
            }
        })
        .collect();
    let outcomes = in_parallel(adds).await;
    // THEN exactly 100 are stored, and exactly the ones answered 201
    let created: Vec<&String> = outcomes
        .iter()
        .filter(|(_, s)| *s == 201)
        .map(|(v, _)| v)
        .collect();
    assert_eq!(created.len(), 100, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|(_, s)| *s == 409).count(), 200);
    let mut stored: Vec<String> = f.stored_values(user).await;
    let mut expected: Vec<String> = created.into_iter().cloned().collect();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
    // AND WHEN 50 deletes and 100 more adds race at the cap
    let ids: Vec<u64> = f
        .stored(user)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .take(50)
        .collect();
    let mut mixed = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let f = &f;
        mixed.push(Box::pin(async move {
            let status = f.delete(user, id).await.status().as_u16();
            (String::new(), status)
        })
            as std::pin::Pin<
                Box<dyn std::future::Future<Output = (String, u16)>>,
            >);
        for n in [300 + 2 * i, 301 + 2 * i] {
            mixed.push(Box::pin(async move {
                let value = format!("item {n}");
                let status = f.add(user, &value).await.status().as_u16();
                (value, status)
            }));
        }
    }
    let outcomes = in_parallel(mixed).await;
    // THEN every answer is 200, 201 or 409, no add got past the cap (each needs a slot a delete
    // freed), and exactly the later adds answered 201 are stored beside the 50 items that were
    // not deleted
    assert!(
        outcomes.iter().all(|(_, s)| [200, 201, 409].contains(s)),
        "{outcomes:?}"
    );
    let later_created = outcomes.iter().filter(|(_, s)| *s == 201).count();
    assert!(later_created <= 50, "{later_created} adds passed the cap");
    let stored = f.stored(user).await;
    assert_eq!(stored.len(), 50 + later_created);
    for (value, _) in outcomes.iter().filter(|(_, s)| *s == 201) {
        assert!(stored.iter().any(|(_, v)| v == value), "{value} was lost");
    }
    f.assert_totals_agree(user).await;
}

#[tokio::test]
async fn with_help_center_issuer_set_only_tokens_that_name_that_issuer_are_accepted() {
    // GIVEN the to-do API configured from its variables, with HELP_CENTER_ISSUER set
    let issuer = "https://acme.zendesk.com";
    let jwks =
        integration_tests::jwks_server::JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    let dynamodb = integration_tests::services::dynamodb();
    let table = integration_tests::services::create_table(&dynamodb, "owner").await;
    let mut vars = integration_tests::services::local_aws_vars();
    vars.extend([
        ("ZENDESK_SUBDOMAIN", SUBDOMAIN.to_owned()),
        ("TODOS_TABLE", table),
        ("ALLOWED_ORIGINS", HELP_CENTER_ORIGIN.to_owned()),
        ("HELP_CENTER_JWKS_URL", jwks.url()),
        ("HELP_CENTER_ISSUER", issuer.to_owned()),
    ]);
    let aws = zendesk_jwt::lambda::aws::Aws::from_vars(&vars);
    let todos = todos::Todos::new(&TodosConfig::from_vars(&vars).unwrap(), &aws).unwrap();
    let list_with = |iss: Option<&str>| {
        let mut claims = help_center_claims(2100, 300);
        if let Some(iss) = iss {
            claims["iss"] = json!(iss);
        }
        let auth = format!("Bearer {}", keys().primary.sign(&claims));
        integration_tests::events::request("GET", "/todo_items", &[("authorization", &auth)], None)
    };
    // WHEN a token names that issuer THEN it is accepted
    assert_eq!(todos.handle(list_with(Some(issuer))).await.status(), 200);
    // AND one of another issuer, or of none, gets the one 401 every bad token gets
    for (case, iss) in [
        ("another account", Some("https://evil.zendesk.com")),
        ("a look-alike", Some("https://acme.zendesk.com/")),
        ("no iss", None),
    ] {
        assert_invalid_authentication(&todos.handle(list_with(iss)).await, case);
    }
    // AND without HELP_CENTER_ISSUER (the default) the issuer is not checked.
    let f = fixture().await;
    let token = keys().primary.sign(&json!({
        "userId": 2100, "iss": "https://evil.zendesk.com", "exp": devkeys::now() + 300
    }));
    assert_eq!(
        f.as_user(&token, "GET", "/todo_items", None).await.status(),
        200
    );
}
