//! Signing messaging JWTs: the token with which the Web Widget for messaging
//! (`zE('messenger', 'loginUser', …)`) and Zendesk's SDKs for messaging (`loginUser(jwt)`) sign an
//! end user in. HS256 with a signing key an admin creates in Admin Center (Account > Security >
//! End-user authentication > Messaging); the key's id (`app_…`) is the header's `kid`.
//!
//! The claim set is [`MessagingClaims`], in this file and nowhere else. Zendesk verifies the
//! signature, `kid`, `external_id` and `scope`; every other claim is information about the user
//! that Zendesk takes as it comes (the README says what the token proves and what it does not).

use std::ops::RangeInclusive;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

use crate::issuer::sign_hs256;
use crate::users::SdkUser;

/// The `scope` of every messaging JWT: an end user (the only scope Zendesk accepts from a
/// customer's backend).
pub(crate) const SCOPE: &str = "user";

/// The token lifetimes `MESSAGING_TOKEN_SECONDS` may set, in seconds. The widget asks again when
/// a token expires, so a short one costs a request, never a sign-out.
pub const TOKEN_LIFETIME_SECONDS: RangeInclusive<u64> = 30..=3600;

/// The default lifetime: five minutes.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// The fewest characters a signing key's secret may have: anything shorter is a placeholder
/// (`unset`), a truncated paste or a partial copy, never a secret Zendesk generated.
pub(crate) const MIN_SECRET_CHARS: usize = 16;

/// The claims of a messaging JWT, borrowed from the user. This is the whole claim set: change it
/// here.
#[derive(Debug, PartialEq, Serialize)]
pub struct MessagingClaims<'a> {
    /// Always [`SCOPE`].
    pub scope: &'static str,
    /// The user's unique, stable id in the customer's systems: messaging's primary identity.
    pub external_id: &'a str,
    /// The display name agents see.
    pub name: &'a str,
    /// The user's email address.
    pub email: &'a str,
    /// `true` only when the user's source vouches for the address (a table item's
    /// `email_verified` BOOL true, or the identity provider's `email_verified` claim); absent
    /// otherwise, so the token never claims an address nobody verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// When the token was signed (seconds since the epoch).
    pub iat: u64,
    /// When it expires: `iat` plus the configured lifetime.
    pub exp: u64,
}

impl<'a> MessagingClaims<'a> {
    /// The claims for `user`, signed at `now` (seconds since the epoch) and valid for
    /// `lifetime`; `None` when the user has no `external_id` (a non-empty string), which
    /// messaging requires.
    pub fn for_user(user: &'a SdkUser, now: u64, lifetime: Duration) -> Option<Self> {
        let external_id = user
            .attributes
            .get("external_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())?;
        Some(Self {
            scope: SCOPE,
            external_id,
            name: &user.name,
            email: &user.email,
            email_verified: user.email_verified.then_some(true),
            iat: now,
            exp: now.saturating_add(lifetime.as_secs()),
        })
    }
}

/// Whether `kid` looks like the id of a Zendesk messaging signing key: `app_` and 1 to 64
/// letters or digits.
pub(crate) fn is_key_id(kid: &str) -> bool {
    kid.strip_prefix("app_").is_some_and(|rest| {
        (1..=64).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Signs messaging JWTs with one signing key.
///
/// The header (with the key's `kid`) is encoded once per key and the HMAC key prepared once, so
/// signing is one serialization and one HMAC, as for the SDK's JWTs.
pub struct MessagingTokenIssuer {
    kid: String,
    header: String,
    key: hmac::Key,
}

impl MessagingTokenIssuer {
    /// Parse a signing key stored as `{"kid": "app_…", "secret": "…"}`. A key id that does not
    /// look like Zendesk's, a secret that is too short or masked, or any other shape is refused
    /// with a message that never contains the secret.
    pub fn from_secret(stored: &SecretString) -> Result<Self, String> {
        // Read as JSON values (the claims' parser, already in the bootstrap) rather than with a
        // parser of its own; serde's messages may quote what they refused, so none is passed on.
        let stored: Value = serde_json::from_str(stored.expose_secret().trim()).unwrap_or_default();
        let (kid, secret) = match stored.as_object() {
            Some(key) if key.len() == 2 => (key.get("kid"), key.get("secret")),
            _ => (None, None),
        };
        let (Some(Value::String(kid)), Some(Value::String(secret))) = (kid, secret) else {
            return Err(
                "the messaging signing key is not a JSON object {\"kid\": \"app_…\", \"secret\": \"…\"} \
                 with exactly those two strings (the placeholder `unset` is not one)"
                    .to_owned(),
            );
        };
        if !is_key_id(kid) {
            // Not quoted: a kid and a secret pasted the wrong way round would show the secret.
            return Err("the messaging signing key's kid is not a Zendesk key id (`app_` followed by letters and digits, as Admin Center shows it)".to_owned());
        }
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_CHARS || secret.contains(['*', '•', '…']) {
            return Err(format!(
                "the secret of messaging signing key {kid} has fewer than {MIN_SECRET_CHARS} characters or masking characters: it is truncated or a masked copy; store the secret Admin Center showed when the key was created"
            ));
        }
        // The key id is `app_` and letters or digits: nothing in it needs escaping.
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#);
        Ok(Self {
            header: BASE64URL.encode(header),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            kid: kid.clone(),
        })
    }

    /// The signing key's id, the tokens' `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signed JWT with these claims.
    pub fn sign(&self, claims: &MessagingClaims) -> Result<String, serde_json::Error> {
        Ok(sign_hs256(
            &self.header,
            &serde_json::to_vec(claims)?,
            &self.key,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{Map, json};

    const KID: &str = "app_64f1e2d3c4b5a69788796a5b";
    const SECRET: &str = "test-only-messaging-secret-0123456789";

    fn stored(value: &Value) -> SecretString {
        value.to_string().into()
    }

    fn user(external_id: Option<&str>, email_verified: bool) -> SdkUser {
        let mut attributes = Map::new();
        if let Some(id) = external_id {
            attributes.insert("external_id".into(), Value::from(id));
        }
        SdkUser {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            email_verified,
            attributes,
        }
    }

    #[test]
    fn a_signed_token_has_the_kid_header_and_exactly_the_claims_and_verifies() {
        let issuer =
            MessagingTokenIssuer::from_secret(&stored(&json!({"kid": KID, "secret": SECRET})))
                .unwrap();
        assert_eq!(issuer.kid(), KID);
        let user = user(Some("crm-1"), true);
        let claims = MessagingClaims::for_user(&user, 1_000, Duration::from_secs(300)).unwrap();
        let jwt = issuer.sign(&claims).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid.as_deref(), Some(KID));
        let raw_header: Value =
            serde_json::from_slice(&BASE64URL.decode(jwt.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            raw_header,
            json!({"alg": "HS256", "typ": "JWT", "kid": KID})
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims::<&str>(&["exp"]);
        let decoded = jsonwebtoken::decode::<Value>(
            &jwt,
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(
            decoded,
            json!({
                "scope": "user",
                "external_id": "crm-1",
                "name": "Ann",
                "email": "ann@example.com",
                "email_verified": true,
                "iat": 1_000,
                "exp": 1_300,
            })
        );
    }

    #[test]
    fn an_unverified_email_is_never_claimed_verified_and_no_external_id_signs_nothing() {
        let unverified = user(Some("crm-1"), false);
        let claims = MessagingClaims::for_user(&unverified, 5, Duration::from_secs(60)).unwrap();
        let json = serde_json::to_value(&claims).unwrap();
        assert!(json.get("email_verified").is_none(), "{json}");
        assert_eq!(json["exp"], 65);
        assert_eq!(
            MessagingClaims::for_user(&user(None, true), 5, DEFAULT_TOKEN_LIFETIME),
            None
        );
        assert_eq!(
            MessagingClaims::for_user(&user(Some(""), true), 5, DEFAULT_TOKEN_LIFETIME),
            None
        );
    }

    #[test]
    fn key_ids_must_look_like_zendesks() {
        for good in [KID, "app_1", "app_ABCdef123"] {
            assert!(is_key_id(good), "{good}");
        }
        for bad in [
            "",
            "app_",
            "APP_123",
            "app-123",
            "key_123",
            "app_12 3",
            "app_12/3",
            "app_é",
            &format!("app_{}", "a".repeat(65)),
        ] {
            assert!(!is_key_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_stored_key_that_is_not_zendesks_is_refused_without_showing_its_secret() {
        let secret_like = "hunter2-hunter2-hunter2-hunter2";
        for (value, says) in [
            (json!("unset"), "JSON object"),
            (json!(secret_like), "JSON object"),
            (json!({"kid": KID}), "JSON object"),
            (
                json!({"kid": KID, "secret": secret_like, "extra": 1}),
                "JSON object",
            ),
            (json!({"kid": KID, "secret": 12}), "JSON object"),
            (
                json!({"kid": "key_1", "secret": secret_like}),
                "not a Zendesk key id",
            ),
            (
                json!({"kid": secret_like, "secret": KID}),
                "not a Zendesk key id",
            ),
            (json!({"kid": KID, "secret": "short-secret"}), "masked copy"),
            (
                json!({"kid": KID, "secret": "abcd************************wxyz"}),
                "masked copy",
            ),
            (
                json!({"kid": KID, "secret": "abcd••••••••••••••••••••••••wxyz"}),
                "masked copy",
            ),
        ] {
            let error = MessagingTokenIssuer::from_secret(&stored(&value))
                .err()
                .unwrap_or_else(|| panic!("{value} was accepted"));
            assert!(error.contains(says), "{value}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        let unset: SecretString = "unset".to_owned().into();
        assert!(MessagingTokenIssuer::from_secret(&unset).is_err());
    }
}
