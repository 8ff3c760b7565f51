//! Reading typed configuration from environment variables, once, at start-up.
//!
//! Every error names the variable so a failed cold start says what to fix.

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// A configuration variable is missing or malformed.
#[derive(Clone, Debug, thiserror::Error)]
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

impl Vars for [(&str, String)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
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

    /// A duration given in whole seconds within `range`, or `default` when unset; `why` says
    /// in the error what the bounds are for.
    pub fn seconds_within(
        &self,
        name: &'static str,
        default: Duration,
        range: RangeInclusive<u64>,
        why: &str,
    ) -> Result<Duration, ConfigError> {
        let value = self.seconds_or(name, default)?;
        if range.contains(&value.as_secs()) {
            Ok(value)
        } else {
            Err(ConfigError::new(
                name,
                format!(
                    "must be between {} and {} ({why})",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    /// A duration given in milliseconds, or `default` when unset.
    pub(crate) fn millis_or(
        &self,
        name: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.parsed_or(name, default.as_millis() as u64)
            .map(Duration::from_millis)
    }

    /// The Zendesk subdomain (`acme` for `acme.zendesk.com`): lower-case letters, digits and
    /// dashes.
    pub fn subdomain(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?.to_ascii_lowercase();
        if crate::verify::is_subdomain(&value) {
            Ok(value)
        } else {
            Err(ConfigError::new(
                name,
                format!("{value:?} is not a Zendesk subdomain (the `acme` of acme.zendesk.com)"),
            ))
        }
    }
}

/// A URL keys are fetched from (a JWKS): `https://`, or, for local runs only, `http://` to a
/// loopback address (`127.0.0.0/8`, `[::1]`, `localhost`) or to `host.docker.internal` (how SAM's
/// local container reaches the machine it runs on). Keys fetched over plain HTTP from anywhere
/// else could be replaced on the way, and with them every identity.
pub fn key_url(name: &'static str, value: String) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(&value)
        .map_err(|e| ConfigError::new(name, format!("{value:?} is not a URL: {e}")))?;
    // The URL parser reads `https:///keys.json` as the host `keys.json`; the value is used as
    // written, so it must name its host right after `//`.
    let names_host = value
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    let local = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => {
            domain == "localhost" || domain == "host.docker.internal"
        }
        None => false,
    };
    match parsed.scheme() {
        "https" if names_host && parsed.host().is_some() => Ok(value),
        "http" if names_host && local => Ok(value),
        _ => Err(ConfigError::new(
            name,
            format!(
                "{value:?} must be an https:// URL (http:// only to a loopback address, for local runs)"
            ),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn blank_is_unset_and_values_are_trimmed() {
        let vars = vars(&[("A", "  x  "), ("B", "   ")]);
        let env = Reader::new(&vars);
        assert_eq!(env.optional("A").as_deref(), Some("x"));
        assert_eq!(env.optional("B"), None);
        assert_eq!(env.required("B").unwrap_err().name, "B");
        assert_eq!(env.required("C").unwrap_err().name, "C");
    }

    #[test]
    fn seconds_outside_their_range_name_the_variable_and_say_why() {
        let vars = vars(&[("LOW", "29"), ("OK", "30"), ("HIGH", "61")]);
        let env = Reader::new(&vars);
        let within = |name| env.seconds_within(name, Duration::from_secs(45), 30..=60, "a reason");
        assert_eq!(within("OK").unwrap(), Duration::from_secs(30));
        assert_eq!(within("UNSET").unwrap(), Duration::from_secs(45));
        for name in ["LOW", "HIGH"] {
            let error = within(name).unwrap_err();
            assert_eq!(error.name, name);
            assert_eq!(error.problem, "must be between 30 and 60 (a reason)");
        }
    }

    #[test]
    fn numbers_and_durations_parse_or_name_the_variable() {
        let vars = vars(&[("N", "12"), ("BAD", "twelve"), ("MS", "1500")]);
        let env = Reader::new(&vars);
        assert_eq!(env.parsed_or("N", 0u32).unwrap(), 12);
        assert_eq!(env.parsed_or("UNSET", 7u32).unwrap(), 7);
        let error = env.parsed_or("BAD", 0u32).unwrap_err();
        assert_eq!(error.name, "BAD");
        assert!(error.problem.contains("twelve"));
        assert_eq!(
            env.seconds_or("N", Duration::ZERO).unwrap(),
            Duration::from_secs(12)
        );
        assert_eq!(
            env.millis_or("MS", Duration::ZERO).unwrap(),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn a_subdomain_is_lower_case_letters_digits_and_inner_dashes() {
        for (raw, expected) in [("acme", "acme"), ("ACME-2", "acme-2")] {
            let vars = vars(&[("S", raw)]);
            assert_eq!(Reader::new(&vars).subdomain("S").unwrap(), expected);
        }
        for bad in [
            "-acme",
            "acme-",
            "ac.me",
            "acme.zendesk.com",
            "ac me",
            &"a".repeat(64),
        ] {
            let vars = vars(&[("S", bad)]);
            assert_eq!(
                Reader::new(&vars).subdomain("S").unwrap_err().name,
                "S",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_key_url_is_https_or_local() {
        for good in [
            "https://acme.zendesk.com/keys.json",
            "http://127.0.0.1:3000/jwks.json",
            "http://127.0.0.2/jwks.json",
            "http://localhost/jwks.json",
            "http://[::1]:9/jwks.json",
            "http://host.docker.internal:3000/dev/jwks.json",
        ] {
            assert_eq!(key_url("K", good.into()).unwrap(), good);
        }
        for bad in [
            "http://idp.example.com/jwks.json",
            "http://localhost.example.com/jwks.json",
            "http://192.168.1.1/jwks.json",
            "file:///etc/jwks.json",
            "https:///jwks.json",
            "http:///localhost/jwks.json",
            "jwks.json",
        ] {
            assert_eq!(key_url("K", bad.into()).unwrap_err().name, "K", "{bad}");
        }
    }

    #[test]
    fn a_url_is_http_or_https() {
        assert!(url("U", "https://example.com/keys.json".into()).is_ok());
        assert!(url("U", "http://127.0.0.1:9/keys.json".into()).is_ok());
        for bad in ["ftp://example.com", "example.com", "//example.com"] {
            assert_eq!(url("U", bad.into()).unwrap_err().name, "U", "{bad}");
        }
    }
}
