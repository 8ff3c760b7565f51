//! Signing SDK JWTs: HS256 with the shared secret from Admin Center, with lower-case claims
//! `name`, `email`, `jti`, `iat` and the user's optional single sign-on attributes.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::users::SdkUser;

/// The encoded JOSE header of every SDK JWT: `{"alg":"HS256","typ":"JWT"}`.
const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The claims of an SDK JWT, borrowed from the user (no copies).
struct SdkClaims<'a> {
    name: &'a str,
    email: &'a str,
    jti: &'a str,
    iat: u64,
    /// Only names from [`crate::OPTIONAL_ATTRIBUTES`], so never one of the fields above.
    attributes: &'a Map<String, Value>,
}

// Written by hand rather than with `#[serde(flatten)]`, which buffers every value first and
// doubles the cost of signing.
impl Serialize for SdkClaims<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4 + self.attributes.len()))?;
        map.serialize_entry("name", self.name)?;
        map.serialize_entry("email", self.email)?;
        map.serialize_entry("jti", self.jti)?;
        map.serialize_entry("iat", &self.iat)?;
        for (name, value) in self.attributes {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Signs SDK JWTs (HS256) with the shared secret.
///
/// The HMAC key is prepared once per secret and the header is a constant, so signing is one
/// serialization and one HMAC; `benchmarks/benches/verification.rs` measures it against a raw
/// HMAC. Tests verify every token with `jsonwebtoken`.
pub struct SdkTokenIssuer {
    key: hmac::Key,
}

impl SdkTokenIssuer {
    /// Parse the shared secret; nine characters or fewer is Zendesk's redacted display copy.
    pub fn from_secret(secret: &SecretString) -> Result<Self, String> {
        let secret = secret.expose_secret().trim();
        if secret.chars().count() <= 9 {
            return Err("the SDK shared secret has 9 characters or fewer: it is unset, or it is the redacted copy Zendesk's admin UI shows; store the full secret".into());
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        })
    }

    /// The signed JWT for `user`: `name`, `email`, `jti` (random UUID v4), `iat` (`now`, whole
    /// seconds since the epoch) and the user's optional attributes.
    pub fn sign(&self, user: &SdkUser, iat: u64) -> Result<String, serde_json::Error> {
        // uuid's `fast-rng`: a thread-local CSPRNG seeded from the OS, no system call per token.
        let mut jti = uuid::Uuid::encode_buffer();
        let jti = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut jti);
        let claims = serde_json::to_vec(&SdkClaims {
            name: &user.name,
            email: &user.email,
            jti,
            iat,
            attributes: &user.attributes,
        })?;
        Ok(sign_hs256(HS256_HEADER, &claims, &self.key))
    }
}

/// A compact HS256 JWT: `header` (already base64url-encoded), the `claims` JSON encoded, and the
/// HMAC-SHA256 of both with `key`. Both issuers of this function sign through it.
pub(crate) fn sign_hs256(header: &str, claims: &[u8], key: &hmac::Key) -> String {
    let mut jwt = String::with_capacity(header.len() + claims.len() * 4 / 3 + 48);
    jwt.push_str(header);
    jwt.push('.');
    BASE64URL.encode_string(claims, &mut jwt);
    let tag = hmac::sign(key, jwt.as_bytes());
    jwt.push('.');
    BASE64URL.encode_string(tag.as_ref(), &mut jwt);
    jwt
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    #[test]
    fn the_constant_header_is_hs256_jwt() {
        let header = BASE64URL.decode(HS256_HEADER).unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn a_signed_jwt_verifies_with_jsonwebtoken_and_has_exact_claims() {
        let secret = "test-only-shared-secret-0123456789";
        let issuer = SdkTokenIssuer::from_secret(&secret.to_owned().into()).unwrap();
        let mut attributes = Map::new();
        attributes.insert("external_id".into(), Value::from("crm-1"));
        let user = SdkUser {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            email_verified: true,
            attributes,
        };
        let jwt = issuer.sign(&user, 1_700_000_000).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(
            &jwt,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["name"], "Ann");
        assert_eq!(claims["external_id"], "crm-1");
        assert_eq!(claims["iat"], 1_700_000_000);
        let jti = uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
        assert_eq!(jti.get_version_num(), 4);
        assert_eq!(claims.as_object().unwrap().len(), 5);
    }
}
