//! `contention`: many concurrent adds for one help center user at the item cap, against DynamoDB
//! Local, through the store the to-do function uses (`todos::TodoStore`, its clients built as the
//! functions build them), in two set-ups:
//!
//! - `local-server`: one store for every add, as the local server (and the tests) hold one
//!   function instance for all their requests: one client, and one retry quota, which the AWS SDK
//!   keeps per process and retry partition (500 tokens; a retry after a timeout costs 10);
//! - `lambda`: one store per add, each with a retry quota of its own, as on Lambda, where every
//!   concurrent request runs in an execution environment (a process) of its own.
//!
//! Every add is answered as the function answers it (`todos::TodoError`'s status); each 503 is
//! classed by the cause the store reports (the SDK's error, never data). Prints one JSON line per
//! run and set-up, then a summary.
//!
//! ```text
//! contention [RUNS] [ADDS] [CAP]      (defaults 10, 600, 50; scripts/bench-contention)
//! ```
//! Configuration comes from the environment, as in the functions (`AWS_REGION`, credentials,
//! `AWS_ENDPOINT_URL_DYNAMODB`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use zendesk_jwt::clock::Clock;

use aws_sdk_dynamodb::config::retry::RetryPartition;
use serde_json::json;
use todos::{StoreError, TodoError, TodoStore, TodoValue};
use zendesk_jwt::lambda::aws::Aws;

const OWNER: &str = "example#1";

/// How one add ended, as the client sees it: the status and, for a 503, its cause.
fn outcome(result: Result<todos::Added, StoreError>) -> (u16, Option<String>) {
    match result {
        Ok(_) => (201, None),
        Err(StoreError::Unavailable(reason)) => (503, Some(cause(&reason))),
        Err(error) => (TodoError::from(error).status().as_u16(), None),
    }
}

/// The class of a store failure, from the SDK's error text: what ended the write (an attempt
/// timeout as the last error means the SDK made no retry after it: the retry quota was used up;
/// the operation timeout, that it retried until its 4 s were spent) and, when the store read the
/// user's item after it, what that read found.
fn cause(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    let write = if lower.contains("throttl") || lower.contains("provisionedthroughput") {
        "throttled"
    } else if lower.contains("operation timeout") {
        "operation timeout (retried for 4 s)"
    } else if lower.contains("timeout") {
        "attempt timeout, no retry (retry quota used up)"
    } else if lower.contains("no free item id") {
        "no free item id"
    } else {
        "other"
    };
    let read = if lower.contains("could not be read") {
        ", the read after it failed"
    } else if lower.contains("shows neither") {
        ", the read after it found neither the add nor the cap"
    } else {
        ""
    };
    format!("{write}{read}")
}

/// One run of `adds` concurrent adds at `cap` in a fresh table; the statuses and 503 causes.
async fn run(aws: &Aws, lambda: bool, adds: usize, cap: u32) -> serde_json::Value {
    let client = aws.dynamodb().expect("a DynamoDB client");
    let table = integration_tests::services::create_table(&client, "owner").await;
    let stores: Vec<Arc<TodoStore>> = if lambda {
        (0..adds)
            .map(|i| {
                // A process of its own: a retry partition (and so a retry quota) of its own.
                let config = client
                    .config()
                    .to_builder()
                    .retry_partition(RetryPartition::new(format!("dynamodb-{i}-{table}")))
                    .build();
                let own = aws_sdk_dynamodb::Client::from_conf(config);
                Arc::new(TodoStore::new(own, table.clone(), cap, Clock::system()))
            })
            .collect()
    } else {
        vec![Arc::new(TodoStore::new(
            client.clone(),
            table.clone(),
            cap,
            Clock::system(),
        ))]
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..adds)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move {
                let value = TodoValue::parse(format!("item {i}")).expect("a valid value");
                outcome(store.add(OWNER, &value, None).await)
            })
        })
        .collect();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut causes: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        let (status, cause) = task.await.expect("an add task");
        *statuses.entry(status.to_string()).or_default() += 1;
        if let Some(cause) = cause {
            *causes.entry(cause).or_default() += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let stored = TodoStore::new(client, table, cap, Clock::system())
        .list(OWNER)
        .await
        .expect("the list reads")
        .len();
    json!({
        "setup": if lambda { "lambda" } else { "local-server" },
        "statuses": statuses,
        "causes_of_503": causes,
        "stored": stored,
        "seconds": (seconds * 10.0).round() / 10.0,
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse().unwrap_or_else(|_| {
                eprintln!("usage: contention [RUNS] [ADDS] [CAP]");
                std::process::exit(2)
            })
        })
        .collect();
    let runs = args.first().copied().unwrap_or(10);
    let adds = args.get(1).copied().unwrap_or(600);
    let cap = args.get(2).copied().unwrap_or(50) as u32;
    let aws = Aws::from_env();
    let mut summary: BTreeMap<&str, (u64, u64, u64, u64)> = BTreeMap::new();
    for number in 1..=runs {
        for lambda in [false, true] {
            let mut result = run(&aws, lambda, adds, cap).await;
            result["run"] = json!(number);
            println!("{result}");
            let count = |status: &str| result["statuses"][status].as_u64().unwrap_or(0);
            let entry = summary
                .entry(if lambda { "lambda" } else { "local-server" })
                .or_default();
            entry.0 += 1;
            entry.1 += count("503");
            entry.2 = entry.2.max(count("503"));
            entry.3 += u64::from(count("503") > 0);
        }
    }
    for (setup, (runs, total, most, with)) in summary {
        println!(
            "{setup:>12}: {with} of {runs} runs had 503s; {total} in all, at most {most} in one run (of {adds} adds at a cap of {cap})"
        );
    }
}
