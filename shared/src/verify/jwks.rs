//! A JWKS cache: keys fetched lazily from one configured URL, looked up by `kid`.
//!
//! An unknown `kid` triggers at most one refresh per cool-down, with one fetch in flight at a
//! time (concurrent callers wait for it and then read its result). Keys older than the maximum
//! age are refreshed by the next lookup (again at most once per cool-down; other lookups use the
//! cached keys meanwhile), so a key withdrawn from the JWKS stops being trusted. A failed refresh
//! keeps the last good keys. There are no background timers: Lambda freezes the process between
//! invocations.

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
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::{AuthError, JwksError};
use crate::clock::Clock;

/// How a [`JwksCache`] fetches.
#[derive(Clone, Debug)]
pub struct JwksSettings {
    /// Minimum time between two refreshes caused by unknown `kid`s.
    pub cooldown: Duration,
    /// Whole-request timeout for one fetch (connect, headers and body).
    pub timeout: Duration,
    /// Largest JWKS document accepted, in bytes.
    pub max_bytes: usize,
    /// How long fetched keys are trusted before the next lookup refreshes them.
    pub max_age: Duration,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(3),
            max_bytes: 64 * 1024,
            max_age: Duration::from_secs(600),
        }
    }
}

/// While no key could ever be loaded, fetch again after at most this long. Longer than a
/// secret's 1 s (`lambda::cache::COLD_RETRY`): a JWKS is a third party's URL (the help center's,
/// an identity provider's), fetched with a timeout of seconds, and every instance of the function
/// would ask a failing one once a second; a secret lives in the bundle's own account and is
/// answered in milliseconds.
const COLD_RETRY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// When these keys were fetched (`None` before the first load).
    loaded_at: Option<Instant>,
}

/// What the cache remembers about its fetches.
#[derive(Clone, Debug, Default)]
struct RefreshState {
    /// When the last refresh (or failed fetch) was attempted; the first successful load is not
    /// counted.
    last_attempt: Option<Instant>,
    /// The error of the last attempt, if it failed.
    last_error: Option<JwksError>,
}

/// What to do about a `kid` that is not among the cached keys.
#[derive(Debug, PartialEq, Eq)]
enum OnUnknownKid {
    /// Fetch the JWKS now.
    Fetch,
    /// Refuse the token: the cool-down since the last attempt has not passed.
    Refuse,
    /// Answer "unavailable": no keys were ever loaded, the last attempt failed and the (short)
    /// cool-down has not passed.
    Unavailable,
}

/// The refresh rule. The first successful load does not start the cool-down (a key published
/// right after it must still be found); refreshes and failures do. While nothing could be loaded
/// at all, the cool-down is at most [`COLD_RETRY`], so the function recovers quickly once the
/// endpoint is back.
fn on_unknown_kid(
    state: &RefreshState,
    have_keys: bool,
    now: Instant,
    settings: &JwksSettings,
) -> OnUnknownKid {
    let cooldown = if have_keys {
        settings.cooldown
    } else {
        settings.cooldown.min(COLD_RETRY)
    };
    let cooling = state
        .last_attempt
        .is_some_and(|at| now.saturating_duration_since(at) < cooldown);
    match (cooling, have_keys, &state.last_error) {
        (false, ..) => OnUnknownKid::Fetch,
        (true, false, Some(_)) => OnUnknownKid::Unavailable,
        (true, ..) => OnUnknownKid::Refuse,
    }
}

/// Whether a lookup of a cached `kid` refreshes the keys first: only when they are older than
/// the maximum age and the cool-down since the last attempt has passed. The keys are used either
/// way if the refresh fails.
fn refresh_known_kid(
    state: &RefreshState,
    loaded_at: Option<Instant>,
    now: Instant,
    settings: &JwksSettings,
) -> bool {
    let too_old = loaded_at.is_none_or(|at| now.saturating_duration_since(at) >= settings.max_age);
    let cooling = state
        .last_attempt
        .is_some_and(|at| now.saturating_duration_since(at) < settings.cooldown);
    too_old && !cooling
}

/// The state after a fetch attempted at `attempt` (`had_keys`: whether keys were cached before).
fn after_fetch(
    state: &RefreshState,
    had_keys: bool,
    attempt: Instant,
    result: Result<(), &JwksError>,
) -> RefreshState {
    let first_load = !had_keys && state.last_attempt.is_none();
    match result {
        Ok(()) => RefreshState {
            last_attempt: if first_load {
                state.last_attempt
            } else {
                Some(attempt)
            },
            last_error: None,
        },
        Err(error) => RefreshState {
            last_attempt: Some(attempt),
            last_error: Some(error.clone()),
        },
    }
}

/// Told after each fetch whether it succeeded (the plumbing layer counts fetches with it).
type FetchObserver = Box<dyn Fn(bool) + Send + Sync>;

/// Keys from one JWKS URL, by `kid`.
pub struct JwksCache {
    url: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    settings: JwksSettings,
    clock: Clock,
    observer: Option<FetchObserver>,
    keys: RwLock<Arc<Keys>>,
    /// Held for the whole of a refresh: there is one fetch in flight at a time.
    refresh: Mutex<RefreshState>,
}

impl JwksCache {
    /// A cache for the JWKS at `url`, measuring the keys' age on `clock`. Nothing is fetched
    /// until a key is asked for.
    pub fn new(url: impl Into<String>, settings: JwksSettings, clock: Clock) -> Self {
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
            clock,
            observer: None,
            keys: RwLock::new(Arc::default()),
            refresh: Mutex::new(RefreshState::default()),
        }
    }

    /// Call `observer` after each fetch with whether it succeeded.
    pub(crate) fn on_fetch(mut self, observer: impl Fn(bool) + Send + Sync + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The clock this cache (and the verifiers over it) read.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_kid
            .get(kid)
            .cloned()
    }

    fn have_keys(&self) -> bool {
        !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_kid
            .is_empty()
    }

    /// The key for `kid`: from the cache, refreshing the JWKS first when the `kid` is unknown
    /// ([`on_unknown_kid`]) or the keys are too old ([`refresh_known_kid`]).
    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        let keys = self.keys();
        if let Some(key) = keys.by_kid.get(kid) {
            if keys.loaded_at.is_some_and(|at| {
                self.clock.instant().saturating_duration_since(at) < self.settings.max_age
            }) {
                return Ok(key.clone());
            }
            // Too old: one caller refreshes, the others use the cached key meanwhile.
            let Ok(mut state) = self.refresh.try_lock() else {
                return Ok(key.clone());
            };
            let loaded_at = self.keys().loaded_at;
            if !refresh_known_kid(&state, loaded_at, self.clock.instant(), &self.settings) {
                return Ok(self.cached(kid).unwrap_or_else(|| key.clone()));
            }
            return match self.refresh(&mut state, true).await {
                Ok(()) => self.cached(kid).ok_or(AuthError::UnknownKid),
                // The last good keys are kept when a refresh fails.
                Err(_) => Ok(key.clone()),
            };
        }
        let mut state = self.refresh.lock().await;
        // Another caller may have refreshed while this one waited for the lock.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let had_keys = self.have_keys();
        match on_unknown_kid(&state, had_keys, self.clock.instant(), &self.settings) {
            OnUnknownKid::Fetch => {}
            OnUnknownKid::Refuse => {
                tracing::debug!(kid, "unknown kid; JWKS refresh is cooling down");
                return Err(AuthError::UnknownKid);
            }
            OnUnknownKid::Unavailable => {
                tracing::debug!(kid, "no JWKS keys yet; the last fetch failed moments ago");
                return Err(JwksError::CoolingDown.into());
            }
        }
        if let Err(error) = self.refresh(&mut state, had_keys).await
            && !had_keys
        {
            return Err(error.into());
        }
        self.cached(kid).ok_or(AuthError::UnknownKid)
    }

    fn keys(&self) -> Arc<Keys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetch the JWKS (the caller holds the refresh lock); keep the last good keys on failure.
    async fn refresh(&self, state: &mut RefreshState, had_keys: bool) -> Result<(), JwksError> {
        let attempt = self.clock.instant();
        let fetched = self.fetch().await;
        if let Some(observer) = &self.observer {
            observer(fetched.is_ok());
        }
        *state = after_fetch(state, had_keys, attempt, fetched.as_ref().map(|_| ()));
        match fetched {
            Ok(mut keys) => {
                tracing::info!(url = %self.url, keys = keys.by_kid.len(), "JWKS refreshed");
                keys.loaded_at = Some(attempt);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "JWKS refresh failed; keeping the last good keys");
                Err(error)
            }
        }
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

/// The RSA signing keys of a JWKS document, by `kid`. Zendesk's keys carry no `alg`, `use` or
/// `key_ops`; the verifier pins RS256 itself, so keys are accepted without them. A key that says
/// it is for something else (`use` other than `sig`, `key_ops` without `verify`, `alg` other than
/// RS256) is never used to verify.
fn parse_jwks(body: &[u8]) -> Result<Keys, JwksError> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| JwksError::Invalid(e.to_string()))?;
    let mut by_kid = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.as_deref() else {
            continue;
        };
        let for_signatures = jwk
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == PublicKeyUse::Signature);
        let for_verifying = jwk
            .common
            .key_operations
            .as_ref()
            .is_none_or(|ops| ops.contains(&KeyOperations::Verify));
        let for_rs256 = jwk
            .common
            .key_algorithm
            .is_none_or(|alg| alg == KeyAlgorithm::RS256);
        if !(for_signatures && for_verifying && for_rs256) {
            tracing::debug!(kid, "skipping a JWKS key that is not for RS256 signatures");
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
    Ok(Keys {
        by_kid,
        loaded_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(cooldown: u64) -> JwksSettings {
        JwksSettings {
            cooldown: Duration::from_secs(cooldown),
            ..JwksSettings::default()
        }
    }

    fn failed() -> JwksError {
        JwksError::Fetch("HTTP 503".into())
    }

    #[test]
    fn the_first_unknown_kid_fetches() {
        let t0 = Instant::now();
        let state = RefreshState::default();
        assert_eq!(
            on_unknown_kid(&state, false, t0, &settings(30)),
            OnUnknownKid::Fetch
        );
    }

    #[test]
    fn the_first_successful_load_does_not_start_the_cooldown() {
        let t0 = Instant::now();
        let state = after_fetch(&RefreshState::default(), false, t0, Ok(()));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            on_unknown_kid(&state, true, t1, &settings(30)),
            OnUnknownKid::Fetch
        );
    }

    #[test]
    fn a_refresh_starts_the_cooldown_and_its_end_allows_another() {
        let t0 = Instant::now();
        let loaded = after_fetch(&RefreshState::default(), false, t0, Ok(()));
        let t1 = t0 + Duration::from_secs(1);
        let refreshed = after_fetch(&loaded, true, t1, Ok(()));
        let rules = settings(30);
        assert_eq!(
            on_unknown_kid(&refreshed, true, t1 + Duration::from_secs(29), &rules),
            OnUnknownKid::Refuse
        );
        assert_eq!(
            on_unknown_kid(&refreshed, true, t1 + Duration::from_secs(30), &rules),
            OnUnknownKid::Fetch
        );
    }

    #[test]
    fn a_failed_refresh_with_keys_cached_refuses_unknown_kids_for_the_cooldown() {
        let t0 = Instant::now();
        let loaded = after_fetch(&RefreshState::default(), false, t0, Ok(()));
        let t1 = t0 + Duration::from_secs(60);
        let failed_refresh = after_fetch(&loaded, true, t1, Err(&failed()));
        assert_eq!(
            on_unknown_kid(
                &failed_refresh,
                true,
                t1 + Duration::from_secs(10),
                &settings(30)
            ),
            OnUnknownKid::Refuse,
            "a token with an unknown kid is a 401, the cached keys still work"
        );
    }

    #[test]
    fn with_no_keys_ever_a_failure_is_retried_after_at_most_five_seconds() {
        let t0 = Instant::now();
        let state = after_fetch(&RefreshState::default(), false, t0, Err(&failed()));
        let rules = settings(30);
        assert_eq!(
            on_unknown_kid(&state, false, t0 + Duration::from_secs(4), &rules),
            OnUnknownKid::Unavailable
        );
        assert_eq!(
            on_unknown_kid(&state, false, t0 + COLD_RETRY, &rules),
            OnUnknownKid::Fetch
        );
        assert_eq!(
            on_unknown_kid(&state, false, t0 + Duration::from_secs(1), &settings(0)),
            OnUnknownKid::Fetch,
            "a cool-down shorter than the cold retry wins"
        );
    }

    #[test]
    fn cached_keys_are_refreshed_once_they_pass_the_maximum_age() {
        let t0 = Instant::now();
        let loaded = after_fetch(&RefreshState::default(), false, t0, Ok(()));
        let rules = JwksSettings {
            max_age: Duration::from_secs(600),
            ..settings(30)
        };
        assert!(!refresh_known_kid(
            &loaded,
            Some(t0),
            t0 + Duration::from_secs(599),
            &rules
        ));
        assert!(refresh_known_kid(
            &loaded,
            Some(t0),
            t0 + Duration::from_secs(600),
            &rules
        ));
    }

    #[test]
    fn the_cooldown_bounds_refreshes_of_old_keys_too() {
        let t0 = Instant::now();
        let rules = JwksSettings {
            max_age: Duration::from_secs(600),
            ..settings(30)
        };
        // The keys are old, and a refresh failed 10 s ago: the old keys are used for now.
        let failed = RefreshState {
            last_attempt: Some(t0 + Duration::from_secs(700)),
            last_error: Some(failed()),
        };
        let now = t0 + Duration::from_secs(710);
        assert!(!refresh_known_kid(&failed, Some(t0), now, &rules));
        assert!(refresh_known_kid(
            &failed,
            Some(t0),
            now + Duration::from_secs(20),
            &rules
        ));
    }

    #[test]
    fn a_success_after_failures_clears_the_error() {
        let t0 = Instant::now();
        let failed_once = after_fetch(&RefreshState::default(), false, t0, Err(&failed()));
        let t1 = t0 + COLD_RETRY;
        let loaded = after_fetch(&failed_once, false, t1, Ok(()));
        assert!(loaded.last_error.is_none());
        assert_eq!(loaded.last_attempt, Some(t1));
    }

    #[test]
    fn a_document_without_rsa_keys_is_refused() {
        let body = br#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}"#;
        assert!(matches!(parse_jwks(body), Err(JwksError::Invalid(_))));
    }

    /// A JWKS with the usable key `good` and one key per way a key may be unfit for verifying.
    fn keys_with(extra: &str) -> Vec<String> {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let body =
            format!(r#"{{"keys":[{{"kty":"RSA","kid":"good","n":"{n}","e":"AQAB"}}{extra}]}}"#);
        let keys = parse_jwks(body.replace("N_", n).as_bytes()).unwrap();
        let mut kids: Vec<String> = keys.by_kid.keys().cloned().collect();
        kids.sort();
        kids
    }

    #[test]
    fn only_keys_meant_for_verifying_rs256_signatures_are_used() {
        assert_eq!(keys_with(""), ["good"]);
        let unfit = r#",
            {"kty":"RSA","kid":"enc","use":"enc","n":"N_","e":"AQAB"},
            {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":"N_","e":"AQAB"},
            {"kty":"RSA","kid":"ps256","alg":"PS256","n":"N_","e":"AQAB"},
            {"kty":"RSA","kid":"rs512","alg":"RS512","n":"N_","e":"AQAB"}"#;
        assert_eq!(keys_with(unfit), ["good"], "unfit keys are never used");
        let fit = r#",
            {"kty":"RSA","kid":"sig","use":"sig","alg":"RS256","n":"N_","e":"AQAB"},
            {"kty":"RSA","kid":"verify","key_ops":["verify"],"n":"N_","e":"AQAB"}"#;
        assert_eq!(keys_with(fit), ["good", "sig", "verify"]);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(parse_jwks(b"<html>"), Err(JwksError::Invalid(_))));
    }
}
