//! To-do lists over a simulated year: users who add and delete through the help center page's
//! request shape (a new `Idempotency-Key` per add, the same key on a retry), with the function
//! instance's clock moved through the days. After every day: the user's item stays under its
//! bound, the key records within the documented number, each call's capacity units within the
//! cost table in docs/PERFORMANCE.md, no answer is a 5xx, and no retry inside the window is
//! stored twice.

use std::time::Duration;

use integration_tests::dynamodb_proxy::DynamoDbProxy;
use integration_tests::events::{header, json_body};
use integration_tests::lifetime::{
    DAY, DayFigures, Report, cost_table, item_size, read_units, schedule_days, write_units,
};
use integration_tests::services::{aws_with_dynamodb_at, service_setting};
use integration_tests::todos::{Fixture, fixture_at};
use integration_tests::tokens::keys;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use todos::{
    EXPIRED_KEYS_REMOVED_AT, IDEMPOTENCY_WINDOW, KEYS_KEPT, KeyRecords, MAX_KEY_RECORDS, Todos,
};
use zendesk_jwt::clock::MovableClock;
use zendesk_jwt::devkeys::{help_center_claims, issued_at};
use zendesk_jwt::lambda::metrics::{Function, Metrics, MetricsCapture};

/// One simulated help center user of the to-do page, with the function instance it calls, a
/// second instance of the same function that reaches DynamoDB through a counting proxy (for the
/// capacity units of one call a day), and the clock both read.
struct PageUser {
    id: u64,
    clock: MovableClock,
    fixture: Fixture,
    metered: Todos,
    proxy: DynamoDbProxy,
    metrics: MetricsCapture,
    /// Adds made so far: their key and value.
    adds: u64,
}

/// What an add answered.
struct Added {
    status: u16,
    replayed: bool,
    items: Vec<(u64, String)>,
}

impl PageUser {
    async fn new(id: u64, max_items: u32) -> Self {
        let clock = MovableClock::new();
        let (metrics, capture) = Metrics::capture(Default::default(), Function::Todos);
        let fixture = fixture_at(clock.clock(), max_items, metrics).await;
        let proxy = DynamoDbProxy::start(&service_setting("AWS_ENDPOINT_URL_DYNAMODB")).await;
        proxy.measure_capacity();
        let metered = fixture.instance(
            &aws_with_dynamodb_at(&proxy.endpoint()),
            Metrics::disabled(Function::Todos),
        );
        Self {
            id,
            clock,
            fixture,
            metered,
            proxy,
            metrics: capture,
            adds: 0,
        }
    }

    /// A help center token as the page fetches it now, on this instance's clock.
    fn token(&self) -> String {
        let now = self.clock.clock().now_seconds();
        keys()
            .primary
            .sign(&issued_at(help_center_claims(self.id, 300), now, 300))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> lambda_http::Request {
        let auth = format!("Bearer {}", self.token());
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        if let Some(key) = key {
            headers.push(("idempotency-key", key));
        }
        integration_tests::events::request(method, path, &headers, body)
    }

    async fn send(&self, todos: &Todos, request: lambda_http::Request) -> Response<Body> {
        let response = todos.handle(request).await;
        assert!(
            response.status().as_u16() < 500,
            "user {}: a {} on day {:.1}: {:?}",
            self.id,
            response.status(),
            self.clock.offset_ms() as f64 / DAY.as_millis() as f64,
            response.body()
        );
        response
    }

    /// The page loads the list.
    async fn list(&self) -> Vec<(u64, String)> {
        let response = self
            .send(
                &self.fixture.todos,
                self.request("GET", "/todo_items", None, None),
            )
            .await;
        assert_eq!(response.status(), 200);
        items(&json_body(&response))
    }

    /// The page adds `value` with `key` (a new one per add, the same one on a retry).
    async fn add(&self, key: &str, value: &str) -> Added {
        let body = json!({ "value": value }).to_string();
        let response = self
            .send(
                &self.fixture.todos,
                self.request("POST", "/todo_items", Some(key), Some(&body)),
            )
            .await;
        Added {
            status: response.status().as_u16(),
            replayed: header(&response, "idempotent-replayed") == Some("true"),
            items: if response.status() == 201 {
                items(&json_body(&response))
            } else {
                Vec::new()
            },
        }
    }

    async fn delete(&self, id: u64) -> Vec<(u64, String)> {
        let response = self
            .send(
                &self.fixture.todos,
                self.request("DELETE", &format!("/todo_items/{id}"), None, None),
            )
            .await;
        assert_eq!(response.status(), 200);
        items(&json_body(&response))
    }

    /// A new add as the page makes it: a fresh key, a value of its own.
    async fn add_new(&mut self, value: &str) -> (String, Added) {
        self.adds += 1;
        let key = uuid::Uuid::new_v4().to_string();
        let added = self.add(&key, value).await;
        (key, added)
    }

    /// What `request` costs through the metered instance: its answer, and the units of each
    /// DynamoDB request it made, in order.
    async fn metered(&self, request: lambda_http::Request) -> (Response<Body>, Vec<f64>) {
        let before = self.proxy.measured().len();
        let response = self.send(&self.metered, request).await;
        let units = self.proxy.measured()[before..]
            .iter()
            .map(|(_, units)| *units)
            .collect();
        (response, units)
    }

    /// The capacity units of one GET, one keyed add and one delete, as DynamoDB counts them,
    /// made through the metered instance, and of the key clean-up the add made, if it made one.
    /// They leave the list as it was: the add of "measured" and its delete or, for a user at a
    /// limit (`replacement`), the delete of the oldest to-do and the add of the replacement.
    async fn measure_units(&mut self, replacement: Option<String>) -> Units {
        let (list, get) = self
            .metered(self.request("GET", "/todo_items", None, None))
            .await;
        assert_eq!(list.status(), 200);
        assert_eq!(get.len(), 1, "a GET is one request");
        let key = uuid::Uuid::new_v4().to_string();
        let add = |value: &str| {
            let body = json!({ "value": value }).to_string();
            self.request("POST", "/todo_items", Some(&key), Some(&body))
        };
        let remove = |id: u64| self.request("DELETE", &format!("/todo_items/{id}"), None, None);
        let (post, delete) = match replacement {
            Some(value) => {
                let oldest = items(&json_body(&list))[0].0;
                let (left, delete) = self.metered(remove(oldest)).await;
                assert_eq!(left.status(), 200);
                let (added, post) = self.metered(add(&value)).await;
                assert_eq!(
                    added.status(),
                    201,
                    "the replacement fits where the oldest was"
                );
                (post, delete)
            }
            None => {
                let (added, post) = self.metered(add("measured")).await;
                assert_eq!(added.status(), 201);
                let id = items(&json_body(&added))
                    .into_iter()
                    .rfind(|(_, value)| value == "measured")
                    .expect("the measured add is listed")
                    .0;
                let (left, delete) = self.metered(remove(id)).await;
                assert_eq!(left.status(), 200);
                (post, delete)
            }
        };
        assert_eq!(delete.len(), 1, "a DELETE is one request");
        assert!(
            (1..=2).contains(&post.len()),
            "an add is one request, and a clean-up at most one more"
        );
        Units {
            get: get[0],
            post: post[0],
            delete: delete[0],
            cleanup: post.get(1).copied(),
        }
    }

    /// The figures of the day that ends now, checked against the bounds (`replacement`: see
    /// [`PageUser::measure_units`]).
    async fn end_of_day(
        &mut self,
        day: u32,
        bounds: &Bounds,
        replacement: Option<String>,
    ) -> DayFigures {
        let item = self.fixture.user_item(self.id).await;
        let records = KeyRecords::of(&item).len();
        let figures = DayFigures {
            day,
            item_bytes: item_size(&item),
            key_records: records,
            items: item.keys().filter(|name| name.starts_with('t')).count(),
            units: (0.0, 0.0, 0.0),
            cleanup_units: None,
        };
        let units = self.measure_units(replacement).await;
        let figures = DayFigures {
            units: (units.get, units.post, units.delete),
            cleanup_units: units.cleanup,
            ..figures
        };
        if let Some(cleanup) = units.cleanup {
            assert!(
                cleanup <= bounds.units.1,
                "user {} day {day}: a clean-up cost {cleanup} units, more than an add may",
                self.id
            );
        }
        self.fixture.assert_totals_agree(self.id).await;
        assert!(
            records <= bounds.key_records,
            "user {} day {day}: {records} key records, more than {}",
            self.id,
            bounds.key_records
        );
        assert!(
            figures.item_bytes <= bounds.item_bytes,
            "user {} day {day}: the item has {} bytes, more than {}",
            self.id,
            figures.item_bytes,
            bounds.item_bytes
        );
        let (get, post, delete) = figures.units;
        assert!(
            get <= bounds.units.0 && post <= bounds.units.1 && delete <= bounds.units.2,
            "user {} day {day}: units {:?} beyond the cost table's {:?}",
            self.id,
            figures.units,
            bounds.units
        );
        // The units are what DynamoDB bills for the item's size: the size rule the bounds
        // rest on holds (the measured add makes the item up to a to-do and a record larger).
        assert!(
            get <= read_units(figures.item_bytes + 3_200) as f64
                && post <= write_units(figures.item_bytes + 3_200) as f64,
            "user {} day {day}: units {:?} for an item of {} bytes",
            self.id,
            figures.units,
            figures.item_bytes
        );
        assert!(
            !self
                .metrics
                .take()
                .iter()
                .any(|line| line.contains("KeyCleanupFailures")),
            "user {} day {day}: a key clean-up failed",
            self.id
        );
        figures
    }
}

/// The units of one call of each kind (a GET's read units, the others' write units).
struct Units {
    get: f64,
    post: f64,
    delete: f64,
    /// The key clean-up the add made, if it made one.
    cleanup: Option<f64>,
}

/// The to-dos of an answer: (id, value), oldest first.
fn items(body: &Value) -> Vec<(u64, String)> {
    body["todo_items"]
        .as_array()
        .unwrap_or_else(|| panic!("no todo_items in {body}"))
        .iter()
        .map(|item| {
            (
                item["id"].as_u64().unwrap(),
                item["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// What a user's day may reach: the documented bounds.
struct Bounds {
    item_bytes: usize,
    key_records: usize,
    /// Read units of a GET, write units of an add and of a delete.
    units: (f64, f64, f64),
}

/// A user who makes `per_day` keyed adds a day, evenly spread, keeping at most `keep` to-dos
/// (deleting the oldest after each add beyond them), and sends some adds again as the page
/// does after a lost answer: one in five a minute later, one in seven 50 minutes later (inside
/// the window). Runs [`schedule_days`] days.
async fn a_year_of_the_page(user_id: u64, per_day: u32, keep: usize, row: &str) -> Report {
    let mut user = PageUser::new(user_id, 500).await;
    let bounds = Bounds {
        item_bytes: 2_048,
        key_records: MAX_KEY_RECORDS + 1,
        units: cost_table(row),
    };
    let mut report = Report::new(row);
    let step = DAY / per_day;
    // Retries waiting for their time: (due on the clock's offset, key, value).
    let mut retries: Vec<(i64, String, String)> = Vec::new();
    let days = schedule_days(per_day);
    for day in 1..=days {
        user.list().await;
        for n in 0..per_day {
            let value = format!("day {day} item {n}");
            let (key, added) = user.add_new(&value).await;
            assert_eq!(added.status, 201, "day {day}: {value}");
            assert!(!added.replayed);
            let now = user.clock.offset_ms();
            if user.adds % 5 == 0 {
                retries.push((now + 60_000, key.clone(), value.clone()));
            }
            if user.adds % 7 == 0 {
                retries.push((now + 50 * 60_000, key, value));
            }
            let mut listed = added.items;
            while listed.len() > keep {
                listed = user.delete(listed[0].0).await;
            }
            // Time passes until the next add; retries fall due on the way.
            let next = now + step.as_millis() as i64;
            retries.sort_by_key(|(due, ..)| *due);
            while let Some((due, ..)) = retries.first()
                && *due <= next
            {
                let (due, key, value) = retries.remove(0);
                let wait = (due - user.clock.offset_ms()).max(0);
                user.clock.advance(Duration::from_millis(wait as u64));
                let before = user.list().await;
                let again = user.add(&key, &value).await;
                assert_eq!(again.status, 201, "day {day}: the retry of {value}");
                assert!(
                    again.replayed,
                    "day {day}: the retry of {value} was added again"
                );
                assert_eq!(again.items, before, "day {day}: a retry changed the list");
            }
            let left = next - user.clock.offset_ms();
            user.clock
                .advance(Duration::from_millis(left.max(0) as u64));
        }
        report.days.push(user.end_of_day(day, &bounds, None).await);
    }
    report.write();
    report
}

#[tokio::test]
async fn a_user_adding_one_a_day_keeps_a_small_cheap_item_all_year() {
    let report = a_year_of_the_page(9_100_001, 1, 10, "a user adding 1 a day, keeping 10").await;
    let (bytes, records) = report.peaks();
    // At most 3 expired records wait for a clean-up, beside the day's add and the metered one.
    assert!(
        records <= EXPIRED_KEYS_REMOVED_AT + 1,
        "{records} key records"
    );
    assert!(bytes <= 1_024, "{bytes} bytes: one write unit");
}

#[tokio::test]
async fn a_user_adding_twenty_a_day_keeps_a_small_cheap_item_all_year() {
    let report = a_year_of_the_page(9_100_020, 20, 10, "a user adding 20 a day, keeping 10").await;
    let (_, records) = report.peaks();
    // The hour's adds (one or two) and at most 3 expired records.
    assert!(
        records <= EXPIRED_KEYS_REMOVED_AT + 2,
        "{records} key records"
    );
}

#[tokio::test]
async fn a_user_adding_two_hundred_a_day_keeps_a_small_cheap_item_all_year() {
    let report =
        a_year_of_the_page(9_100_200, 200, 10, "a user adding 200 a day, keeping 10").await;
    let (_, records) = report.peaks();
    // 200 a day is 8 or 9 an hour: the hour's live records and at most 3 expired ones.
    assert!(
        records <= 9 + EXPIRED_KEYS_REMOVED_AT,
        "{records} key records"
    );
}

/// A user whose adds go on though the list is full: the refused adds write nothing (no key
/// record either), and the item stays at its size. Every value is `filler` behind a 9-digit
/// number, so each to-do weighs the same and a replacement always fits where one was deleted.
async fn held_at_a_limit(user_id: u64, filler: &str, fill: usize, max_bytes: usize, row: &str) {
    let mut user = PageUser::new(user_id, 500).await;
    let mut numbered = 0u64;
    let mut next_value = move || {
        numbered += 1;
        format!("{numbered:09}{filler}")
    };
    for n in 0..fill {
        let (_, added) = user.add_new(&next_value()).await;
        assert_eq!(added.status, 201, "filling: add {n}");
    }
    let bounds = Bounds {
        item_bytes: max_bytes,
        key_records: MAX_KEY_RECORDS + 1,
        units: cost_table(row),
    };
    let mut report = Report::new(row);
    // A busy user at the limit, for a year in `scripts/lifetime`.
    for day in 1..=schedule_days(100) {
        // Each day: one to-do done and a new one in its place, then ten adds refused (409).
        let oldest = user.list().await[0].0;
        user.delete(oldest).await;
        user.clock.advance(Duration::from_secs(600));
        let (_, added) = user.add_new(&next_value()).await;
        assert_eq!(added.status, 201, "day {day}");
        for _ in 0..10 {
            user.clock.advance(Duration::from_secs(600));
            let (_, refused) = user.add_new(&next_value()).await;
            assert_eq!(refused.status, 409, "day {day}: over the limit");
        }
        let figures = user.end_of_day(day, &bounds, Some(next_value())).await;
        if day > 1 {
            // The filling's records are gone by then; refused adds leave none.
            assert!(
                figures.key_records <= 4,
                "{} key records",
                figures.key_records
            );
        }
        report.days.push(figures);
        user.clock.advance(DAY - Duration::from_secs(6_600));
    }
    report.write();
}

#[tokio::test]
async fn a_user_held_at_the_item_cap_for_a_year_keeps_the_item_at_its_size() {
    held_at_a_limit(
        9_100_500,
        &"x".repeat(31),
        500,
        48_000,
        "a user held at the cap: 500 items of 40 characters",
    )
    .await;
}

#[tokio::test]
async fn a_user_held_at_the_byte_budget_for_a_year_keeps_the_item_at_its_size() {
    held_at_a_limit(
        9_100_300,
        &"€".repeat(991),
        100,
        312_000,
        "a user held at the byte budget: 100 items of 2982 bytes",
    )
    .await;
}

#[tokio::test]
async fn a_retry_within_the_window_is_replayed_and_one_after_it_adds_again() {
    let mut user = PageUser::new(9_100_900, 500).await;
    let (key, first) = user.add_new("buy milk").await;
    assert_eq!(first.status, 201);
    user.clock
        .advance(IDEMPOTENCY_WINDOW - Duration::from_secs(2));
    let again = user.add(&key, "buy milk").await;
    assert!(again.replayed, "inside the window");
    assert_eq!(again.items.len(), 1);
    user.clock.advance(Duration::from_secs(4));
    let late = user.add(&key, "buy milk").await;
    assert_eq!(late.status, 201);
    assert!(!late.replayed, "after the window the key is new again");
    assert_eq!(late.items.len(), 2);
}

#[tokio::test]
async fn a_retry_is_replayed_after_as_many_newer_adds_as_are_kept_and_more_are_pruned() {
    // GIVEN a first add, then KEYS_KEPT - 1 more within the window, each a second apart (the
    // records' expiries are whole seconds: adds in the same second are equally new)
    let mut user = PageUser::new(9_100_901, 500).await;
    let (first_key, first) = user.add_new("first").await;
    assert_eq!(first.status, 201);
    let mut keys = vec![first_key.clone()];
    for n in 1..KEYS_KEPT {
        user.clock.advance(Duration::from_secs(1));
        let (key, added) = user.add_new(&format!("add {n}")).await;
        assert_eq!(added.status, 201);
        keys.push(key);
    }
    // WHEN the first add is sent again THEN it is replayed: 63 newer keyed adds are fewer than
    // the records kept
    let again = user.add(&first_key, "first").await;
    assert!(again.replayed);
    assert_eq!(again.items.len(), KEYS_KEPT);
    // WHEN the user goes past MAX_KEY_RECORDS records within the window
    for n in KEYS_KEPT..=MAX_KEY_RECORDS {
        user.clock.advance(Duration::from_secs(1));
        let (key, added) = user.add_new(&format!("add {n}")).await;
        assert_eq!(added.status, 201);
        keys.push(key);
    }
    // THEN the records are cut back to the newest KEYS_KEPT, and the newest of them replays
    let item = user.fixture.user_item(user.id).await;
    assert_eq!(KeyRecords::of(&item).len(), KEYS_KEPT);
    let newest_kept = &keys[keys.len() - KEYS_KEPT];
    let replayed = user
        .add(newest_kept, &format!("add {}", keys.len() - KEYS_KEPT))
        .await;
    assert!(replayed.replayed, "a record among the newest kept replays");
    // and the first, beyond them, is a new add: the documented bound
    let beyond = user.add(&first_key, "first").await;
    assert_eq!(beyond.status, 201);
    assert!(!beyond.replayed);
}
