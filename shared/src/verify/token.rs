//! Checks shared by every verifier, and [`JwksVerifier`]: RS256 tokens whose key is picked by
//! `kid` from a configured JWKS.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, decode, decode_header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::AuthError;
use super::jwks::JwksCache;
use crate::clock::Clock;

/// Tokens longer than this are refused before any parsing (Zendesk's are well under 2 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Longest `kid` accepted; Zendesk's are short identifiers.
const MAX_KID_BYTES: usize = 128;

/// Decode the header of `token` after the checks every verifier makes: size, and no key or key
/// location carried in the header.
pub(crate) fn checked_header(token: &str) -> Result<Header, AuthError> {
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Oversized);
    }
    let header = decode_header(token)?;
    // A key or key URL inside the token is never trusted; refusing such tokens outright also
    // makes "we never fetch it" obvious.
    if header.jku.is_some() {
        return Err(AuthError::KeyInHeader("jku"));
    }
    if header.x5u.is_some() {
        return Err(AuthError::KeyInHeader("x5u"));
    }
    if header.jwk.is_some() {
        return Err(AuthError::KeyInHeader("jwk"));
    }
    if header.x5c.is_some() {
        return Err(AuthError::KeyInHeader("x5c"));
    }
    Ok(header)
}

/// The checks one kind of token passes: what the JWT library checks (signature, algorithm,
/// required claims, `iss`, `aud`), and the times, which are checked here against the verifying
/// instance's [`Clock`] (the library would read the system clock itself).
#[derive(Clone)]
pub(crate) struct Checks {
    /// The library's validation, with its own reading of the clock turned off.
    library: Validation,
    /// Skew allowed on `exp` and `nbf`, in seconds.
    leeway: u64,
    /// How far in the future an `iat` may lie, in seconds: the skew between the issuer's clock
    /// and this one.
    iat_leeway: u64,
    /// Whether `nbf`, when present, is checked.
    nbf: bool,
}

impl Checks {
    /// The checks of `validation`, its leeway applying to `exp`, `nbf` and `iat` alike. `exp` is
    /// always checked.
    pub(crate) fn new(mut validation: Validation) -> Self {
        let (leeway, nbf) = (validation.leeway, validation.validate_nbf);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Self {
            library: validation,
            leeway,
            iat_leeway: leeway,
            nbf,
        }
    }

    /// The same, allowing an `iat` up to `skew` in the future.
    pub(crate) fn with_iat_leeway(self, skew: Duration) -> Self {
        Self {
            iat_leeway: skew.as_secs(),
            ..self
        }
    }
}

/// Verify the signature and the registered claims of `token` with `checks` at the time `clock`
/// reads, then the claims the JWT library leaves alone ([`check_unvalidated_claims`]), and only
/// then read them as `T`.
pub(crate) fn decode_checked<T: DeserializeOwned>(
    token: &str,
    key: &DecodingKey,
    checks: &Checks,
    clock: &Clock,
) -> Result<T, AuthError> {
    let claims = decode::<Map<String, Value>>(token, key, &checks.library)?.claims;
    check_times(&claims, checks, clock.now_seconds())?;
    check_unvalidated_claims(&claims, checks.iat_leeway, clock.now_seconds_f64())?;
    Ok(T::deserialize(Value::Object(claims)).map_err(jsonwebtoken::errors::Error::from)?)
}

/// `exp` and `nbf` as the JWT library would check them (whole seconds, the same leeway, the same
/// errors), against `now`. The library has already checked that `exp` is present and a number.
fn check_times(claims: &Map<String, Value>, checks: &Checks, now: u64) -> Result<(), AuthError> {
    use jsonwebtoken::errors::ErrorKind;
    let refused = |kind: ErrorKind| Err(AuthError::Invalid(kind.into()));
    let expired = match claims.get("exp").map(numeric_date) {
        Some(Some(exp)) => exp < now.saturating_sub(checks.leeway),
        Some(None) => return refused(ErrorKind::InvalidClaimFormat("exp".into())),
        None => return refused(ErrorKind::MissingRequiredClaim("exp".into())),
    };
    if expired {
        return refused(ErrorKind::ExpiredSignature);
    }
    if checks.nbf {
        match claims.get("nbf").map(numeric_date) {
            Some(Some(nbf)) if nbf > now.saturating_add(checks.leeway) => {
                return refused(ErrorKind::ImmatureSignature);
            }
            Some(None) => return refused(ErrorKind::InvalidClaimFormat("nbf".into())),
            _ => {}
        }
    }
    Ok(())
}

/// A `NumericDate` in whole seconds, read as the JWT library reads it: a whole number, or a
/// finite non-negative fraction rounded.
fn numeric_date(value: &Value) -> Option<u64> {
    match value.as_u64() {
        Some(seconds) => Some(seconds),
        None => value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f.round() as u64),
    }
}

/// The registered claims jsonwebtoken does not check, or checks loosely: `iat` must be a number
/// no later than `now` plus `iat_leeway`, `iss` a string, `aud` a string or a list of strings. A
/// token claiming to be issued in the future is either forged with a wrong clock or made to
/// outlive its issuer's rotation; either way it is refused.
fn check_unvalidated_claims(
    claims: &Map<String, Value>,
    iat_leeway: u64,
    now: f64,
) -> Result<(), AuthError> {
    if let Some(iat) = claims.get("iat") {
        match iat.as_f64() {
            Some(iat) if iat >= 0.0 && iat <= now + iat_leeway as f64 => {}
            Some(_) => return Err(AuthError::IssuedInTheFuture),
            None => return Err(AuthError::BadClaim("iat is not a number")),
        }
    }
    if claims.get("iss").is_some_and(|iss| !iss.is_string()) {
        return Err(AuthError::BadClaim("iss is not a string"));
    }
    let aud_ok = match claims.get("aud") {
        None | Some(Value::String(_)) => true,
        Some(Value::Array(items)) => items.iter().all(Value::is_string),
        Some(_) => false,
    };
    if !aud_ok {
        return Err(AuthError::BadClaim(
            "aud is neither a string nor a list of strings",
        ));
    }
    Ok(())
}

/// What a JWKS-verified token must satisfy besides its signature.
#[derive(Clone, Debug)]
pub struct TokenRules {
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required `aud` (one of these), if any. Without it, a token that carries `aud` is still
    /// accepted.
    pub audience: Option<Vec<String>>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

impl TokenRules {
    /// RS256 only, `exp` required, plus the configured issuer and audience.
    pub(crate) fn checks(&self) -> Checks {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = self.leeway.as_secs();
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_nbf = true;
        match &self.audience {
            Some(audience) => {
                validation.set_audience(audience);
                // jsonwebtoken checks `aud` only when the token has one: require it.
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        Checks::new(validation)
    }
}

/// Verifies RS256 tokens against the JWKS of a [`JwksCache`], choosing the key by the header's
/// `kid`. Used for help center JWTs and for identity-provider tokens.
#[derive(Clone)]
pub struct JwksVerifier {
    jwks: Arc<JwksCache>,
    checks: Checks,
    clock: Clock,
}

impl JwksVerifier {
    /// A verifier over `jwks` with the given rules, checking times against the cache's clock.
    pub fn new(jwks: Arc<JwksCache>, rules: &TokenRules) -> Self {
        Self {
            clock: jwks.clock().clone(),
            jwks,
            checks: rules.checks(),
        }
    }

    /// Verify `token` and deserialize its claims as `T`.
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        let header = checked_header(token)?;
        if header.alg != Algorithm::RS256 {
            // Refuse before touching the JWKS: a wrong algorithm must not cost a fetch.
            return Err(AuthError::Invalid(
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into(),
            ));
        }
        let kid = header
            .kid
            .filter(|kid| !kid.is_empty() && kid.len() <= MAX_KID_BYTES)
            .ok_or(AuthError::MissingKid)?;
        let key = self.jwks.key(&kid).await?;
        decode_checked(token, &key, &self.checks, &self.clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> f64 {
        Clock::system().now_seconds_f64()
    }

    fn check(claims: Value) -> Result<(), AuthError> {
        check_unvalidated_claims(claims.as_object().unwrap(), 30, now())
    }

    #[test]
    fn an_iat_within_the_leeway_is_accepted_and_one_beyond_it_refused() {
        assert!(check(json!({"iat": now() as u64 + 25})).is_ok());
        assert!(
            check(json!({"iat": now() + 25.5})).is_ok(),
            "NumericDate may be fractional"
        );
        assert!(check(json!({"iat": now() as u64 + 40})).is_err());
        assert!(check(json!({})).is_ok(), "iat is optional");
    }

    #[test]
    fn registered_claims_of_the_wrong_shape_are_refused() {
        for bad in [
            json!({"iat": "1700000000"}),
            json!({"iat": -1}),
            json!({"iat": null}),
            json!({"iss": ["acme.zendesk.com"]}),
            json!({"iss": 1}),
            json!({"aud": 1}),
            json!({"aud": ["a", 1]}),
            json!({"aud": {"aud": "a"}}),
        ] {
            assert!(check(bad.clone()).is_err(), "{bad} was accepted");
        }
        assert!(check(json!({"iss": "i", "aud": ["a", "b"]})).is_ok());
    }
}
