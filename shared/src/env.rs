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

/// Where configuration variables come from: the process environment, or (in tests and tools)
/// any name-to-value lookup.
pub trait Vars {
    /// The raw value of `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Vars for Vec<(&str, String)> {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Typed reads of configuration variables; every error names the variable.
pub struct Reader<'a> {
    vars: &'a dyn Vars,
}

impl<'a> Reader<'a> {
    /// Read from `vars`.
    pub fn new(vars: &'a dyn Vars) -> Self {
        Self { vars }
    }

    /// The variable's value, or `None` when it is unset or blank.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.vars
            .var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The variable's value; missing or blank is an error.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::new(name, "is required but not set"))
    }

    /// The variable parsed as `T`, or `default` when unset.
    pub fn parsed_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| ConfigError::new(name, format!("cannot parse {raw:?}: {e}"))),
        }
    }

    /// A duration given in whole seconds, or `default` when unset.
    pub fn seconds_or(
        &self,
        name: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.parsed_or(name, default.as_secs())
            .map(Duration::from_secs)
    }

    /// A duration given in milliseconds, or `default` when unset.
    pub fn millis_or(
        &self,
        name: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.parsed_or(name, default.as_millis() as u64)
            .map(Duration::from_millis)
    }

    /// The JWT leeway (`JWT_LEEWAY_SECONDS`, default 30 s, at most 60 s).
    pub fn leeway(&self) -> Result<Duration, ConfigError> {
        let leeway = self.seconds_or("JWT_LEEWAY_SECONDS", Duration::from_secs(30))?;
        if leeway > Duration::from_secs(60) {
            return Err(ConfigError::new("JWT_LEEWAY_SECONDS", "must be at most 60"));
        }
        Ok(leeway)
    }

    /// The JWKS fetch settings (`JWKS_COOLDOWN_SECONDS`, `JWKS_TIMEOUT_MS`, `JWKS_MAX_BYTES`).
    pub fn jwks_settings(&self) -> Result<crate::JwksSettings, ConfigError> {
        let defaults = crate::JwksSettings::default();
        Ok(crate::JwksSettings {
            cooldown: self.seconds_or("JWKS_COOLDOWN_SECONDS", defaults.cooldown)?,
            timeout: self.millis_or("JWKS_TIMEOUT_MS", defaults.timeout)?,
            max_bytes: self.parsed_or("JWKS_MAX_BYTES", defaults.max_bytes)?,
        })
    }

    /// The Zendesk subdomain (`acme` for `acme.zendesk.com`): lower-case letters, digits and
    /// dashes.
    pub fn subdomain(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?.to_ascii_lowercase();
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

    /// A required `http(s)://` URL.
    pub fn url(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        url(name, value)
    }

    /// The CloudWatch namespace of the function's metrics (`METRICS_NAMESPACE`, default
    /// [`crate::metrics::DEFAULT_NAMESPACE`]; the SAM template sets one per stack).
    pub fn metrics_namespace(&self) -> Result<crate::metrics::MetricsNamespace, ConfigError> {
        match self.optional("METRICS_NAMESPACE") {
            None => Ok(crate::metrics::MetricsNamespace::default()),
            Some(value) => crate::metrics::MetricsNamespace::parse(&value)
                .map_err(|problem| ConfigError::new("METRICS_NAMESPACE", problem)),
        }
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
