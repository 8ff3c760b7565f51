//! A JWKS cache: keys fetched lazily from one configured URL, looked up by `kid`.
//!
//! An unknown `kid` triggers at most one refresh per cool-down, with one fetch in flight at a
//! time (concurrent callers wait for it and then read its result). A failed refresh keeps the last
//! good keys. There are no background timers: Lambda freezes the process between invocations.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::metrics::{Event, Metrics};

/// How a [`JwksCache`] fetches.
#[derive(Clone, Debug)]
pub struct JwksSettings {
    /// Minimum time between two refreshes caused by unknown `kid`s.
    pub cooldown: Duration,
    /// Whole-request timeout for one fetch (connect, headers and body).
    pub timeout: Duration,
    /// Largest JWKS document accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(3),
            max_bytes: 64 * 1024,
        }
    }
}

/// Fetching the JWKS failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum JwksError {
    /// Connection, timeout or HTTP status error.
    #[error("fetching the JWKS failed: {0}")]
    Fetch(String),
    /// The document is larger than [`JwksSettings::max_bytes`].
    #[error("the JWKS document is larger than {0} bytes")]
    TooLarge(usize),
    /// The document is not a JWKS, or holds no usable RSA key.
    #[error("the JWKS document is not usable: {0}")]
    Invalid(String),
    /// No fetch has succeeded yet and the last attempt is within the cool-down.
    #[error("no keys yet; the last fetch failed and the cool-down has not passed")]
    CoolingDown,
}

/// While no key could ever be loaded, fetch again after at most this long.
const COLD_RETRY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
}

#[derive(Default)]
struct RefreshState {
    /// When the last refresh (or failed fetch) was attempted; the first successful load is not
    /// counted.
    last_attempt: Option<Instant>,
    /// The error of the last attempt, if it failed.
    last_error: Option<JwksError>,
}

/// Keys from one JWKS URL, by `kid`.
pub struct JwksCache {
    url: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    settings: JwksSettings,
    /// Where fetches and failed fetches are counted, if anywhere.
    metrics: Option<Metrics>,
    keys: RwLock<Arc<Keys>>,
    /// Held for the whole of a refresh: there is one fetch in flight at a time.
    refresh: Mutex<RefreshState>,
}

impl JwksCache {
    /// A cache for the JWKS at `url`. Nothing is fetched until a key is asked for.
    pub fn new(url: impl Into<String>, settings: JwksSettings) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(settings.timeout));
        http.enforce_http(false);
        let https = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => builder,
            Err(error) => {
                // Only https:// JWKS URLs need the roots; say why they will fail.
                tracing::warn!(%error, "no system CA certificates found; https JWKS fetches will fail");
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
            }
        }
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
        // No redirects are followed: the JWKS URL is configuration and may not point elsewhere.
        let client = Client::builder(TokioExecutor::new()).build(https);
        Self {
            url: url.into(),
            client,
            settings,
            metrics: None,
            keys: RwLock::new(Arc::default()),
            refresh: Mutex::new(RefreshState::default()),
        }
    }

    /// Count each fetch in `metrics` (`JwksRefreshes`, `JwksRefreshFailures`).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, event: Event) {
        if let Some(metrics) = &self.metrics {
            metrics.event(event);
        }
    }

    /// The URL keys are fetched from.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_kid
            .get(kid)
            .cloned()
    }

    /// The key for `kid`, refreshing the JWKS if it is unknown and the cool-down allows.
    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, crate::AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut state = self.refresh.lock().await;
        // Another caller may have refreshed while this one waited for the lock.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        // The first successful load does not start the cool-down (a key published right after
        // it must still be found); refreshes and failures do. While nothing could be loaded at
        // all, retry sooner, so the function recovers quickly once the endpoint is back.
        let cooldown = if self.is_empty() {
            self.settings.cooldown.min(COLD_RETRY)
        } else {
            self.settings.cooldown
        };
        let within_cooldown = state.last_attempt.is_some_and(|at| at.elapsed() < cooldown);
        if within_cooldown {
            tracing::debug!(kid, "unknown kid; JWKS refresh is cooling down");
            return Err(match &state.last_error {
                Some(_) if self.is_empty() => JwksError::CoolingDown.into(),
                _ => crate::AuthError::UnknownKid,
            });
        }
        let first_load = self.is_empty() && state.last_attempt.is_none();
        let attempt = Instant::now();
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.by_kid.len(), "JWKS refreshed");
                self.count(Event::JwksRefreshed);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                state.last_error = None;
                if !first_load {
                    state.last_attempt = Some(attempt);
                }
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "JWKS refresh failed; keeping the last good keys");
                self.count(Event::JwksRefreshFailed);
                state.last_error = Some(error.clone());
                state.last_attempt = Some(attempt);
                if self.is_empty() {
                    return Err(error.into());
                }
            }
        }
        self.cached(kid).ok_or(crate::AuthError::UnknownKid)
    }

    fn is_empty(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_kid
            .is_empty()
    }

    async fn fetch(&self) -> Result<Keys, JwksError> {
        let timeout = self.settings.timeout;
        match tokio::time::timeout(timeout, self.fetch_body()).await {
            Ok(body) => parse_jwks(&body?),
            Err(_) => Err(JwksError::Fetch(format!("no answer within {timeout:?}"))),
        }
    }

    async fn fetch_body(&self) -> Result<Bytes, JwksError> {
        let request = http::Request::get(self.url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| JwksError::Fetch(format!("bad JWKS URL: {e}")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| JwksError::Fetch(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(JwksError::Fetch(format!("HTTP {}", response.status())));
        }
        let max = self.settings.max_bytes;
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max as u64) {
            return Err(JwksError::TooLarge(max));
        }
        match Limited::new(response.into_body(), max).collect().await {
            Ok(body) => Ok(body.to_bytes()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                Err(JwksError::TooLarge(max))
            }
            Err(error) => Err(JwksError::Fetch(error.to_string())),
        }
    }
}

/// An error and its sources on one line (hyper's top-level errors say little on their own).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The RSA signing keys of a JWKS document, by `kid`. Zendesk's keys carry no `alg`; the
/// verifier pins RS256 itself, so keys are accepted without one.
fn parse_jwks(body: &[u8]) -> Result<Keys, JwksError> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| JwksError::Invalid(e.to_string()))?;
    let mut by_kid = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.as_deref() else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
            continue;
        };
        match DecodingKey::from_rsa_components(&rsa.n, &rsa.e) {
            Ok(key) => {
                by_kid.insert(kid.to_owned(), Arc::new(key));
            }
            Err(error) => tracing::warn!(kid, %error, "skipping an unusable JWKS key"),
        }
    }
    if by_kid.is_empty() {
        return Err(JwksError::Invalid("no RSA signing key with a kid".into()));
    }
    Ok(Keys { by_kid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_without_rsa_keys_is_refused() {
        let body = br#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}"#;
        assert!(matches!(parse_jwks(body), Err(JwksError::Invalid(_))));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(parse_jwks(b"<html>"), Err(JwksError::Invalid(_))));
    }
}
