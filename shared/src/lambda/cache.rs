//! One refreshing cell: the bundle's rule for every value fetched with a TTL (each secret, each
//! of the sidebar's installation records), written once.
//!
//! * A value is served for its TTL, then fetched again; a value that never expires (an inline
//!   secret) is fetched once.
//! * One fetch in flight at a time: while one caller fetches, the others are served the last good
//!   value at once, or, with nothing cached, wait for that fetch and share its result.
//! * When a fetch fails, the last good value is served, and the next fetch waits
//!   [`SecretTimes::retry`]; with nothing cached, callers are answered "unavailable" at once for
//!   [`COLD_RETRY`] instead of each paying for a slow failure.
//! * A fetch that read a value and refused it (a redacted copy, a malformed key) retires the
//!   last good value one TTL after the first refusal: an operator's mistake is not hidden for
//!   ever.
//!
//! The rules themselves are the pure functions [`step`] and [`retired`]; [`RefreshingCell`] holds
//! the lock and the value around them.
//!
//! The JWKS cache (`verify/jwks.rs`) keeps its own cell: its refreshes are driven by the token's
//! `kid` (an unknown `kid` may refresh early, under a cool-down), it keeps a map of keys rather
//! than one value, and its failures are counted per fetch by a different rule. Forcing it into
//! this cell would add the `kid` rule here for one user.

use std::future::Future;
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::clock::Clock;

/// How long a fetched value is served, and how soon a failed fetch is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretTimes {
    /// A fetched value is served this long, then fetched again (`SECRET_TTL_SECONDS`, and the
    /// sidebar's `INSTALLATION_CACHE_SECONDS`).
    pub ttl: Duration,
    /// After a failed refresh, the last good value is served this long before the next attempt
    /// (`SECRET_RETRY_SECONDS`).
    pub retry: Duration,
}

/// With nothing cached, a failed fetch is tried again after this long: the function cannot work
/// at all meanwhile, so it tries soon, but an outage does not cost a slow call per request.
/// (The JWKS cache waits 5 s instead: a JWKS is a third party's URL, fetched on a token's
/// request, and a failing one should not be asked once a second by every instance.)
pub(crate) const COLD_RETRY: Duration = Duration::from_secs(1);

/// What a request for a cached value does, given what the cache holds.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Serve the cached value (fresh, or stale while a refresh is not due).
    Serve,
    /// Fetch (again); the caller holds the refresh lock.
    Fetch,
    /// Fail at once: nothing is cached and the last fetch failed moments ago.
    Fail,
}

/// The cache rule, for a caller that holds the refresh lock. A value that never expires is
/// served for ever; a fetched one is served for the TTL, then fetched again; after a failed fetch
/// the next one waits [`SecretTimes::retry`] (serving the last good value) or [`COLD_RETRY`]
/// (failing at once when there is none).
fn step(
    fetched_at: Option<Instant>,
    never_expires: bool,
    last_failure: Option<Instant>,
    now: Instant,
    times: SecretTimes,
) -> Step {
    let since = |at: Instant| now.saturating_duration_since(at);
    match fetched_at {
        Some(_) if never_expires => Step::Serve,
        Some(at) if since(at) < times.ttl => Step::Serve,
        Some(_) if last_failure.is_some_and(|at| since(at) < times.retry) => Step::Serve,
        Some(_) => Step::Fetch,
        None if last_failure.is_some_and(|at| since(at) < COLD_RETRY) => Step::Fail,
        None => Step::Fetch,
    }
}

/// Whether a refused value, first read at `refused_since`, has retired the last good value by
/// `now`: it is kept for one TTL after the refusal, at most.
fn retired(refused_since: Option<Instant>, now: Instant, times: SecretTimes) -> bool {
    refused_since.is_some_and(|at| now.saturating_duration_since(at) >= times.ttl)
}

/// How a failed fetch failed.
pub enum Failure<E> {
    /// The source could not be read: the last good value stays.
    Unavailable(E),
    /// A value was read and refused: the last good value stays for one TTL, at most.
    Refused(E),
}

/// What a read of a cell gives.
#[derive(Debug)]
pub enum Got<T, E> {
    /// The value: cached, or fetched now.
    Value(T),
    /// A fetch failed now; the last good value is served (the caller logs why).
    Stale(T, E),
    /// A fetch failed now, and there is no value to serve.
    Failed(E),
    /// A fetch was refused now, and the last good value has been served for a TTL since the
    /// first refusal: it is dropped, and nothing is served until a usable value is read.
    Retired(E),
    /// Nothing is cached and the last fetch failed moments ago: not tried again yet.
    Cooling,
}

/// What a cell remembers of its failed fetches; kept under its refresh lock.
#[derive(Clone, Copy, Debug, Default)]
struct Failures {
    /// When the last fetch failed, if the last fetch failed.
    last: Option<Instant>,
    /// When a fetched value was first refused since the last usable one was read.
    refused_since: Option<Instant>,
}

/// One value fetched with a TTL, by the rules above. `T` is cheap to clone (an `Arc`).
pub struct RefreshingCell<T> {
    times: SecretTimes,
    never_expires: bool,
    clock: Clock,
    current: RwLock<Option<(T, Instant)>>,
    /// Held for the whole of a fetch: one fetch in flight at a time. Holds what failed.
    refresh: Mutex<Failures>,
}

impl<T: Clone> RefreshingCell<T> {
    /// An empty cell whose values are served for `times.ttl` as `clock` counts it.
    pub fn new(times: SecretTimes, clock: Clock) -> Self {
        Self {
            times,
            never_expires: false,
            clock,
            current: RwLock::new(None),
            refresh: Mutex::new(Failures::default()),
        }
    }

    /// The same cell, whose first fetched value is served for ever (an inline secret).
    pub(crate) fn never_expiring(mut self) -> Self {
        self.never_expires = true;
        self
    }

    fn cached(&self, last_failure: Option<Instant>) -> (Step, Option<T>) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        let fetched_at = current.as_ref().map(|(_, at)| *at);
        let step = step(
            fetched_at,
            self.never_expires,
            last_failure,
            self.clock.instant(),
            self.times,
        );
        (step, current.as_ref().map(|(value, _)| value.clone()))
    }

    /// Keep `value` as fetched now (a caller that read it by other means).
    pub fn store(&self, value: T) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            Some((value, self.clock.instant()));
    }

    /// The value, by the cache rule: from the cell while it is fresh, else fetched again with
    /// `fetch` by one caller while the others are served the last good value at once.
    pub async fn get<E, F, Fut>(&self, fetch: F) -> Got<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
    {
        if let (Step::Serve, Some(value)) = self.cached(None) {
            return Got::Value(value);
        }
        let mut failures = match self.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) => match self.cached(None).1 {
                // Another caller is fetching: serve the last good value without waiting.
                Some(stale) => return Got::Value(stale),
                // Nothing to serve: wait for that fetch and use its result.
                None => self.refresh.lock().await,
            },
        };
        // Another caller may have fetched (or failed) while this one waited for the lock.
        let stale = match self.cached(failures.last) {
            (Step::Serve, Some(value)) => return Got::Value(value),
            (Step::Fail, _) => return Got::Cooling,
            (_, stale) => stale,
        };
        let fetched = fetch().await;
        let now = self.clock.instant();
        let error = match fetched {
            Ok(value) => {
                self.store(value.clone());
                *failures = Failures::default();
                return Got::Value(value);
            }
            Err(Failure::Unavailable(error)) => error,
            Err(Failure::Refused(error)) => {
                failures.refused_since.get_or_insert(now);
                error
            }
        };
        failures.last = Some(now);
        match stale {
            Some(_) if retired(failures.refused_since, now, self.times) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
                Got::Retired(error)
            }
            Some(value) => Got::Stale(value, error),
            None => Got::Failed(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::MovableClock;

    fn times(ttl: u64, retry: u64) -> SecretTimes {
        SecretTimes {
            ttl: Duration::from_secs(ttl),
            retry: Duration::from_secs(retry),
        }
    }

    #[test]
    fn a_fetched_value_is_served_for_its_ttl_then_fetched_again() {
        let t0 = Instant::now();
        let times = times(300, 30);
        assert_eq!(step(None, false, None, t0, times), Step::Fetch);
        assert_eq!(
            step(Some(t0), false, None, t0 + Duration::from_secs(299), times),
            Step::Serve
        );
        assert_eq!(
            step(Some(t0), false, None, t0 + times.ttl, times),
            Step::Fetch
        );
        assert_eq!(
            step(
                Some(t0),
                true,
                None,
                t0 + Duration::from_secs(10_000),
                times
            ),
            Step::Serve,
            "a value that never expires is served for ever"
        );
    }

    #[test]
    fn after_a_failed_refresh_the_last_good_value_is_served_until_the_retry_interval_passes() {
        let t0 = Instant::now();
        let times = times(300, 30);
        let failed_at = t0 + Duration::from_secs(400);
        assert_eq!(
            step(
                Some(t0),
                false,
                Some(failed_at),
                failed_at + Duration::from_secs(29),
                times
            ),
            Step::Serve,
            "no second attempt within the retry interval"
        );
        assert_eq!(
            step(
                Some(t0),
                false,
                Some(failed_at),
                failed_at + times.retry,
                times
            ),
            Step::Fetch
        );
    }

    #[test]
    fn a_refused_value_retires_the_last_good_one_a_ttl_after_the_first_refusal() {
        let t0 = Instant::now();
        let times = times(300, 30);
        assert!(!retired(None, t0 + Duration::from_secs(10_000), times));
        assert!(!retired(Some(t0), t0 + Duration::from_secs(299), times));
        assert!(retired(Some(t0), t0 + times.ttl, times));
    }

    #[test]
    fn with_nothing_cached_a_failure_is_not_retried_for_a_second() {
        let t0 = Instant::now();
        let times = times(300, 30);
        assert_eq!(
            step(
                None,
                false,
                Some(t0),
                t0 + Duration::from_millis(900),
                times
            ),
            Step::Fail
        );
        assert_eq!(
            step(None, false, Some(t0), t0 + COLD_RETRY, times),
            Step::Fetch
        );
    }

    /// A cell over a counter: each fetch answers the next value of `answers`.
    struct Source {
        fetches: AtomicUsize,
        answers: Vec<Result<u32, bool>>,
    }

    impl Source {
        async fn fetch(&self) -> Result<u32, Failure<&'static str>> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst);
            match self.answers[n.min(self.answers.len() - 1)] {
                Ok(value) => Ok(value),
                Err(true) => Err(Failure::Refused("refused")),
                Err(false) => Err(Failure::Unavailable("down")),
            }
        }
    }

    #[tokio::test]
    async fn the_cell_serves_fetches_keeps_and_retires_by_the_rules() {
        let movable = MovableClock::new();
        let cell = RefreshingCell::new(times(300, 30), movable.clock());
        let source = Source {
            fetches: AtomicUsize::new(0),
            answers: vec![Err(false), Ok(1), Err(false), Err(true), Err(true)],
        };
        // Nothing cached, the source down: failed, then not tried again for a second.
        assert!(matches!(
            cell.get(|| source.fetch()).await,
            Got::Failed("down")
        ));
        assert!(matches!(cell.get(|| source.fetch()).await, Got::Cooling));
        movable.advance(COLD_RETRY);
        assert!(matches!(cell.get(|| source.fetch()).await, Got::Value(1)));
        // Fresh: served without a fetch.
        movable.advance(Duration::from_secs(299));
        assert!(matches!(cell.get(|| source.fetch()).await, Got::Value(1)));
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
        // Due, the source down: the last good value, and no new fetch within the retry.
        movable.advance(Duration::from_secs(1));
        assert!(matches!(
            cell.get(|| source.fetch()).await,
            Got::Stale(1, "down")
        ));
        assert!(matches!(cell.get(|| source.fetch()).await, Got::Value(1)));
        assert_eq!(source.fetches.load(Ordering::SeqCst), 3);
        // Refused: kept for one TTL after the first refusal, then retired.
        movable.advance(Duration::from_secs(30));
        assert!(matches!(
            cell.get(|| source.fetch()).await,
            Got::Stale(1, "refused")
        ));
        movable.advance(Duration::from_secs(300));
        assert!(matches!(
            cell.get(|| source.fetch()).await,
            Got::Retired("refused")
        ));
    }

    #[tokio::test]
    async fn one_fetch_in_flight_and_the_others_wait_for_it_when_nothing_is_cached() {
        let cell = Arc::new(RefreshingCell::new(times(300, 30), Clock::system()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (cell, fetches, mut gate) = (cell.clone(), fetches.clone(), gate.clone());
                tokio::spawn(async move {
                    let got = cell
                        .get(|| async {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            let _ = gate.wait_for(|open| *open).await;
                            Ok::<_, Failure<()>>(7)
                        })
                        .await;
                    matches!(got, Got::Value(7))
                })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send(true).unwrap();
        for reader in readers {
            assert!(
                reader.await.unwrap(),
                "every reader gets the one fetch's value"
            );
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
