//! A TTL cache over one secret: fetched lazily from AWS Secrets Manager (or taken from the
//! environment for local runs), parsed once per fetched value, and kept when a refresh fails.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::metrics::{Event, Metrics};

/// Where a secret comes from.
#[derive(Clone)]
pub enum SecretSource {
    /// `GetSecretValue` on this secret id (name or ARN); the value is its `SecretString`.
    SecretsManager {
        /// The Secrets Manager client, built once per execution environment.
        client: aws_sdk_secretsmanager::Client,
        /// Secret name or ARN.
        secret_id: String,
    },
    /// A value given directly (local development only).
    Inline(SecretString),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::SecretsManager { secret_id, .. } => {
                write!(f, "SecretsManager({secret_id})")
            }
            SecretSource::Inline(_) => f.write_str("Inline([redacted])"),
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

struct Cached<T> {
    value: Arc<T>,
    fetched_at: Instant,
}

/// Parses a secret's text into what the function uses (a key, a signing secret). The error must
/// not contain the secret.
pub type SecretParser<T> = fn(&SecretString) -> Result<T, String>;

/// One secret, parsed, cached for a TTL.
pub struct SecretCache<T> {
    source: SecretSource,
    ttl: Duration,
    parse: SecretParser<T>,
    /// Where reads and failed reads are counted, if anywhere.
    metrics: Option<Metrics>,
    current: RwLock<Option<Cached<T>>>,
    /// Held for the whole of a refresh: one fetch in flight at a time.
    refresh: Mutex<Option<Instant>>,
}

/// After a failed fetch with nothing cached, wait this long before asking Secrets Manager again,
/// so that an outage does not turn every request into a slow failing call.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

impl<T> SecretCache<T> {
    /// A cache over `source`; nothing is fetched until [`SecretCache::get`] is called.
    pub fn new(source: SecretSource, ttl: Duration, parse: SecretParser<T>) -> Self {
        Self {
            source,
            ttl,
            parse,
            metrics: None,
            current: RwLock::new(None),
            refresh: Mutex::new(None),
        }
    }

    /// Count each read of the secret in `metrics` (`SecretRefreshes`, `SecretRefreshFailures`;
    /// a value that cannot be parsed is a failure).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, event: Event) {
        if let Some(metrics) = &self.metrics {
            metrics.event(event);
        }
    }

    fn fresh(&self) -> Option<Arc<T>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|c| {
                matches!(self.source, SecretSource::Inline(_)) || c.fetched_at.elapsed() < self.ttl
            })
            .map(|c| c.value.clone())
    }

    fn last_good(&self) -> Option<Arc<T>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map(|c| c.value.clone())
    }

    fn name(&self) -> String {
        match &self.source {
            SecretSource::SecretsManager { secret_id, .. } => secret_id.clone(),
            SecretSource::Inline(_) => "(inline value)".to_owned(),
        }
    }

    /// The parsed secret: from the cache while it is fresh, else fetched again. When a refresh
    /// fails, the last good value is returned and the failure logged.
    pub async fn get(&self) -> Result<Arc<T>, SecretError> {
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let mut last_failure = self.refresh.lock().await;
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let stale = self.last_good();
        if stale.is_none() && last_failure.is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE) {
            return Err(SecretError::Unavailable {
                secret: self.name(),
                reason: "the last attempt failed moments ago".into(),
            });
        }
        let fetched = self.fetch().await;
        self.count(match fetched {
            Ok(_) => Event::SecretRefreshed,
            Err(_) => Event::SecretRefreshFailed,
        });
        match fetched {
            Ok(value) => {
                let value = Arc::new(value);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
                    value: value.clone(),
                    fetched_at: Instant::now(),
                });
                *last_failure = None;
                Ok(value)
            }
            Err(error) => {
                *last_failure = Some(Instant::now());
                match stale {
                    Some(value) => {
                        tracing::warn!(%error, "secret refresh failed; using the last good value");
                        Ok(value)
                    }
                    None => Err(error),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<T, SecretError> {
        let text = match &self.source {
            SecretSource::Inline(value) => value.clone(),
            SecretSource::SecretsManager { client, secret_id } => {
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

/// Parse an RSA public key in PEM (`-----BEGIN PUBLIC KEY-----`), as Zendesk serves an app's key.
pub fn parse_rsa_public_key_pem(text: &SecretString) -> Result<jsonwebtoken::DecodingKey, String> {
    jsonwebtoken::DecodingKey::from_rsa_pem(text.expose_secret().trim().as_bytes())
        .map_err(|e| format!("not an RSA public key in PEM: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_len(text: &SecretString) -> Result<usize, String> {
        Ok(text.expose_secret().len())
    }

    #[tokio::test]
    async fn an_inline_secret_is_parsed_once_and_kept() {
        let cache = SecretCache::new(
            SecretSource::Inline("abcdef".into()),
            Duration::from_secs(0),
            parse_len,
        );
        assert_eq!(*cache.get().await.unwrap(), 6);
        let first = cache.get().await.unwrap();
        let second = cache.get().await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "an inline secret is not parsed again"
        );
    }

    #[tokio::test]
    async fn each_read_of_the_secret_is_counted_and_a_bad_value_as_a_failure() {
        use crate::metrics::{Function, MetricsNamespace};
        let (metrics, lines) = Metrics::capture(MetricsNamespace::default(), Function::Sidebar);
        let cache = SecretCache::new(
            SecretSource::Inline("abcdef".into()),
            Duration::from_secs(0),
            parse_len,
        )
        .with_metrics(metrics.clone());
        cache.get().await.unwrap();
        cache.get().await.unwrap();
        let counted = lines.take();
        assert_eq!(counted.len(), 1, "read once: {counted:?}");
        assert!(
            counted[0].contains(r#""SecretRefreshes":1"#),
            "{}",
            counted[0]
        );

        fn refuse(_: &SecretString) -> Result<usize, String> {
            Err("a redacted copy".into())
        }
        let cache = SecretCache::new(
            SecretSource::Inline("unset".into()),
            Duration::from_secs(0),
            refuse,
        )
        .with_metrics(metrics);
        assert!(cache.get().await.is_err());
        let counted = lines.take();
        assert_eq!(counted.len(), 1, "{counted:?}");
        assert!(
            counted[0].contains(r#""SecretRefreshFailures":1"#),
            "{}",
            counted[0]
        );
        assert!(!counted[0].contains("unset"), "never the value");
    }

    #[test]
    fn a_secret_source_never_prints_its_value() {
        let source = SecretSource::Inline("hunter2-hunter2".into());
        assert!(!format!("{source:?}").contains("hunter2"));
    }
}
