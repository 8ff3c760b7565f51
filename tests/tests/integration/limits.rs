//! DynamoDB's limits, met on purpose: every request the functions build, at the largest it can
//! become, against DynamoDB Local (which enforces DynamoDB's expression, operator and item size
//! limits). docs/OPERATIONS.md ("DynamoDB limits") lists each request and its largest form.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::events::json_body;
use integration_tests::lifetime::item_size;
use integration_tests::todos::{fixture, fixture_at, fixture_with};
use todos::{KEY_CLEANUP_BATCH, KeyRecords, MAX_ITEMS_LIMIT, MAX_KEY_RECORDS};
use zendesk_jwt::clock::MovableClock;
use zendesk_jwt::lambda::metrics::{Function, Metrics};

/// The longest `Idempotency-Key` accepted.
fn longest_key(n: usize) -> String {
    format!("{n:064}")
}

#[tokio::test]
async fn an_add_to_an_item_at_dynamodbs_size_limit_is_a_409_not_a_503() {
    // GIVEN a user whose item was made nearly 400 KB behind the function's back, on purpose: the
    // limits keep items far below it, and this is what they cannot foresee
    let f = fixture().await;
    assert_eq!(f.add(7, "first").await.status(), 201);
    f.dynamodb
        .update_item()
        .table_name(&f.table)
        .key(
            "owner",
            AttributeValue::S(format!("{}#7", integration_tests::SUBDOMAIN)),
        )
        .update_expression("SET padding = :padding")
        .expression_attribute_values(":padding", AttributeValue::S("p".repeat(409_000)))
        .send()
        .await
        .expect("DynamoDB Local takes an item just under 400 KB");
    // WHEN the user adds a to-do THEN the answer is the storage limit's 409, and nothing is lost
    let response = f.add(7, &"x".repeat(1_000)).await;
    assert_eq!(response.status(), 409);
    assert!(
        json_body(&response)["message"]
            .as_str()
            .unwrap()
            .contains("storage limit"),
        "{}",
        json_body(&response)
    );
    assert_eq!(f.stored_values(7).await, ["first"]);
}

/// GIVEN the to-do API at the largest item cap, on a clock the test moves.
async fn at_the_largest_cap() -> (MovableClock, integration_tests::todos::Fixture) {
    let clock = MovableClock::new();
    let f = fixture_at(
        clock.clock(),
        MAX_ITEMS_LIMIT,
        Metrics::disabled(Function::Todos),
    )
    .await;
    (clock, f)
}

#[tokio::test]
async fn a_full_batch_of_key_records_with_the_longest_keys_is_cleaned_up_in_one_request() {
    // GIVEN a user with more key records than are kept, every key 64 characters long, all live
    let (clock, f) = at_the_largest_cap().await;
    for n in 0..MAX_KEY_RECORDS {
        let added = f
            .add_with_key(8, &format!("item {n}"), &longest_key(n))
            .await;
        assert_eq!(added.status(), 201);
    }
    let item = f.user_item(8).await;
    assert_eq!(KeyRecords::of(&item).len(), MAX_KEY_RECORDS);
    // WHEN the window has passed for all of them and one more add is made
    clock.advance(todos::IDEMPOTENCY_WINDOW + std::time::Duration::from_secs(1));
    let added = f
        .add_with_key(8, "one more", &longest_key(MAX_KEY_RECORDS))
        .await;
    assert_eq!(added.status(), 201);
    // THEN one clean-up removed a whole batch (the most one request removes), and the next
    // adds remove the rest
    let left = KeyRecords::of(&f.user_item(8).await).len();
    assert_eq!(left, MAX_KEY_RECORDS + 1 - KEY_CLEANUP_BATCH);
    let added = f
        .add_with_key(8, "and another", &longest_key(MAX_KEY_RECORDS + 1))
        .await;
    assert_eq!(added.status(), 201);
    assert_eq!(
        KeyRecords::of(&f.user_item(8).await).len(),
        2,
        "the two live records"
    );
}

#[tokio::test]
async fn the_largest_item_the_limits_allow_is_read_and_written_in_one_request() {
    // GIVEN a user at the largest item cap whose values fill the byte budget, with more key
    // records (of the longest keys, all live) than an add keeps: written in one PutItem on
    // purpose, in the store's own layout with 16-digit ids, as 1,000 adds would leave it
    let (clock, f) = at_the_largest_cap().await;
    let now = clock.clock().now_seconds();
    let mut item = std::collections::HashMap::from([
        (
            "owner".to_owned(),
            AttributeValue::S(format!("{}#9", integration_tests::SUBDOMAIN)),
        ),
        ("item_count".to_owned(), AttributeValue::N("1000".into())),
        ("value_bytes".to_owned(), AttributeValue::N("300000".into())),
    ]);
    for n in 0..u64::from(MAX_ITEMS_LIMIT) {
        let id = 4_000_000_000_000_000 + n;
        item.insert(format!("t{id}"), AttributeValue::S("v".repeat(300)));
        item.insert(format!("n{id}"), AttributeValue::N("300".into()));
    }
    for n in 0..MAX_KEY_RECORDS {
        let record = std::collections::HashMap::from([
            ("h".to_owned(), AttributeValue::S("0".repeat(32))),
            ("e".to_owned(), AttributeValue::N((now + 3_000).to_string())),
        ]);
        item.insert(format!("k{}", longest_key(n)), AttributeValue::M(record));
    }
    let bytes = item_size(&item);
    f.dynamodb
        .put_item()
        .table_name(&f.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("DynamoDB Local stores the item");
    // THEN it is well under DynamoDB's 400 KB, as documented
    assert!(bytes < 360_000, "{bytes} bytes");
    // and every call works on it: a list, an add over the cap (409), a delete, then a keyed
    // add, which leaves 101 records and so removes the oldest 37 in its clean-up
    let listed = f.list(9).await;
    assert_eq!(listed.status(), 200);
    assert_eq!(
        json_body(&listed)["todo_items"].as_array().unwrap().len(),
        1_000
    );
    assert_eq!(f.add(9, "over the cap").await.status(), 409);
    let id = json_body(&listed)["todo_items"][0]["id"].as_u64().unwrap();
    assert_eq!(f.delete(9, id).await.status(), 200);
    let added = f
        .add_with_key(9, &"w".repeat(300), &longest_key(MAX_KEY_RECORDS))
        .await;
    assert_eq!(added.status(), 201);
    assert_eq!(
        KeyRecords::of(&f.user_item(9).await).len(),
        todos::KEYS_KEPT
    );
}

/// As `scripts/bench-dynamodb-costs` measures them: the read units of a GET of the full list,
/// the write units of the delete of its first to-do, then of an add of 40 characters, through
/// an instance of `f`'s function that reaches DynamoDB through a counting proxy.
async fn units_of_one_call_each(
    f: &integration_tests::todos::Fixture,
    user_id: u64,
) -> (f64, f64, f64) {
    use integration_tests::dynamodb_proxy::DynamoDbProxy;
    use integration_tests::services::{aws_with_dynamodb_at, service_setting};
    let proxy = DynamoDbProxy::start(&service_setting("AWS_ENDPOINT_URL_DYNAMODB")).await;
    proxy.measure_capacity();
    let metered = f.instance(
        &aws_with_dynamodb_at(&proxy.endpoint()),
        Metrics::disabled(Function::Todos),
    );
    let auth = format!("Bearer {}", f.token(user_id));
    let send = |method: &str, path: &str, body: Option<String>| {
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        integration_tests::events::request(method, path, &headers, body.as_deref())
    };
    let units = || proxy.measured().iter().map(|(_, u)| *u).sum::<f64>();
    let listed = metered.handle(send("GET", "/todo_items", None)).await;
    assert_eq!(listed.status(), 200);
    let get = units();
    let first = json_body(&listed)["todo_items"][0]["id"].as_u64().unwrap();
    let path = format!("/todo_items/{first}");
    assert_eq!(
        metered.handle(send("DELETE", &path, None)).await.status(),
        200
    );
    let delete = units() - get;
    let body = serde_json::json!({ "value": format!("new {}", "x".repeat(36)) }).to_string();
    let added = metered
        .handle(send("POST", "/todo_items", Some(body)))
        .await;
    assert_eq!(added.status(), 201);
    (get, units() - get - delete, delete)
}

#[tokio::test]
async fn the_cost_tables_rows_for_lists_of_each_size_hold() {
    // GIVEN the lists the cost table in docs/PERFORMANCE.md names, made through the API
    let f = fixture_with(500, std::time::Duration::from_secs(30)).await;
    let cases: [(u64, usize, String, &str); 3] = [
        (21, 10, "a".repeat(40), "10 items of 40 characters"),
        (
            22,
            500,
            "b".repeat(40),
            "500 items of 40 characters (the item cap)",
        ),
        (
            23,
            100,
            "€".repeat(1_000),
            "100 items of 1000 × € (the 300,000-byte budget)",
        ),
    ];
    for (user, count, value, row) in &cases {
        for _ in 0..*count {
            assert_eq!(f.add(*user, value).await.status(), 201, "{row}");
        }
        // WHEN one call of each kind is made on it THEN each costs what the table says
        let measured = units_of_one_call_each(&f, *user).await;
        assert_eq!(
            measured,
            integration_tests::lifetime::cost_table(row),
            "{row}"
        );
    }
}

#[tokio::test]
async fn the_largest_note_and_the_largest_settings_are_written_and_read_whole() {
    use integration_tests::sidebar::{Mode, app_fixture, record};
    use sidebar::admin::{AdminError, MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH};
    use sidebar::store::MAX_NOTE_CHARS;
    let f = app_fixture(
        Mode::Table(None),
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(900),
    )
    .await;
    let installation = zendesk_jwt::ZafInstallation::new("largest", 7).unwrap();
    // GIVEN settings of exactly the largest size the admin command takes
    let filler = |bytes: usize| serde_json::json!({ "text": "s".repeat(bytes - 11) });
    let largest = filler(MAX_SETTINGS_BYTES);
    assert_eq!(largest.to_string().len(), MAX_SETTINGS_BYTES);
    f.add(
        &installation,
        record(true, &"n".repeat(256), largest.clone()),
    )
    .await;
    // THEN the app reads them whole
    let session = f.session_for(&installation).await;
    let settings = f.settings(&session).await;
    assert_eq!(settings.status(), 200);
    assert_eq!(json_body(&settings)["settings"], largest);
    // and a byte more, or deeper nesting, is refused with a message before anything is sent
    let over = filler(MAX_SETTINGS_BYTES + 1);
    let refused = f
        .admin
        .set_settings(&installation, over.as_object().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AdminError::TooLarge(ref m) if m.contains("at most")),
        "{refused}"
    );
    let mut deep = serde_json::json!("leaf");
    for _ in 0..=MAX_SETTINGS_DEPTH {
        deep = serde_json::json!({ "d": deep });
    }
    let refused = f
        .admin
        .set_settings(&installation, deep.as_object().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(refused, AdminError::TooLarge(_)), "{refused}");
    assert_eq!(json_body(&f.settings(&session).await)["settings"], largest);
    // GIVEN the longest note, of 4-byte characters (16,000 bytes)
    let note = "𝄞".repeat(MAX_NOTE_CHARS);
    let saved = f.save_note(&session, 42, &note, 0).await;
    assert_eq!(saved.status(), 200, "{}", json_body(&saved));
    let read = f.read_note(&session, 42).await;
    assert_eq!(json_body(&read)["note"], note);
    let again = f.save_note(&session, 42, &note, 1).await;
    assert_eq!(again.status(), 200);
}
