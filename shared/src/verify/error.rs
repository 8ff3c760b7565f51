//! Why a token was refused. The precise reason is for debug logs only; clients always get the
//! same generic answer so that a probe learns nothing.

use jsonwebtoken::errors::ErrorKind;

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
    /// not a number, `iss` not a string, `aud` neither a string nor a list of
    /// strings (401).
    #[error("malformed claim: {0}")]
    BadClaim(&'static str),
    /// The token's `iat` lies beyond the allowed skew in the future (401): a clock problem, or a
    /// token made to outlive its issuer's rules.
    #[error("iat is in the future")]
    IssuedInTheFuture,
    /// The token is valid but does not name a usable subject (401).
    #[error("unusable subject claim: {0}")]
    BadSubject(&'static str),
}

impl AuthError {
    /// True when the failure is ours (keys could not be loaded) rather than the token's.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthError::KeysUnavailable(_))
    }

    /// The class of refusal this is (for metrics); `None` when the failure is ours
    /// ([`AuthError::KeysUnavailable`]), which is no refusal of the token.
    pub fn reason_class(&self) -> Option<RefusalReason> {
        Some(match self {
            AuthError::Missing => RefusalReason::Missing,
            AuthError::Oversized
            | AuthError::KeyInHeader(_)
            | AuthError::MissingKid
            | AuthError::BadSubject(_) => RefusalReason::Malformed,
            AuthError::UnknownKid => RefusalReason::UnknownKid,
            AuthError::KeysUnavailable(_) => return None,
            AuthError::IssuedInTheFuture => RefusalReason::NotYetValid,
            AuthError::BadClaim(_) => RefusalReason::Malformed,
            AuthError::Invalid(error) => match error.kind() {
                ErrorKind::ExpiredSignature => RefusalReason::Expired,
                ErrorKind::ImmatureSignature => RefusalReason::NotYetValid,
                ErrorKind::InvalidAudience => RefusalReason::WrongAudience,
                ErrorKind::InvalidIssuer => RefusalReason::WrongIssuer,
                ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => {
                    RefusalReason::WrongAudience
                }
                ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => {
                    RefusalReason::WrongIssuer
                }
                // A signature that does not verify, or a token that names another algorithm
                // than the pinned one (or a key of the wrong kind for it).
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::UnsupportedAlgorithm
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidEddsaKey => RefusalReason::BadSignature,
                // Not a JWT, undecodable parts, a missing `exp`, a claim of the wrong type.
                _ => RefusalReason::Malformed,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::errors::Error as JwtError;

    use super::*;

    fn invalid(kind: ErrorKind) -> AuthError {
        AuthError::Invalid(JwtError::from(kind))
    }

    #[test]
    fn every_refusal_has_the_reason_class_an_operator_acts_on() {
        use RefusalReason::*;
        let cases = [
            (AuthError::Missing, Missing),
            (AuthError::Oversized, Malformed),
            (AuthError::KeyInHeader("jku"), Malformed),
            (AuthError::MissingKid, Malformed),
            (AuthError::BadSubject("userId is missing"), Malformed),
            (AuthError::BadClaim("iss is not a string"), Malformed),
            (AuthError::IssuedInTheFuture, NotYetValid),
            (AuthError::UnknownKid, UnknownKid),
            (invalid(ErrorKind::ExpiredSignature), Expired),
            (invalid(ErrorKind::ImmatureSignature), NotYetValid),
            (invalid(ErrorKind::InvalidAudience), WrongAudience),
            (
                invalid(ErrorKind::MissingRequiredClaim("aud".into())),
                WrongAudience,
            ),
            (invalid(ErrorKind::InvalidIssuer), WrongIssuer),
            (
                invalid(ErrorKind::MissingRequiredClaim("iss".into())),
                WrongIssuer,
            ),
            (
                invalid(ErrorKind::MissingRequiredClaim("exp".into())),
                Malformed,
            ),
            (invalid(ErrorKind::InvalidSignature), BadSignature),
            (invalid(ErrorKind::InvalidAlgorithm), BadSignature),
            (invalid(ErrorKind::InvalidToken), Malformed),
            (
                invalid(ErrorKind::InvalidClaimFormat("exp".into())),
                Malformed,
            ),
        ];
        for (error, class) in cases {
            assert_eq!(error.reason_class(), Some(class), "{error}");
        }
    }

    #[test]
    fn keys_that_cannot_be_loaded_are_no_refusal_but_unavailable() {
        let error = AuthError::KeysUnavailable(JwksError::Fetch("HTTP 500".into()));
        assert_eq!(error.reason_class(), None);
    }
}

/// Why a token was refused, in classes an operator can act on (the `Reason` dimension of the
/// metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// No token was presented.
    Missing,
    /// Not a usable token: not a JWT, oversized, a key or key URL in its header, no `kid`, a
    /// registered claim of the wrong shape, no usable subject.
    Malformed,
    /// The signature does not verify, or the token names another algorithm.
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway): usually a clock problem.
    NotYetValid,
    /// `aud` is missing or names someone else (for the sidebar: another app installation).
    WrongAudience,
    /// `iss` is missing or names someone else (for the sidebar: another Zendesk account).
    WrongIssuer,
    /// No key with the token's `kid` in the JWKS, even after the allowed refresh.
    UnknownKid,
    /// An SDK user token that is unknown, expired or revoked.
    UnknownUserToken,
}

impl RefusalReason {
    /// Every reason class.
    pub const ALL: [RefusalReason; 9] = [
        RefusalReason::Missing,
        RefusalReason::Malformed,
        RefusalReason::BadSignature,
        RefusalReason::Expired,
        RefusalReason::NotYetValid,
        RefusalReason::WrongAudience,
        RefusalReason::WrongIssuer,
        RefusalReason::UnknownKid,
        RefusalReason::UnknownUserToken,
    ];

    /// The dimension value.
    pub fn name(self) -> &'static str {
        match self {
            RefusalReason::Missing => "missing",
            RefusalReason::Malformed => "malformed",
            RefusalReason::BadSignature => "bad_signature",
            RefusalReason::Expired => "expired",
            RefusalReason::NotYetValid => "not_yet_valid",
            RefusalReason::WrongAudience => "wrong_audience",
            RefusalReason::WrongIssuer => "wrong_issuer",
            RefusalReason::UnknownKid => "unknown_kid",
            RefusalReason::UnknownUserToken => "unknown_user_token",
        }
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
