//! Checks for the tests that break the services underneath the functions: answers within a
//! bound, recovery without a restart, and to-do writes under way during an outage, counted
//! afterwards against the table.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lambda_http::{Body, Response};

use crate::events::text;
use crate::todos::Fixture;

/// The longest a request may take when a service hangs: one AWS operation times out (retries
/// included), and a margin for a loaded machine.
pub const HUNG_BOUND: Duration = Duration::from_secs(7);
/// The longest a request may take when a service refuses connections.
pub const DOWN_BOUND: Duration = Duration::from_secs(3);

/// Time `call`; THEN it answered 503 with a message, within `bound`.
pub async fn assert_503_within<F>(bound: Duration, case: &str, call: F)
where
    F: std::future::Future<Output = Response<Body>>,
{
    let started = Instant::now();
    let response = call.await;
    let took = started.elapsed();
    assert_eq!(response.status(), 503, "{case}: {}", text(&response));
    assert!(took < bound, "{case}: took {took:?}");
    let body = text(&response).to_lowercase();
    assert!(
        body.contains("temporarily unavailable") || body.contains("not available"),
        "{case}: {body}"
    );
}

/// Poll `call` until it answers 2xx; THEN that happens within `limit`, with no restart.
pub async fn assert_recovers<F, Fut>(limit: Duration, case: &str, call: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    let started = Instant::now();
    loop {
        let response = call().await;
        if response.status().is_success() {
            return;
        }
        assert_eq!(response.status(), 503, "{case}: {}", text(&response));
        assert!(
            started.elapsed() < limit,
            "{case}: still {} after {limit:?}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The values written by background POSTs, and what each was answered: (user, value, status).
pub type Outcomes = Vec<(u64, String, u16)>;

/// Keep adding items for users `users` until `stop` is set, each with an `Idempotency-Key` of
/// its own (the value itself, unique per user), as the help center page sends them.
pub fn keep_writing(
    todos: Arc<Fixture>,
    users: std::ops::Range<u64>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Outcomes> {
    tokio::spawn(async move {
        let mut outcomes = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            for user in users.clone() {
                let value = format!("u{user}-n{n}");
                let status = todos
                    .add_with_key(user, &value, &value)
                    .await
                    .status()
                    .as_u16();
                outcomes.push((user, value, status));
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcomes
    })
}

/// THEN every item answered 201 is stored once, nothing else but ambiguous (503) writes is, and
/// each user's counter equals the items stored: no write was applied by halves.
pub async fn assert_nothing_half_written(todos: &Fixture, outcomes: &Outcomes) {
    let users: HashSet<u64> = outcomes.iter().map(|(user, ..)| *user).collect();
    for user in users {
        let values = todos.stored_values(user).await;
        let unique: HashSet<&str> = values.iter().map(String::as_str).collect();
        assert_eq!(unique.len(), values.len(), "user {user}: a duplicated item");
        for (_, value, status) in outcomes.iter().filter(|(u, ..)| *u == user) {
            match status {
                201 => assert!(unique.contains(value.as_str()), "{value} was lost"),
                503 => {} // ambiguous: the answer, not necessarily the write, was lost
                other => panic!("{value}: unexpected {other}"),
            }
        }
        let attempted: HashSet<&str> = outcomes
            .iter()
            .filter(|(u, ..)| *u == user)
            .map(|(_, v, _)| v.as_str())
            .collect();
        assert!(
            unique.is_subset(&attempted),
            "user {user}: an item nobody wrote"
        );
        assert_eq!(
            todos.counter(user).await,
            values.len() as u64,
            "user {user}: the counter disagrees with the items"
        );
    }
}
