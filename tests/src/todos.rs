//! The to-do API over DynamoDB Local and a local JWKS server, and what its tests send and read:
//! requests as a help center user, the user's item straight from the table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use todos::{Todos, TodosConfig};
use zendesk_jwt::clock::Clock;
use zendesk_jwt::devkeys::{self, help_center_claims};
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::metrics::Metrics;

use crate::events::{header, json_body, request};
use crate::jwks_server::{JwksServer, jwks_settings};
use crate::services::{aws, create_table};
use crate::tokens::keys;
use crate::{HELP_CENTER_ORIGIN, SUBDOMAIN};

/// The to-do API, its JWKS server and its table.
pub struct Fixture {
    /// The function.
    pub todos: Arc<Todos>,
    /// Its configuration (the table, the JWKS server, the clock it reads).
    pub config: TodosConfig,
    /// The JWKS server holding the primary test key.
    pub jwks: JwksServer,
    /// The to-do table.
    pub table: String,
    /// A client for the DynamoDB the function uses.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// GIVEN the to-do API with the default cap and cool-down.
pub async fn fixture() -> Fixture {
    fixture_with(500, Duration::from_secs(30)).await
}

/// GIVEN the to-do API with this per-user cap and JWKS cool-down.
pub async fn fixture_with(max_items: u32, cooldown: Duration) -> Fixture {
    fixture_on(&aws(), max_items, cooldown).await
}

/// GIVEN the to-do API over a fresh table of the DynamoDB that `aws` reaches.
pub async fn fixture_on(aws: &Aws, max_items: u32, cooldown: Duration) -> Fixture {
    build(aws, max_items, cooldown, None).await
}

/// GIVEN the to-do API with this per-user cap, counting its requests in `metrics`.
pub async fn fixture_counting_in(metrics: Metrics, max_items: u32) -> Fixture {
    build(&aws(), max_items, Duration::from_secs(30), Some(metrics)).await
}

/// GIVEN the to-do API with this per-user cap, reading `clock` (which the test moves) and
/// counting in `metrics`.
pub async fn fixture_at(clock: Clock, max_items: u32, metrics: Metrics) -> Fixture {
    let mut fixture = build(
        &aws(),
        max_items,
        Duration::from_secs(30),
        Some(metrics.clone()),
    )
    .await;
    fixture.config.clock = clock;
    fixture.todos = Arc::new(fixture.instance(&aws(), metrics));
    fixture
}

async fn build(aws: &Aws, max_items: u32, cooldown: Duration, metrics: Option<Metrics>) -> Fixture {
    let dynamodb = aws.dynamodb().expect("a DynamoDB client");
    let table = create_table(&dynamodb, "owner").await;
    let jwks = JwksServer::start(devkeys::jwks(&[&keys().primary])).await;
    let config = TodosConfig {
        subdomain: SUBDOMAIN.into(),
        table: table.clone(),
        jwks_url: jwks.url(),
        issuer: None,
        allowed_origins: vec![HELP_CENTER_ORIGIN.into()],
        max_items,
        jwks: jwks_settings(cooldown, Duration::from_secs(2)),
        leeway: Duration::from_secs(30),
        metrics_namespace: Default::default(),
        clock: Clock::system(),
    };
    let todos = match metrics {
        Some(metrics) => Todos::counting_in(metrics, &config, aws),
        None => Todos::new(&config, aws),
    };
    Fixture {
        todos: Arc::new(todos.expect("the to-do API is configured")),
        config,
        jwks,
        table,
        dynamodb,
    }
}

/// A help center token for `user_id`, signed with the key the JWKS holds.
pub fn token_for(user_id: u64) -> String {
    keys().primary.sign(&help_center_claims(user_id, 300))
}

impl Fixture {
    /// Another instance of the function over the same table, JWKS and clock, reaching DynamoDB
    /// through `aws` (a counting proxy, say) and counting in `metrics`.
    pub fn instance(&self, aws: &Aws, metrics: Metrics) -> Todos {
        Todos::counting_in(metrics, &self.config, aws).expect("the to-do API is configured")
    }

    /// Send a request to the API.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response<Body> {
        self.todos
            .handle(request(method, path, headers, body))
            .await
    }

    /// A help center token for `user_id`, signed with the key the JWKS holds, made now on the
    /// instance's clock.
    pub fn token(&self, user_id: u64) -> String {
        let now = self.config.clock.now_seconds();
        keys().primary.sign(&devkeys::issued_at(
            help_center_claims(user_id, 300),
            now,
            300,
        ))
    }

    /// Send a request with `token` as the bearer token (and a JSON body, if any).
    pub async fn as_user(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Response<Body> {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.call(method, path, &headers, body).await
    }

    /// `GET /todo_items` as `user_id`.
    pub async fn list(&self, user_id: u64) -> Response<Body> {
        self.as_user(&self.token(user_id), "GET", "/todo_items", None)
            .await
    }

    /// `GET /todo_items` as `user_id`, from a page at `origin` (as a browser sends it).
    pub async fn list_from(&self, origin: &str, user_id: u64) -> Response<Body> {
        let auth = format!("Bearer {}", self.token(user_id));
        let headers = [("origin", origin), ("authorization", auth.as_str())];
        self.call("GET", "/todo_items", &headers, None).await
    }

    /// `POST /todo_items` of `value` as `user_id`.
    pub async fn add(&self, user_id: u64, value: &str) -> Response<Body> {
        let body = json!({ "value": value }).to_string();
        self.as_user(&self.token(user_id), "POST", "/todo_items", Some(&body))
            .await
    }

    /// An add with an `Idempotency-Key` header.
    pub async fn add_with_key(&self, user_id: u64, value: &str, key: &str) -> Response<Body> {
        let auth = format!("Bearer {}", self.token(user_id));
        let body = json!({ "value": value }).to_string();
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ];
        self.call("POST", "/todo_items", &headers, Some(&body))
            .await
    }

    /// `DELETE /todo_items/{id}` as `user_id`.
    pub async fn delete(&self, user_id: u64, id: u64) -> Response<Body> {
        let path = format!("/todo_items/{id}");
        self.as_user(&self.token(user_id), "DELETE", &path, None)
            .await
    }

    /// The user's item (one per user), read straight from the table.
    pub async fn user_item(&self, user_id: u64) -> HashMap<String, AttributeValue> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key("owner", AttributeValue::S(format!("{SUBDOMAIN}#{user_id}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_default()
    }

    /// The user's item counter, read straight from the table.
    pub async fn counter(&self, user_id: u64) -> u64 {
        number(&self.user_item(user_id).await, "item_count")
    }

    /// THEN the user's totals agree with the items stored: the count and the values' bytes.
    pub async fn assert_totals_agree(&self, user_id: u64) {
        let item = self.user_item(user_id).await;
        let stored = self.stored(user_id).await;
        assert_eq!(
            number(&item, "item_count"),
            stored.len() as u64,
            "user {user_id}: count"
        );
        assert_eq!(
            number(&item, "value_bytes"),
            stored.iter().map(|(_, v)| v.len() as u64).sum::<u64>(),
            "user {user_id}: bytes"
        );
    }

    /// The items stored for `user_id` (`t{id}` attributes of the user's item), read straight
    /// from the table, by id.
    pub async fn stored(&self, user_id: u64) -> Vec<(u64, String)> {
        let mut items: Vec<(u64, String)> = self
            .user_item(user_id)
            .await
            .iter()
            .filter_map(|(name, value)| {
                let id = name.strip_prefix('t')?.parse().ok()?;
                Some((id, value.as_s().unwrap().clone()))
            })
            .collect();
        items.sort();
        items
    }

    /// The values stored for `user_id`, by id.
    pub async fn stored_values(&self, user_id: u64) -> Vec<String> {
        self.stored(user_id)
            .await
            .into_iter()
            .map(|(_, value)| value)
            .collect()
    }
}

/// A numeric attribute of a user's item (0 when absent).
fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .map_or(0, |n| n.as_n().unwrap().parse().unwrap())
}

/// The values of an answer's `todo_items`, in order.
pub fn values(body: &Value) -> Vec<String> {
    body["todo_items"]
        .as_array()
        .unwrap_or_else(|| panic!("no todo_items in {body}"))
        .iter()
        .map(|item| item["value"].as_str().unwrap().to_owned())
        .collect()
}

/// THEN the answer is the one refusal every bad token gets.
pub fn assert_invalid_authentication(response: &Response<Body>, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    assert_eq!(
        json_body(response),
        json!({"message": "Invalid authentication"}),
        "{case}"
    );
    assert_eq!(
        header(response, "www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{case}"
    );
}

/// Requests in flight at once in the concurrency tests. DynamoDB applies the writes of one item
/// one at a time, so many more than this for one user only queue up in DynamoDB Local until
/// they time out.
pub const IN_FLIGHT: usize = 32;

/// Run `calls` concurrently, at most [`IN_FLIGHT`] at a time (as a fleet of Lambda instances
/// would send them), and answer their results in the order given.
pub async fn in_parallel<T, F>(calls: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    use futures::StreamExt;
    let mut results: Vec<(usize, T)> = futures::stream::iter(calls.into_iter().enumerate())
        .map(|(i, call)| async move { (i, call.await) })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, result)| result).collect()
}
