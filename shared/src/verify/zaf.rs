//! The Zendesk Apps Framework signed-URL token: RS256 with the app's public key (PEM), `aud` the
//! app installation, `iss` the account's host.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::AuthError;
use super::token::{checked_header, decode_checked};

/// The claims of a ZAF signed-URL token that the start page may use.
#[derive(Clone, Debug, Deserialize)]
pub struct ZafClaims {
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// The Zendesk user (agent) who opened the app, when Zendesk includes it.
    #[serde(default)]
    pub sub: Option<serde_json::Value>,
    /// The account host, `{subdomain}.zendesk.com`.
    pub iss: String,
    /// The app installation's URL; Zendesk sends exactly one, so a list is refused.
    pub aud: String,
}

/// Verifies the token Zendesk POSTs to an app's signed initial page.
#[derive(Clone)]
pub struct ZafVerifier {
    validation: Validation,
}

impl ZafVerifier {
    /// A verifier for the app installation `installation_id` in the account `subdomain`.
    pub fn new(subdomain: &str, installation_id: u64, leeway: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = leeway.as_secs().min(60);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        // Off by default in jsonwebtoken: a token that is not valid yet must not open the app.
        validation.validate_nbf = true;
        validation.set_audience(&[Self::audience(subdomain, installation_id)]);
        validation.set_issuer(&[format!("{subdomain}.zendesk.com")]);
        Self { validation }
    }

    /// The `aud` Zendesk puts in tokens for this installation.
    pub fn audience(subdomain: &str, installation_id: u64) -> String {
        format!("https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json")
    }

    /// Verify `token` against the app's public key.
    pub fn verify(&self, token: &str, key: &DecodingKey) -> Result<ZafClaims, AuthError> {
        checked_header(token)?;
        decode_checked(token, key, &self.validation)
    }
}

/// Parse an RSA public key in PEM (`-----BEGIN PUBLIC KEY-----`), as Zendesk serves an app's key
/// (`GET /api/v2/apps/{app_id}/public_key.pem`). The error never contains the text.
pub fn parse_rsa_public_key_pem(text: &SecretString) -> Result<DecodingKey, String> {
    DecodingKey::from_rsa_pem(text.expose_secret().trim().as_bytes())
        .map_err(|e| format!("not an RSA public key in PEM: {e}"))
}
