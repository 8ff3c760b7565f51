//! Verification of Zendesk's JWTs for the three Lambda functions of this bundle.
//!
//! * [`ZafVerifier`] checks the Apps Framework token that Zendesk POSTs to a signed sidebar URL
//!   (RS256 against the app's PEM public key).
//! * [`JwksVerifier`] checks RS256 tokens whose key is chosen by `kid` from a JWKS document held in a
//!   [`JwksCache`]; [`HelpCenterVerifier`] builds on it for help center JWTs.
//! * [`SecretCache`] reads a value from AWS Secrets Manager (or, for local runs, from the
//!   environment), parses it once and caches it with a TTL.
//! * [`env`] holds the helpers every function uses to read its configuration, and [`aws`] the
//!   AWS SDK configuration (timeouts and retries) every function builds its clients from.
//! * [`logging`] sets up the logs (with each request's ids) and [`metrics`] writes CloudWatch
//!   metrics as embedded metric format log lines.
//!
//! Every verifier pins its algorithm, requires `exp`, and refuses tokens that carry their own key
//! or key location in the header (`jku`, `x5u`, `jwk`, `x5c`): a key is only ever taken from
//! configuration.

pub mod aws;
pub mod env;
mod error;
mod help_center;
mod jwks;
pub mod logging;
pub mod metrics;
mod secrets;
mod token;
mod zaf;

pub use error::AuthError;
pub use help_center::{HelpCenterUser, HelpCenterVerifier};
pub use jwks::{JwksCache, JwksError, JwksSettings};
pub use secrets::{SecretCache, SecretError, SecretParser, SecretSource, parse_rsa_public_key_pem};
pub use token::{JwksVerifier, MAX_TOKEN_BYTES, TokenRules};
pub use zaf::{ZafClaims, ZafVerifier};

/// Re-exported so that callers name the same types as the verifiers.
pub use jsonwebtoken::{DecodingKey, EncodingKey};
