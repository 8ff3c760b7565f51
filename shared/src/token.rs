//! Checks shared by every verifier, and [`JwksVerifier`]: RS256 tokens whose key is picked by
//! `kid` from a configured JWKS.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header};
use serde::de::DeserializeOwned;

use crate::error::AuthError;
use crate::jwks::JwksCache;

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
    pub(crate) fn validation(&self) -> Validation {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = self.leeway.as_secs();
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_nbf = true;
        match &self.audience {
            Some(audience) => validation.set_audience(audience),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        validation
    }
}

/// Verifies RS256 tokens against the JWKS of a [`JwksCache`], choosing the key by the header's
/// `kid`. Used for help center JWTs and for identity-provider tokens.
#[derive(Clone)]
pub struct JwksVerifier {
    jwks: Arc<JwksCache>,
    validation: Validation,
}

impl JwksVerifier {
    /// A verifier over `jwks` with the given rules.
    pub fn new(jwks: Arc<JwksCache>, rules: &TokenRules) -> Self {
        Self {
            jwks,
            validation: rules.validation(),
        }
    }

    /// The cache this verifier reads keys from.
    pub fn jwks(&self) -> &Arc<JwksCache> {
        &self.jwks
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
        Ok(decode::<T>(token, &key, &self.validation)?.claims)
    }
}
