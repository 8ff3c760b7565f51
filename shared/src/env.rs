//! Reading typed configuration from environment variables, once, at start-up.
//!
//! Every error names the variable so a failed cold start says what to fix.

use std::str::FromStr;
use std::time::Duration;

/// A configuration variable is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    /// A problem with the variable `name`.
    pub fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self {
            name,
            problem: problem.into(),
        }
    }
}

/// The variable's value, or `None` when it is unset or blank.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The variable's value; missing or blank is an error.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or_else(|| ConfigError::new(name, "is required but not set"))
}

/// The variable parsed as `T`, or `default` when unset.
pub fn parsed_or<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| ConfigError::new(name, format!("cannot parse {raw:?}: {e}"))),
    }
}

/// A duration given in whole seconds, or `default` when unset.
pub fn seconds_or(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    parsed_or(name, default.as_secs()).map(Duration::from_secs)
}

/// A duration given in milliseconds, or `default` when unset.
pub fn millis_or(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    parsed_or(name, default.as_millis() as u64).map(Duration::from_millis)
}

/// The Zendesk subdomain (`acme` for `acme.zendesk.com`): lower-case letters, digits and dashes.
pub fn subdomain(name: &'static str) -> Result<String, ConfigError> {
    let value = required(name)?.to_ascii_lowercase();
    let valid = !value.starts_with('-')
        && !value.ends_with('-')
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(value)
    } else {
        Err(ConfigError::new(
            name,
            format!("{value:?} is not a Zendesk subdomain (the `acme` of acme.zendesk.com)"),
        ))
    }
}

/// An `http(s)://` URL.
pub fn url(name: &'static str, value: String) -> Result<String, ConfigError> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value)
    } else {
        Err(ConfigError::new(
            name,
            format!("{value:?} is not an http(s) URL"),
        ))
    }
}
