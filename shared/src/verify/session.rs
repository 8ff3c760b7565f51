//! The sidebar's own session token: what the start page carries so that the app's later calls
//! to its backend (`/sidebar/api/…`) can be authenticated. It is minted by the sidebar when a ZAF
//! token verifies, signed HS256 with the bundle's own key (never Zendesk's), bound to the
//! installation, the page's `app_guid` and the Zendesk user the ZAF token names, and lives a few
//! minutes. Verification pins HS256 and requires `exp`, `iss` and `aud` (this bundle's own
//! values, so no other token signed with the key could pass for a session), with no leeway on
//! `exp`: the bundle that checks the expiry is the one that set it. A session is minted by one
//! Lambda instance and used on others, whose clocks may differ slightly, so its `iat` may lie up
//! to [`SESSION_CLOCK_SKEW`] in the verifying instance's future.

use std::sync::LazyLock;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::error::AuthError;
use super::token::{Checks, checked_header, decode_checked};
use super::zaf::{ZafInstallation, ZafToken};
use crate::clock::Clock;

/// The shortest session key accepted: 256 bits, the size of HS256's hash.
pub const MIN_SESSION_KEY_BYTES: usize = 32;
/// The `iss` of every session token.
pub const SESSION_ISSUER: &str = "zendesk-jwt-sidebar";
/// The `aud` of every session token: the sidebar's API.
pub const SESSION_AUDIENCE: &str = "zendesk-jwt-sidebar-api";
/// The longest `app_guid` a session is made for (Zendesk's are UUIDs).
pub const MAX_APP_GUID_BYTES: usize = 256;
/// How far a session's `iat` may lie in the verifying instance's future: the clocks of two
/// Lambda instances differ by milliseconds; this allows for far more without letting a session
/// claim to be made minutes from now.
pub(crate) const SESSION_CLOCK_SKEW: Duration = Duration::from_secs(5);

/// The key sessions are signed and verified with (HS256).
pub struct SessionKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SessionKey {
    /// A key from its bytes; fewer than [`MIN_SESSION_KEY_BYTES`] are refused.
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < MIN_SESSION_KEY_BYTES {
            return Err(format!(
                "a session key must be at least {MIN_SESSION_KEY_BYTES} bytes (it has {})",
                bytes.len()
            ));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
        })
    }

    /// A key from a secret's text (surrounding whitespace trimmed), as Secrets Manager holds it.
    /// The error never contains the text.
    pub fn parse(text: &SecretString) -> Result<Self, String> {
        Self::new(text.expose_secret().trim().as_bytes())
    }
}

/// What a session token says: who may call the sidebar's API, for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The installation the page was opened for; the API reaches only its data.
    pub installation: ZafInstallation,
    /// The `app_guid` of the page it was given to (the app instance in the agent's browser).
    pub app_guid: String,
    /// The Zendesk user the ZAF token named, if it named one.
    pub user: Option<String>,
    /// When it was made, seconds since the epoch.
    pub iat: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// The claims as signed.
#[derive(Serialize, Deserialize)]
struct SessionClaims {
    iss: String,
    aud: String,
    subdomain: String,
    installation_id: u64,
    app_guid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    iat: u64,
    exp: u64,
}

impl Session {
    /// The session for a page opened with the verified ZAF token `token` at `app_guid`, valid
    /// for `ttl` from now as `clock` reads it.
    pub fn for_page(token: &ZafToken, app_guid: &str, ttl: Duration, clock: &Clock) -> Self {
        let now = clock.now_seconds();
        Self {
            installation: token.installation.clone(),
            app_guid: app_guid.to_owned(),
            user: token.user.clone(),
            iat: now,
            exp: now + ttl.as_secs(),
        }
    }

    /// The signed token (HS256).
    pub fn sign(&self, key: &SessionKey) -> String {
        let claims = SessionClaims {
            iss: SESSION_ISSUER.to_owned(),
            aud: SESSION_AUDIENCE.to_owned(),
            subdomain: self.installation.subdomain().to_owned(),
            installation_id: self.installation.installation_id(),
            app_guid: self.app_guid.clone(),
            sub: self.user.clone(),
            iat: self.iat,
            exp: self.exp,
        };
        // HMAC signing of plain claims cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key.encoding)
            .unwrap_or_default()
    }

    /// Verify a session token at the time `clock` reads: HS256 with `key` only, `exp` (no
    /// leeway), `iat` (at most [`SESSION_CLOCK_SKEW`] ahead), this bundle's `iss` and `aud`, and
    /// claims of the shape [`Session::sign`] writes.
    pub fn verify(token: &str, key: &SessionKey, clock: &Clock) -> Result<Self, AuthError> {
        checked_header(token)?;
        let claims: SessionClaims = decode_checked(token, &key.decoding, &CHECKS, clock)?;
        let installation = ZafInstallation::new(claims.subdomain, claims.installation_id)
            .map_err(|_| AuthError::BadSubject("not an installation"))?;
        if claims.app_guid.is_empty() || claims.app_guid.len() > MAX_APP_GUID_BYTES {
            return Err(AuthError::BadSubject("not an app_guid"));
        }
        Ok(Self {
            installation,
            app_guid: claims.app_guid,
            user: claims.sub,
            iat: claims.iat,
            exp: claims.exp,
        })
    }
}

/// The checks every session token passes, built once.
static CHECKS: LazyLock<Checks> =
    LazyLock::new(|| Checks::new(validation()).with_iat_leeway(SESSION_CLOCK_SKEW));

fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.set_issuer(&[SESSION_ISSUER]);
    validation.set_audience(&[SESSION_AUDIENCE]);
    validation
}

/// `value` as JavaScript's `encodeURIComponent` writes it: every byte of its UTF-8 but letters,
/// digits and `-_.!~*'()` as `%XX`. The start page sends its `app_guid` so in a header (a header
/// value cannot hold every character an `app_guid` might), and the API compares it so.
pub fn encode_uri_component(value: &str) -> String {
    utf8_percent_encode(value, URI_COMPONENT).to_string()
}

/// What `encodeURIComponent` encodes: everything but ASCII letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> SessionKey {
        SessionKey::new(&[7u8; 32]).unwrap()
    }

    fn session() -> Session {
        let token = ZafToken {
            installation: ZafInstallation::new("acme", 360_001).unwrap(),
            user: Some("1900000000001".into()),
            exp: 0,
        };
        Session::for_page(
            &token,
            "0f1e2d3c-aaaa",
            Duration::from_secs(600),
            &Clock::system(),
        )
    }

    #[test]
    fn a_session_round_trips_with_its_key() {
        let session = session();
        let token = session.sign(&key());
        assert_eq!(
            Session::verify(&token, &key(), &Clock::system()).unwrap(),
            session
        );
        let now = Clock::system().now_seconds();
        assert!((now + 599..=now + 600).contains(&session.exp));
    }

    #[test]
    fn the_claims_name_the_installation_the_app_guid_and_the_user() {
        let token = session().sign(&key());
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["iss"], SESSION_ISSUER);
        assert_eq!(claims["aud"], SESSION_AUDIENCE);
        assert_eq!(claims["subdomain"], "acme");
        assert_eq!(claims["installation_id"], 360_001);
        assert_eq!(claims["app_guid"], "0f1e2d3c-aaaa");
        assert_eq!(claims["sub"], "1900000000001");
        let anonymous = Session {
            user: None,
            ..session()
        };
        let token = anonymous.sign(&key());
        assert_eq!(
            Session::verify(&token, &key(), &Clock::system())
                .unwrap()
                .user,
            None
        );
    }

    #[test]
    fn another_key_an_expired_session_or_foreign_claims_are_refused() {
        let token = session().sign(&key());
        let other = SessionKey::new(&[8u8; 32]).unwrap();
        assert!(Session::verify(&token, &other, &Clock::system()).is_err());
        let expired = Session {
            exp: Clock::system().now_seconds() - 1,
            ..session()
        };
        assert!(Session::verify(&expired.sign(&key()), &key(), &Clock::system()).is_err());
        let now = Clock::system().now_seconds();
        let sign = |claims: serde_json::Value| {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key().encoding).unwrap()
        };
        let good = json!({"iss": SESSION_ISSUER, "aud": SESSION_AUDIENCE, "subdomain": "acme",
            "installation_id": 1, "app_guid": "g", "iat": now, "exp": now + 60});
        assert!(Session::verify(&sign(good.clone()), &key(), &Clock::system()).is_ok());
        for (name, value) in [
            ("iss", json!("someone-else")),
            ("aud", json!("another-api")),
            ("subdomain", json!("Acme")),
            ("installation_id", json!(0)),
            ("installation_id", json!("1")),
            ("app_guid", json!("")),
            ("exp", json!(null)),
        ] {
            let mut claims = good.clone();
            claims[name] = value.clone();
            assert!(
                Session::verify(&sign(claims), &key(), &Clock::system()).is_err(),
                "{name}: {value}"
            );
        }
        let hs384 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS384), &good, &key().encoding).unwrap();
        assert!(
            Session::verify(&hs384, &key(), &Clock::system()).is_err(),
            "HS256 only"
        );
    }

    #[test]
    fn a_session_from_an_instance_whose_clock_is_ahead_is_accepted_until_it_expires() {
        use crate::clock::MovableClock;
        // GIVEN two instances whose clocks are 2 s apart, either way round
        for skew_ms in [2_000, -2_000] {
            let minter = MovableClock::skewed(skew_ms);
            let verifier = MovableClock::skewed(-skew_ms);
            let token = ZafToken {
                installation: ZafInstallation::new("acme", 360_001).unwrap(),
                user: None,
                exp: 0,
            };
            let ttl = Duration::from_secs(600);
            let session = Session::for_page(&token, "g", ttl, &minter.clock());
            let signed = session.sign(&key());
            // WHEN the session is used at once on the other instance THEN it is accepted
            assert_eq!(
                Session::verify(&signed, &key(), &verifier.clock()).unwrap(),
                session,
                "skew {skew_ms} ms"
            );
            // and refused once its expiry has passed on the verifying instance's clock
            let left = session.exp - verifier.clock().now_seconds();
            verifier.advance(Duration::from_secs(left + 1));
            let expired = Session::verify(&signed, &key(), &verifier.clock()).unwrap_err();
            assert_eq!(expired.reason_class(), Some(crate::RefusalReason::Expired));
        }
    }

    #[test]
    fn a_session_made_beyond_the_allowed_skew_in_the_future_is_refused() {
        use crate::clock::MovableClock;
        let ahead =
            MovableClock::skewed(i64::try_from(SESSION_CLOCK_SKEW.as_millis()).unwrap() + 2_000);
        let token = ZafToken {
            installation: ZafInstallation::new("acme", 360_001).unwrap(),
            user: None,
            exp: 0,
        };
        let session =
            Session::for_page(&token, "g", Duration::from_secs(600), &ahead.clock()).sign(&key());
        let refused = Session::verify(&session, &key(), &Clock::system()).unwrap_err();
        assert_eq!(
            refused.reason_class(),
            Some(crate::RefusalReason::NotYetValid)
        );
    }

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused() {
        assert!(SessionKey::new(&[1u8; 31]).is_err());
        assert!(SessionKey::parse(&SecretString::from(format!(" {} \n", "k".repeat(31)))).is_err());
        assert!(SessionKey::parse(&SecretString::from("k".repeat(32))).is_ok());
        let error = SessionKey::parse(&SecretString::from("unset"))
            .err()
            .unwrap();
        assert!(!error.contains("unset"), "the error never holds the value");
    }

    #[test]
    fn encode_uri_component_matches_javascript() {
        assert_eq!(encode_uri_component("0f1e-AZ_.!~*'()"), "0f1e-AZ_.!~*'()");
        assert_eq!(
            encode_uri_component("\"><img src=x>'&<b>"),
            "%22%3E%3Cimg%20src%3Dx%3E'%26%3Cb%3E"
        );
        assert_eq!(encode_uri_component("é/+ "), "%C3%A9%2F%2B%20");
    }
}
