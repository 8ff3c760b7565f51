//! Why a token was refused. The precise reason is for debug logs only; clients always get the
//! same generic answer so that a probe learns nothing.

use jsonwebtoken::errors::ErrorKind;

use crate::jwks::JwksError;
use crate::metrics::{Outcome, RefusalReason};

/// The [`AuthError::BadClaim`] text for an `iat` beyond the leeway in the future.
pub(crate) const IAT_IN_THE_FUTURE: &str = "iat is in the future";

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

    /// The class of refusal this is, for metrics; `None` when the failure is ours
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
            AuthError::BadClaim(claim) if *claim == IAT_IN_THE_FUTURE => RefusalReason::NotYetValid,
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

    /// How a request refused with this error ends, for metrics: [`Outcome::Unavailable`] when
    /// the keys could not be loaded, else [`Outcome::Refused`] with the [reason class].
    ///
    /// [reason class]: AuthError::reason_class
    pub fn outcome(&self) -> Outcome {
        self.reason_class()
            .map_or(Outcome::Unavailable, Outcome::Refused)
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
            (AuthError::BadClaim(IAT_IN_THE_FUTURE), NotYetValid),
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
            assert_eq!(error.outcome(), Outcome::Refused(class), "{error}");
        }
    }

    #[test]
    fn keys_that_cannot_be_loaded_are_no_refusal_but_unavailable() {
        let error = AuthError::KeysUnavailable(JwksError::Fetch("HTTP 500".into()));
        assert_eq!(error.reason_class(), None);
        assert_eq!(error.outcome(), Outcome::Unavailable);
    }
}
