//! Why a token was refused. The precise reason is for debug logs only; clients always get the
//! same generic answer so that a probe learns nothing.

/// A token could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token was presented (400 for forms, 401 for bearer APIs).
    #[error("no token was presented")]
    Missing,
    /// The token is longer than [`crate::MAX_TOKEN_BYTES`] (401).
    #[error("the token is larger than allowed")]
    Oversized,
    /// The token header names a key or a key location (`jku`, `x5u`, `jwk`, `x5c`) (401).
    #[error("the token header carries a key or key URL ({0})")]
    KeyInHeader(&'static str),
    /// The token header has no usable `kid` (401).
    #[error("the token header has no usable kid")]
    MissingKid,
    /// The `kid` is not in the JWKS, even after the allowed refresh (401).
    #[error("no key with this kid in the JWKS")]
    UnknownKid,
    /// The keys could not be loaded at all (503: our side, not the client's).
    #[error("verification keys are unavailable: {0}")]
    KeysUnavailable(#[from] JwksError),
    /// Signature, algorithm, or a registered claim (`exp`, `aud`, `iss`, ...) is wrong (401).
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// A registered claim that the JWT library leaves unchecked is malformed or impossible: `iat`
    /// not a number or in the future, `iss` not a string, `aud` neither a string nor a list of
    /// strings (401).
    #[error("malformed claim: {0}")]
    BadClaim(&'static str),
    /// The token is valid but does not name a usable subject (401).
    #[error("unusable subject claim: {0}")]
    BadSubject(&'static str),
}

impl AuthError {
    /// True when the failure is ours (keys could not be loaded) rather than the token's.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthError::KeysUnavailable(_))
    }
}

/// Fetching the JWKS failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum JwksError {
    /// Connection, timeout or HTTP status error.
    #[error("fetching the JWKS failed: {0}")]
    Fetch(String),
    /// The document is larger than the configured maximum.
    #[error("the JWKS document is larger than {0} bytes")]
    TooLarge(usize),
    /// The document is not a JWKS, or holds no usable RSA key.
    #[error("the JWKS document is not usable: {0}")]
    Invalid(String),
    /// No fetch has succeeded yet and the last attempt is within the cool-down.
    #[error("no keys yet; the last fetch failed and the cool-down has not passed")]
    CoolingDown,
}
