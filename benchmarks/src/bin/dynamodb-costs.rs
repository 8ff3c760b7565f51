//! DynamoDB capacity units per API call, measured: the to-do store and the SDK exchange's user
//! token lookup make their real requests through the counting proxy, which asks DynamoDB Local
//! for the capacity each consumes (DynamoDB Local applies DynamoDB's billing rules: 1 KB write
//! units, 4 KB read units, halved for eventually consistent reads). Prints a Markdown table
//! with what a million calls cost on demand. Run by `scripts/bench-dynamodb-costs`.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::dynamodb_proxy::DynamoDbProxy;
use integration_tests::sdk_exchange::register_user_token;
use integration_tests::services::{
    DYNAMODB_ENDPOINT, aws_with_dynamodb_at, create_table, service_setting,
};
use todos::{TodoId, TodoStore, TodoValue};

/// On-demand prices in US East (N. Virginia), USD per million request units.
const USD_PER_MILLION_WRITE_UNITS: f64 = 0.625;
const USD_PER_MILLION_READ_UNITS: f64 = 0.125;

struct Meter {
    proxy: DynamoDbProxy,
}

impl Meter {
    /// Capacity units and requests that `call` consumed.
    async fn measure<F: std::future::Future<Output = ()>>(&self, call: F) -> (f64, u64) {
        let units = |m: std::collections::BTreeMap<String, f64>| m.values().sum::<f64>();
        let (u0, r0) = (units(self.proxy.capacity()), self.proxy.total());
        call.await;
        (units(self.proxy.capacity()) - u0, self.proxy.total() - r0)
    }
}

fn value(text: String) -> TodoValue {
    TodoValue::parse(text).expect("a valid value")
}

/// Fill `owner`'s list with `count` items of `chars` characters of `fill`.
async fn fill(store: &TodoStore, owner: &str, count: usize, fill: char, chars: usize) {
    for i in 0..count {
        let mut text = format!("{i} ");
        text.extend(std::iter::repeat_n(fill, chars - text.chars().count()));
        store
            .add(owner, &value(text), None)
            .await
            .expect("the setup add succeeds");
    }
}

fn row(call: &str, state: &str, read: f64, write: f64, requests: u64, note: &str) {
    let usd = read * USD_PER_MILLION_READ_UNITS + write * USD_PER_MILLION_WRITE_UNITS;
    println!(
        "| {call} | {state} | {requests} | {read} | {write} | ${usd:.2} | {note} |",
        read = if read > 0.0 {
            format!("{read}")
        } else {
            "—".into()
        },
        write = if write > 0.0 {
            format!("{write}")
        } else {
            "—".into()
        },
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let proxy = DynamoDbProxy::start(&service_setting(DYNAMODB_ENDPOINT)).await;
    let dynamodb = aws_with_dynamodb_at(&proxy.endpoint())
        .dynamodb()
        .expect("a DynamoDB client");
    let todos_table = create_table(&dynamodb, "owner").await;
    let store = TodoStore::new(
        dynamodb.clone(),
        todos_table,
        500,
        zendesk_jwt::clock::Clock::system(),
    );
    proxy.measure_capacity();
    let meter = Meter { proxy };

    println!(
        "| call | the user's list | DynamoDB requests | read units | write units | USD per million calls | |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    let states: [(&str, usize, char, usize); 3] = [
        ("10 items of 40 characters", 10, 'a', 40),
        ("500 items of 40 characters (the item cap)", 500, 'b', 40),
        (
            "100 items of 1000 × € (the 300,000-byte budget)",
            100,
            '€',
            1000,
        ),
    ];
    for (n, (state, count, fill_char, chars)) in states.into_iter().enumerate() {
        let owner = format!("acme#{}", 9000 + n);
        fill(&store, &owner, count, fill_char, chars).await;
        let (read, requests) = meter
            .measure(async {
                store.list(&owner).await.expect("list");
            })
            .await;
        row("GET /todo_items", state, read, 0.0, requests, "");
        let first: TodoId = store.list(&owner).await.expect("list")[0].id;
        let (write, requests) = meter
            .measure(async {
                store.delete(&owner, first).await.expect("delete");
            })
            .await;
        row("DELETE /todo_items/{id}", state, 0.0, write, requests, "");
        let (write, requests) = meter
            .measure(async {
                let text = format!("new {}", "x".repeat(36));
                store.add(&owner, &value(text), None).await.expect("add");
            })
            .await;
        row("POST /todo_items", state, 0.0, write, requests, "");
        if count == 500 {
            // The list is at the cap again: the next add is refused by its condition.
            let refused = store.add(&owner, &value("one too many".into()), None).await;
            assert!(matches!(refused, Err(todos::StoreError::LimitReached)));
            row(
                "POST /todo_items refused (409)",
                state,
                0.0,
                write,
                1,
                "a failed condition is billed like the write it would have been (DynamoDB Local reports none)",
            );
        }
    }

    // The SDK exchange: one eventually consistent GetItem of a user token item.
    let tokens_table = create_table(&dynamodb, "token_hash").await;
    let external_id = ("external_id", AttributeValue::S("ann-1".into()));
    register_user_token(&dynamodb, &tokens_table, "cost-token", 3600, &[external_id]).await;
    let resolver = sdk_exchange::UserResolver::Table(sdk_exchange::UserTokenTable::new(
        dynamodb.clone(),
        tokens_table,
        zendesk_jwt::clock::Clock::system(),
    ));
    let (read, requests) = meter
        .measure(async {
            resolver.resolve("cost-token").await.expect("known token");
        })
        .await;
    row(
        "POST /sdk/jwt",
        "a user token item of about 150 bytes",
        read,
        0.0,
        requests,
        "strongly consistent, so a revoked token is refused at once; an unknown token costs the same",
    );
}
