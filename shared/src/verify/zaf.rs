//! The Zendesk Apps Framework signed-URL token: RS256 with the app's public key (PEM), `aud` the
//! app installation, `iss` the account's host.
//!
//! Two ways to decide which installations are accepted: [`ZafVerifier::new`] pins one
//! installation (the token's `aud` and `iss` must be exactly its own); [`ZafVerifier::any_installation`]
//! accepts a token of any installation whose `iss` and `aud` name the same account, and says
//! which installation it is, so the caller can look it up (the sidebar's table mode).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::error::AuthError;
use super::token::{Checks, checked_header, decode_checked};
use crate::clock::Clock;

/// The longest installation id accepted (a `u64` has 20 digits).
const MAX_ID_DIGITS: usize = 20;
/// The longest user id (`sub`) carried on; Zendesk's are numbers of a few digits.
const MAX_USER_BYTES: usize = 64;

/// One installation of the app: the Zendesk account (subdomain) and the installation id, both
/// checked once by [`ZafInstallation::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZafInstallation {
    /// The account, `acme` for acme.zendesk.com (lower case, as Zendesk writes it).
    subdomain: String,
    /// The app installation id (above 0).
    installation_id: u64,
}

/// Why a subdomain and an id name no installation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInstallation {
    /// Not 1 to 63 lower-case letters, digits and inner dashes.
    #[error("{0:?} is not a Zendesk subdomain (the `acme` of acme.zendesk.com)")]
    Subdomain(String),
    /// An installation id is above 0.
    #[error("0 is not an installation id (a positive number)")]
    Id,
}

impl ZafInstallation {
    /// The installation `installation_id` of the account `subdomain`: a subdomain as Zendesk
    /// writes it ([`is_subdomain`]) and an id above 0, or which of them is wrong.
    pub fn new(
        subdomain: impl Into<String>,
        installation_id: u64,
    ) -> Result<Self, InvalidInstallation> {
        let subdomain = subdomain.into();
        if !is_subdomain(&subdomain) {
            return Err(InvalidInstallation::Subdomain(subdomain));
        }
        if installation_id == 0 {
            return Err(InvalidInstallation::Id);
        }
        Ok(Self {
            subdomain,
            installation_id,
        })
    }

    /// The account, `acme` for acme.zendesk.com.
    pub fn subdomain(&self) -> &str {
        &self.subdomain
    }

    /// The app installation id.
    pub fn installation_id(&self) -> u64 {
        self.installation_id
    }

    /// The `iss` Zendesk puts in this installation's tokens: the account's host.
    pub fn issuer(&self) -> String {
        format!("{}.zendesk.com", self.subdomain)
    }

    /// The `aud` Zendesk puts in this installation's tokens: the installation's API URL.
    pub fn audience(&self) -> String {
        ZafVerifier::audience(&self.subdomain, self.installation_id)
    }

    /// The installation a token's `iss` and `aud` name, when both are exactly Zendesk's form
    /// (`{subdomain}.zendesk.com` and
    /// `https://{subdomain}.zendesk.com/api/v2/apps/installations/{id}.json`) and name the same
    /// subdomain. Nothing is normalised: another case, a port, a trailing dot or slash, a query,
    /// a leading zero or an id of 0 is not Zendesk's form and names no installation.
    pub(crate) fn from_issuer_and_audience(iss: &str, aud: &str) -> Option<Self> {
        let subdomain = iss
            .strip_suffix(".zendesk.com")
            .filter(|s| is_subdomain(s))?;
        let id = aud
            .strip_prefix("https://")?
            .strip_prefix(subdomain)?
            .strip_prefix(".zendesk.com/api/v2/apps/installations/")?
            .strip_suffix(".json")?;
        let well_formed = !id.is_empty()
            && id.len() <= MAX_ID_DIGITS
            && id.bytes().all(|b| b.is_ascii_digit())
            && !id.starts_with('0');
        let installation_id = id.parse().ok().filter(|_| well_formed)?;
        Self::new(subdomain, installation_id).ok()
    }
}

/// `acme#360001`: the account and the installation id, as the sidebar's table keys them.
impl fmt::Display for ZafInstallation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.subdomain, self.installation_id)
    }
}

/// Whether `value` is a Zendesk subdomain as Zendesk writes it: 1 to 63 lower-case letters,
/// digits and inner dashes.
pub fn is_subdomain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && !value.starts_with('-')
        && !value.ends_with('-')
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The claims of a ZAF signed-URL token, as read after verification.
#[derive(Deserialize)]
struct ZafClaims {
    /// Expiry, seconds since the epoch.
    exp: u64,
    /// The Zendesk user (agent) who opened the app, when Zendesk includes it.
    #[serde(default)]
    sub: Option<Value>,
    /// The account host, `{subdomain}.zendesk.com`.
    iss: String,
    /// The app installation's URL; Zendesk sends exactly one, so a list is refused.
    aud: String,
}

/// What a verified ZAF token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZafToken {
    /// The installation that opened the app.
    pub installation: ZafInstallation,
    /// The Zendesk user the token names in `sub` (a user id), when it names one.
    pub user: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// The user a token's `sub` names: a non-empty string of at most 64 printable characters, or a
/// whole number. Anything else names no user (the token is Zendesk's, so its `sub` is not
/// refused; it is just not carried on).
fn user_of(sub: Option<&Value>) -> Option<String> {
    match sub? {
        Value::String(s)
            if !s.is_empty() && s.len() <= MAX_USER_BYTES && !s.chars().any(char::is_control) =>
        {
            Some(s.clone())
        }
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// Which installations a [`ZafVerifier`] accepts.
#[derive(Clone, Debug)]
enum Accepted {
    /// Exactly this one (`aud` and `iss` checked by the JWT library).
    One(ZafInstallation),
    /// Any installation whose `iss` and `aud` agree (of one account, when `iss` is pinned).
    Any,
}

/// Verifies the token Zendesk POSTs to an app's signed initial page.
#[derive(Clone)]
pub struct ZafVerifier {
    checks: Checks,
    accepted: Accepted,
    clock: Clock,
}

/// RS256 only; `exp`, `aud` and `iss` required; `nbf` checked.
fn base_validation(leeway: Duration) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = leeway.as_secs().min(60);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    // Off by default in jsonwebtoken: a token that is not valid yet must not open the app.
    validation.validate_nbf = true;
    validation
}

impl ZafVerifier {
    /// A verifier for `installation` only, checking times against `clock`.
    pub fn new(installation: ZafInstallation, leeway: Duration, clock: Clock) -> Self {
        let mut validation = base_validation(leeway);
        validation.set_audience(&[installation.audience()]);
        validation.set_issuer(&[installation.issuer()]);
        Self {
            checks: Checks::new(validation),
            accepted: Accepted::One(installation),
            clock,
        }
    }

    /// A verifier that accepts a token of any installation of the app (the key is the app's, and
    /// one app has one key pair for all its installations) whose `iss` and `aud` name the same
    /// account, and returns that installation; the caller decides whether it is one it serves.
    /// With `subdomain`, only that account's installations are accepted. Times are checked
    /// against `clock`.
    pub fn any_installation(subdomain: Option<&str>, leeway: Duration, clock: Clock) -> Self {
        let mut validation = base_validation(leeway);
        // `aud` differs per installation: it is required above and read below instead.
        validation.validate_aud = false;
        if let Some(subdomain) = subdomain {
            validation.set_issuer(&[format!("{subdomain}.zendesk.com")]);
        }
        Self {
            checks: Checks::new(validation),
            accepted: Accepted::Any,
            clock,
        }
    }

    /// The `aud` Zendesk puts in tokens for this installation.
    pub fn audience(subdomain: &str, installation_id: u64) -> String {
        format!("https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json")
    }

    /// Verify `token` against the app's public key; the installation it was made for, and the
    /// user it names.
    pub fn verify(&self, token: &str, key: &DecodingKey) -> Result<ZafToken, AuthError> {
        checked_header(token)?;
        let claims: ZafClaims = decode_checked(token, key, &self.checks, &self.clock)?;
        let installation = match &self.accepted {
            Accepted::One(installation) => installation.clone(),
            Accepted::Any => ZafInstallation::from_issuer_and_audience(&claims.iss, &claims.aud)
                .ok_or(AuthError::BadClaim(
                    "iss and aud do not name one installation of one account",
                ))?,
        };
        Ok(ZafToken {
            installation,
            user: user_of(claims.sub.as_ref()),
            exp: claims.exp,
        })
    }
}

/// Parse an RSA public key in PEM (`-----BEGIN PUBLIC KEY-----`), as Zendesk serves an app's key
/// (`GET /api/v2/apps/{app_id}/public_key.pem`). The error never contains the text.
pub fn parse_rsa_public_key_pem(text: &SecretString) -> Result<DecodingKey, String> {
    DecodingKey::from_rsa_pem(text.expose_secret().trim().as_bytes())
        .map_err(|e| format!("not an RSA public key in PEM: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUD: &str = "https://acme.zendesk.com/api/v2/apps/installations/360001.json";

    #[test]
    fn iss_and_aud_of_one_account_name_its_installation() {
        assert_eq!(
            ZafInstallation::from_issuer_and_audience("acme.zendesk.com", AUD),
            Some(ZafInstallation::new("acme", 360_001).unwrap())
        );
        let installation = ZafInstallation::new("a-2", 7).unwrap();
        assert_eq!(
            ZafInstallation::from_issuer_and_audience(
                &installation.issuer(),
                &installation.audience()
            ),
            Some(installation.clone())
        );
        assert_eq!(installation.to_string(), "a-2#7");
    }

    #[test]
    fn an_installation_is_a_zendesk_subdomain_and_an_id_above_0() {
        let acme = ZafInstallation::new("acme", 1).unwrap();
        assert_eq!((acme.subdomain(), acme.installation_id()), ("acme", 1));
        assert_eq!(
            ZafInstallation::new("acme", 0),
            Err(InvalidInstallation::Id)
        );
        for bad in ["", "ACME", "acme.zendesk.com", "-acme", "a_b"] {
            assert_eq!(
                ZafInstallation::new(bad, 1),
                Err(InvalidInstallation::Subdomain(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn iss_and_aud_that_disagree_or_are_not_zendesks_form_name_nothing() {
        let cases = [
            ("other.zendesk.com", AUD),
            (
                "acme.zendesk.com",
                "https://other.zendesk.com/api/v2/apps/installations/1.json",
            ),
            ("ACME.zendesk.com", AUD),
            ("acme.zendesk.com", &AUD.replace("acme", "ACME")),
            ("acme.zendesk.com.", AUD),
            ("acme.zendesk.com", &AUD.replace("https://", "http://")),
            ("acme.zendesk.com", &AUD.replace(".com/", ".com:443/")),
            ("acme.zendesk.com", &format!("{AUD}?x=1")),
            ("acme.zendesk.com", &format!("{AUD}/")),
            ("acme.zendesk.com", &AUD.replace("360001", "0360001")),
            ("acme.zendesk.com", &AUD.replace("360001", "0")),
            ("acme.zendesk.com", &AUD.replace("360001", "")),
            ("acme.zendesk.com", &AUD.replace("360001", "+1")),
            ("acme.zendesk.com", &AUD.replace("360001", "36 0001")),
            (
                "acme.zendesk.com",
                &AUD.replace("360001", "99999999999999999999"),
            ),
            (
                "acme.zendesk.com",
                &AUD.replace("installations", "installation"),
            ),
            ("evil.example/acme.zendesk.com", AUD),
            (
                ".zendesk.com",
                "https://.zendesk.com/api/v2/apps/installations/1.json",
            ),
            ("-acme.zendesk.com", &AUD.replace("acme", "-acme")),
            ("ac.me.zendesk.com", &AUD.replace("acme", "ac.me")),
            (
                "acme.zendesk.com",
                &AUD.replace("acme.zendesk.com", "acme.zendesk.com.evil.example"),
            ),
        ];
        for (iss, aud) in cases {
            assert_eq!(
                ZafInstallation::from_issuer_and_audience(iss, aud),
                None,
                "{iss} / {aud}"
            );
        }
    }

    #[test]
    fn a_subdomain_is_lower_case_letters_digits_and_inner_dashes() {
        for good in ["acme", "a", "acme-2", "0", &"a".repeat(63)] {
            assert!(is_subdomain(good), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a b", "a_b", &"a".repeat(64)] {
            assert!(!is_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn the_user_is_a_short_string_or_a_whole_number_and_otherwise_none() {
        assert_eq!(
            user_of(Some(&json!("1900000000001"))).as_deref(),
            Some("1900000000001")
        );
        assert_eq!(user_of(Some(&json!(42))).as_deref(), Some("42"));
        for none in [
            json!(""),
            json!(-1),
            json!(1.5),
            json!(null),
            json!(["1"]),
            json!({"id": 1}),
            json!("a\nb"),
            json!("x".repeat(65)),
        ] {
            assert_eq!(user_of(Some(&none)), None, "{none}");
        }
        assert_eq!(user_of(None), None);
    }
}
