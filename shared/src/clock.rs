//! The wall clock as the JWT and DynamoDB formats count it: whole seconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is before it, which Lambda's never is).
pub fn now_seconds() -> u64 {
    since_epoch().as_secs()
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    since_epoch().as_millis() as u64
}

/// Seconds since the Unix epoch, with a fraction (a JWT `NumericDate` may have one).
pub fn now_seconds_f64() -> f64 {
    since_epoch().as_secs_f64()
}

fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
