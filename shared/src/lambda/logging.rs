//! Log set-up for every function: `tracing` to stdout, JSON when Lambda's
//! `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level of `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`,
//! default INFO).
//!
//! The level is capped at DEBUG: at TRACE the runtime and HTTP crates log whole requests,
//! headers and bodies included, which would put tokens and user tokens into the logs.

use tracing::level_filters::LevelFilter;

/// The log level for `requested` (a Lambda or `RUST_LOG` level name), capped at DEBUG.
pub fn level(requested: Option<&str>) -> LevelFilter {
    let level = match requested.map(|l| l.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") | Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") | Some("FATAL") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    level.min(LevelFilter::DEBUG)
}

/// Install the subscriber; call once, first thing in `main`.
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level(requested.as_deref()))
        .with_target(false)
        .without_time();
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_is_never_enabled() {
        assert_eq!(level(Some("TRACE")), LevelFilter::DEBUG);
        assert_eq!(level(Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level(None), LevelFilter::INFO);
        assert_eq!(level(Some("FATAL")), LevelFilter::ERROR);
    }
}
