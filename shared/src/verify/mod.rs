//! Verification of Zendesk's JWTs: the bottom layer, which uses nothing else of this crate but
//! the clock.
//!
//! `error` (why a token is refused) ← `jwks` (keys by `kid` from a JWKS URL) ← `token` (checks
//! every verifier makes, and [`JwksVerifier`]) ← `zaf` and `help_center` (one verifier per token
//! kind).

mod error;
mod help_center;
mod jwks;
mod token;
mod zaf;

pub use error::{AuthError, JwksError, RefusalReason};
pub use help_center::{HelpCenterUser, HelpCenterVerifier};
pub use jwks::{JwksCache, JwksSettings};
pub use token::{JwksVerifier, MAX_TOKEN_BYTES, TokenRules};
pub use zaf::{ZafClaims, ZafVerifier, parse_rsa_public_key_pem};
