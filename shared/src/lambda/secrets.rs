//! Secrets: where one lives ([`SecretLocation`], read from configuration) and a TTL cache over it
//! ([`SecretCache`]): fetched lazily from AWS Secrets Manager (or taken from the environment for
//! local runs), parsed once per fetched value, and kept when a refresh fails.
//!
//! An outage of Secrets Manager, or a stored value that is refused (the `unset` placeholder, a
//! redacted SDK secret), never turns into a queue: at most one fetch is in flight per secret,
//! and after a failed refresh the next attempt waits for the retry interval; meanwhile every
//! request is served at once from the last good value, or answered "unavailable" at once when
//! there is none.
//!
//! An outage keeps the last good value in use for as long as it lasts: the value was good, and
//! an outage of Secrets Manager should not become an outage of the function. A value that is
//! refused is different: someone stored it, most likely to replace the old one (a rotated key
//! or secret), so the old one is kept for at most one TTL after the first refusal (the time an
//! instance may keep any value), then dropped; until a usable value is stored the function
//! answers "unavailable". Each refusal is counted, so an alarm can call an operator.

use std::sync::Arc;

use secrecy::SecretString;

use super::aws::Aws;
pub use super::cache::SecretTimes;
use super::cache::{Failure, Got, RefreshingCell};
use super::env::{ConfigError, Reader};
use super::metrics::{Event, Metrics};
use crate::clock::Clock;

/// Where a secret lives, as configured.
#[derive(Clone)]
pub enum SecretLocation {
    /// A Secrets Manager secret (name or ARN); its value is the `SecretString`.
    SecretsManager(String),
    /// The value itself, given in the environment (local runs only).
    Inline(SecretString),
}

impl SecretLocation {
    /// The secret id in `id_var` or, for local runs, the value itself in `value_var`; the id
    /// wins when both are set, and one of the two is required.
    pub fn from_env(
        env: &Reader,
        id_var: &'static str,
        value_var: &'static str,
    ) -> Result<Self, ConfigError> {
        match (env.optional(id_var), env.optional(value_var)) {
            (Some(id), _) => Ok(Self::SecretsManager(id)),
            (None, Some(value)) => Ok(Self::Inline(value.into())),
            (None, None) => Err(ConfigError::new(
                id_var,
                format!("is required (or {value_var} for local runs)"),
            )),
        }
    }
}

impl std::fmt::Debug for SecretLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretLocation::SecretsManager(id) => write!(f, "SecretsManager({id})"),
            SecretLocation::Inline(_) => f.write_str("Inline([redacted])"),
        }
    }
}

/// The secret could not be had.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager could not be reached or refused the call, and no earlier value is cached.
    #[error("reading secret {secret}: {reason}")]
    Unavailable {
        /// The secret id (never its value).
        secret: String,
        /// What went wrong.
        reason: String,
    },
    /// The secret's value is not usable (for instance a redacted copy or a malformed key).
    #[error("secret {secret} is not usable: {reason}")]
    Invalid {
        /// The secret id (never its value).
        secret: String,
        /// Why the value was refused; never contains the value.
        reason: String,
    },
}

/// Parses a secret's text into what the function uses (a key, a signing secret). The error must
/// not contain the secret.
pub(crate) type SecretParser<T> = fn(&SecretString) -> Result<T, String>;

/// Where a cache reads from: a client for Secrets Manager, or the inline value.
enum Source {
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
    Inline(SecretString),
}

/// How one fetch of a secret ended, as an observer is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// A usable value was read.
    Usable,
    /// Secrets Manager could not be read.
    Unavailable,
    /// A value was read and refused (the placeholder, a redacted copy, a malformed key).
    Refused,
}

/// One secret, parsed, cached for a TTL.
pub struct SecretCache<T> {
    source: Source,
    parse: SecretParser<T>,
    /// Told how each fetch ended (metrics count reads with it).
    observer: Option<Box<dyn Fn(Fetched) + Send + Sync>>,
    /// The parsed value, by the bundle's cache rule.
    cell: RefreshingCell<Arc<T>>,
}

impl<T> SecretCache<T> {
    /// A cache over the secret at `location`, with a Secrets Manager client from `aws` when the
    /// secret lives there, timing its values on `clock`. Nothing is fetched until
    /// [`SecretCache::get`] is called.
    pub fn new(
        location: &SecretLocation,
        aws: &Aws,
        times: SecretTimes,
        clock: Clock,
        parse: SecretParser<T>,
    ) -> Result<Self, ConfigError> {
        let source = match location {
            SecretLocation::SecretsManager(secret_id) => Source::SecretsManager {
                client: aws.secrets_manager()?,
                secret_id: secret_id.clone(),
            },
            SecretLocation::Inline(value) => Source::Inline(value.clone()),
        };
        let cell = RefreshingCell::new(times, clock);
        let cell = match source {
            Source::Inline(_) => cell.never_expiring(),
            Source::SecretsManager { .. } => cell,
        };
        Ok(Self {
            source,
            parse,
            observer: None,
            cell,
        })
    }

    /// Call `observer` after each fetch with how it ended.
    pub(crate) fn on_fetch(mut self, observer: impl Fn(Fetched) + Send + Sync + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    fn name(&self) -> String {
        match &self.source {
            Source::SecretsManager { secret_id, .. } => secret_id.clone(),
            Source::Inline(_) => "(inline value)".to_owned(),
        }
    }

    /// The parsed secret: from the cache while it is fresh, else fetched again by one caller
    /// while the others are served the last good value at once. When a refresh fails, the last
    /// good value is returned and the failure logged; a refused value retires it one TTL after
    /// the first refusal ([`crate::lambda::cache`]).
    pub async fn get(&self) -> Result<Arc<T>, SecretError> {
        match self.cell.get(|| self.fetch_observed()).await {
            Got::Value(value) => Ok(value),
            Got::Stale(value, error) => {
                tracing::warn!(%error, "secret refresh failed; using the last good value");
                Ok(value)
            }
            Got::Retired(error) => {
                // Nothing is served from here on: every caller gets "unavailable" until a usable
                // value is stored.
                tracing::error!(%error, "the stored secret has been refused for a TTL; the last good value is no longer used");
                Err(error)
            }
            Got::Failed(error) => Err(error),
            Got::Cooling => Err(SecretError::Unavailable {
                secret: self.name(),
                reason: "the last attempt failed moments ago".into(),
            }),
        }
    }

    /// One fetch, its observer told how it ended.
    async fn fetch_observed(&self) -> Result<Arc<T>, Failure<SecretError>> {
        let fetched = self.fetch().await;
        if let Some(observer) = &self.observer {
            observer(match &fetched {
                Ok(_) => Fetched::Usable,
                Err(SecretError::Unavailable { .. }) => Fetched::Unavailable,
                Err(SecretError::Invalid { .. }) => Fetched::Refused,
            });
        }
        match fetched {
            Ok(value) => Ok(Arc::new(value)),
            Err(error @ SecretError::Unavailable { .. }) => Err(Failure::Unavailable(error)),
            Err(error @ SecretError::Invalid { .. }) => Err(Failure::Refused(error)),
        }
    }

    async fn fetch(&self) -> Result<T, SecretError> {
        let text = match &self.source {
            Source::Inline(value) => value.clone(),
            Source::SecretsManager { client, secret_id } => {
                let output = client
                    .get_secret_value()
                    .secret_id(secret_id)
                    .send()
                    .await
                    .map_err(|e| SecretError::Unavailable {
                        secret: secret_id.clone(),
                        reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                    })?;
                let text = output.secret_string.ok_or_else(|| SecretError::Invalid {
                    secret: secret_id.clone(),
                    reason: "it has no SecretString (binary secrets are not supported)".into(),
                })?;
                tracing::info!(secret = %secret_id, "secret fetched");
                SecretString::from(text)
            }
        };
        (self.parse)(&text).map_err(|reason| SecretError::Invalid {
            secret: self.name(),
            reason,
        })
    }
}

impl<T> SecretCache<T> {
    /// Count each read of the secret in `metrics` (`SecretRefreshes`, `SecretRefreshFailures`;
    /// a value that cannot be parsed is a failure, and also counted as `SecretsRefused`).
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        self.on_fetch(move |fetched| match fetched {
            Fetched::Usable => metrics.event(Event::SecretRefreshed),
            Fetched::Unavailable => metrics.event(Event::SecretRefreshFailed),
            Fetched::Refused => {
                metrics.event(Event::SecretRefreshFailed);
                metrics.event(Event::SecretRefused);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use secrecy::ExposeSecret;

    fn parse_len(text: &SecretString) -> Result<usize, String> {
        Ok(text.expose_secret().len())
    }

    fn times(ttl: u64, retry: u64) -> SecretTimes {
        SecretTimes {
            ttl: Duration::from_secs(ttl),
            retry: Duration::from_secs(retry),
        }
    }

    fn no_aws() -> Aws {
        let none: Vec<(&str, String)> = vec![];
        Aws::from_vars(&none)
    }

    #[tokio::test]
    async fn an_inline_secret_is_parsed_once_and_kept() {
        let cache = SecretCache::new(
            &SecretLocation::Inline("abcdef".into()),
            &no_aws(),
            times(0, 0),
            Clock::system(),
            parse_len,
        )
        .expect("an inline secret needs no AWS settings");
        assert_eq!(*cache.get().await.unwrap(), 6);
        let first = cache.get().await.unwrap();
        let second = cache.get().await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "an inline secret is not parsed again"
        );
    }

    #[test]
    fn a_secrets_manager_secret_without_aws_settings_is_a_configuration_error() {
        let result = SecretCache::new(
            &SecretLocation::SecretsManager("app/key".into()),
            &no_aws(),
            times(300, 30),
            Clock::system(),
            parse_len,
        );
        assert_eq!(result.err().map(|e| e.name), Some("AWS_REGION"));
    }

    #[test]
    fn a_secret_location_never_prints_its_value() {
        let location = SecretLocation::Inline("hunter2-hunter2".into());
        assert!(!format!("{location:?}").contains("hunter2"));
    }

    #[test]
    fn the_location_is_the_id_or_else_the_inline_value() {
        let both = vec![("ID", "app/key".to_owned()), ("VALUE", "pem".to_owned())];
        assert!(matches!(
            SecretLocation::from_env(&Reader::new(&both), "ID", "VALUE").unwrap(),
            SecretLocation::SecretsManager(id) if id == "app/key"
        ));
        let inline = vec![("VALUE", "pem".to_owned())];
        assert!(matches!(
            SecretLocation::from_env(&Reader::new(&inline), "ID", "VALUE").unwrap(),
            SecretLocation::Inline(_)
        ));
        let none: Vec<(&str, String)> = vec![];
        let error = SecretLocation::from_env(&Reader::new(&none), "ID", "VALUE").unwrap_err();
        assert_eq!(error.name, "ID");
        assert!(error.problem.contains("VALUE"));
    }

    #[tokio::test]
    async fn each_read_of_a_secret_is_counted_and_a_bad_value_as_a_failure() {
        use crate::lambda::metrics::{Function, MetricsNamespace};
        use secrecy::{ExposeSecret, SecretString};
        fn parse_len(text: &SecretString) -> Result<usize, String> {
            Ok(text.expose_secret().len())
        }
        fn refuse(_: &SecretString) -> Result<usize, String> {
            Err("a redacted copy".into())
        }
        let no_aws: Vec<(&str, String)> = vec![];
        let times = SecretTimes {
            ttl: std::time::Duration::ZERO,
            retry: std::time::Duration::ZERO,
        };
        let (metrics, lines) = Metrics::capture(MetricsNamespace::default(), Function::Sidebar);
        let inline = SecretLocation::Inline("abcdef".into());
        let clock = crate::clock::Clock::system();
        let cache = SecretCache::new(
            &inline,
            &Aws::from_vars(&no_aws),
            times,
            clock.clone(),
            parse_len,
        )
        .unwrap()
        .with_metrics(metrics.clone());
        cache.get().await.unwrap();
        cache.get().await.unwrap();
        let counted = lines.take();
        assert_eq!(
            counted.len(),
            1,
            "an inline value is read once: {counted:?}"
        );
        assert!(
            counted[0].contains(r#""SecretRefreshes":1"#),
            "{}",
            counted[0]
        );

        let unset = SecretLocation::Inline("unset".into());
        let cache = SecretCache::new(&unset, &Aws::from_vars(&no_aws), times, clock, refuse)
            .unwrap()
            .with_metrics(metrics);
        assert!(cache.get().await.is_err());
        let counted = lines.take();
        assert_eq!(counted.len(), 2, "{counted:?}");
        assert!(
            counted[0].contains(r#""SecretRefreshFailures":1"#),
            "{}",
            counted[0]
        );
        assert!(
            counted[1].contains(r#""SecretsRefused":1"#),
            "a refused value is also counted as refused: {}",
            counted[1]
        );
        assert!(
            !counted.iter().any(|line| line.contains("unset")),
            "never the value"
        );
    }
}
