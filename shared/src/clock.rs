//! Time as this bundle reads it. Every function instance reads one [`Clock`]: on Lambda the
//! system's; tests give each instance a [`MovableClock`] of its own and move it, by days to run a
//! year of use in seconds, or by a few seconds to stage two instances whose clocks disagree.
//!
//! A clock answers both kinds of time the code needs: the wall clock as the JWT and DynamoDB
//! formats count it (seconds since the Unix epoch: `exp`, `iat`, expiry attributes), and a
//! monotonic [`Instant`] for the caches' ages. Moving a clock moves both.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The clock a function instance reads: the system's, or a movable one's reading.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock; `None` for the system clock itself.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock (what every function reads on Lambda).
    pub fn system() -> Self {
        Self::default()
    }

    /// Seconds since the Unix epoch (0 if the clock is before it, which Lambda's never is).
    pub fn now_seconds(&self) -> u64 {
        self.since_epoch().as_secs()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        self.since_epoch().as_millis() as u64
    }

    /// Seconds since the Unix epoch, with a fraction (a JWT `NumericDate` may have one).
    pub(crate) fn now_seconds_f64(&self) -> f64 {
        self.since_epoch().as_secs_f64()
    }

    /// Now, on the monotonic clock the caches measure ages with.
    pub(crate) fn instant(&self) -> Instant {
        shift(Instant::now(), self.offset())
    }

    fn offset(&self) -> i64 {
        self.offset_ms
            .as_ref()
            .map_or(0, |offset| offset.load(Ordering::Relaxed))
    }

    fn since_epoch(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let offset = Duration::from_millis(self.offset().unsigned_abs());
        if self.offset() >= 0 {
            now.saturating_add(offset)
        } else {
            now.saturating_sub(offset)
        }
    }
}

/// `at` moved by `offset_ms` (earlier when negative; never before the process's own start can
/// be represented, in which case `at` itself).
fn shift(at: Instant, offset_ms: i64) -> Instant {
    let by = Duration::from_millis(offset_ms.unsigned_abs());
    if offset_ms >= 0 {
        at + by
    } else {
        at.checked_sub(by).unwrap_or(at)
    }
}

/// A clock that runs with the system's and can be moved: the tests' way to run a function
/// instance for simulated months, or to put two instances a few seconds apart. Hand its
/// [`MovableClock::clock`] to an instance; every reading of that clock follows this one.
#[derive(Clone, Debug)]
pub struct MovableClock {
    offset_ms: Arc<AtomicI64>,
}

impl Default for MovableClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MovableClock {
    /// A clock that reads the system's time until it is moved.
    pub fn new() -> Self {
        Self {
            offset_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A clock `offset_ms` milliseconds ahead of the system's (behind it when negative).
    pub fn skewed(offset_ms: i64) -> Self {
        let clock = Self::new();
        clock.offset_ms.store(offset_ms, Ordering::Relaxed);
        clock
    }

    /// The clock an instance reads.
    pub fn clock(&self) -> Clock {
        Clock {
            offset_ms: Some(self.offset_ms.clone()),
        }
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// How far this clock is ahead of the system's, in milliseconds (behind when negative).
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// Seconds since the Unix epoch on the system clock, for code that serves no function instance
/// (key generation for local runs, the admin command).
pub fn now_seconds() -> u64 {
    Clock::system().now_seconds()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_moves_the_wall_clock_and_the_monotonic_one_together() {
        let movable = MovableClock::new();
        let clock = movable.clock();
        let (wall, mono) = (clock.now_seconds(), clock.instant());
        movable.advance(Duration::from_secs(86_400));
        assert!((86_400..86_402).contains(&(clock.now_seconds() - wall)));
        let moved = clock.instant().saturating_duration_since(mono);
        assert!(moved >= Duration::from_secs(86_400) && moved < Duration::from_secs(86_402));
        assert!(
            Clock::system().now_seconds() - wall < 2,
            "the system clock is not moved"
        );
    }

    #[test]
    fn a_clock_can_run_behind_the_system() {
        let behind = MovableClock::skewed(-2_000).clock();
        let system = Clock::system().now_millis();
        let read = behind.now_millis();
        assert!(read + 2_000 >= system && read + 1_900 < system + 100);
    }
}
