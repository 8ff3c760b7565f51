//! Verification of Zendesk's JWTs: the bottom layer, which uses nothing else of this crate but
//! the clock.
//!
//! `error` (why a token is refused) ← `jwks` (keys by `kid` from a JWKS URL) ← `token` (checks
//! every verifier makes, and [`JwksVerifier`]) ← `zaf` and `help_center` (one verifier per token
//! kind) ← `session` (the sidebar's own session token, minted from a verified ZAF token).

mod error;
mod help_center;
mod jwks;
mod session;
mod token;
mod zaf;

pub use error::{AuthError, JwksError, RefusalReason};
pub use help_center::{HelpCenterUser, HelpCenterVerifier};
pub use jwks::{JwksCache, JwksSettings};
pub use session::{
    MAX_APP_GUID_BYTES, MIN_SESSION_KEY_BYTES, SESSION_AUDIENCE, SESSION_ISSUER, Session,
    SessionKey, encode_uri_component,
};
pub use token::{JwksVerifier, MAX_TOKEN_BYTES, TokenRules};
pub use zaf::{
    InvalidInstallation, ZafInstallation, ZafToken, ZafVerifier, is_subdomain,
    parse_rsa_public_key_pem,
};
