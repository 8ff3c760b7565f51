//! What the three Lambda functions of this bundle share, in two layers that depend downward only.
//!
//! * [`verify`] (re-exported here) checks Zendesk's JWTs and depends on nothing else in this
//!   crate: [`ZafVerifier`] for the Apps Framework token Zendesk POSTs to a signed sidebar URL
//!   (RS256 against the app's PEM public key); [`JwksVerifier`] for RS256 tokens whose key is
//!   chosen by `kid` from a JWKS document held in a [`JwksCache`], and [`HelpCenterVerifier`] on
//!   top of it for help center JWTs; [`Session`] for the sidebar's own session token (HS256 with
//!   a [`SessionKey`], minted from a verified ZAF token); [`AuthError`] says why a token was
//!   refused.
//! * [`lambda`] is the plumbing around a function: configuration from environment variables
//!   ([`lambda::env`]), AWS clients with this bundle's timeouts and retries ([`lambda::aws`]),
//!   secrets from Secrets Manager behind a TTL cache ([`lambda::secrets`]), request bodies and
//!   JSON answers ([`lambda::http`]), log set-up with each request's ids ([`lambda::logging`]),
//!   CloudWatch metrics as embedded metric format log lines ([`lambda::metrics`]) and the runtime
//!   loop ([`lambda::runtime`]). It may use verification types (to read JWKS settings, to count
//!   refusals by class), never the reverse.
//!
//! Every verifier pins its algorithm, requires `exp`, and refuses tokens that carry their own key
//! or key location in the header (`jku`, `x5u`, `jwk`, `x5c`): a key is only ever taken from
//! configuration.

pub mod clock;
#[cfg(feature = "dev-keys")]
pub mod devkeys;
pub mod id;
pub mod lambda;
pub mod verify;

pub use verify::{
    AuthError, HelpCenterUser, HelpCenterVerifier, JwksCache, JwksError, JwksSettings,
    JwksVerifier, MAX_TOKEN_BYTES, RefusalReason, Session, SessionKey, TokenRules, ZafInstallation,
    ZafToken, ZafVerifier, parse_rsa_public_key_pem,
};

/// Re-exported so that callers name the same types as the verifiers.
pub use jsonwebtoken::{DecodingKey, EncodingKey};
