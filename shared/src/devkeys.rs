//! Development and test keys (feature `dev-keys`): RSA key pairs generated on the spot, their
//! JWKS, and minting of the tokens each flow expects. Used by the local server, the tests and
//! the benchmarks; never compiled into a Lambda function.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;

/// An RSA-2048 key pair for signing development and test tokens.
pub struct DevKey {
    /// The `kid` put in token headers and in the JWKS.
    pub kid: String,
    encoding: EncodingKey,
    private_pem: String,
    public_pem: String,
}

impl DevKey {
    /// Generate a fresh key pair.
    pub fn generate(kid: impl Into<String>) -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let private_der = pair.as_der().expect("PKCS#8 encoding");
        let public_der = pair
            .public_key()
            .as_der()
            .expect("SubjectPublicKeyInfo encoding");
        let private_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", private_der.as_ref().to_vec()));
        Self::from_pems(
            kid,
            private_pem,
            pem::encode(&pem::Pem::new("PUBLIC KEY", public_der.as_ref().to_vec())),
        )
    }

    /// A key pair from PEM text (PKCS#8 private key, SubjectPublicKeyInfo public key).
    pub fn from_pems(kid: impl Into<String>, private_pem: String, public_pem: String) -> Self {
        let encoding =
            EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("an RSA private key PEM");
        Self {
            kid: kid.into(),
            encoding,
            private_pem,
            public_pem,
        }
    }

    /// The private key, PEM (PKCS#8).
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// The public key, PEM, as Zendesk serves an app's public key.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The signing key.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public key as a JWK the way Zendesk publishes help center keys: `kty`, `n`, `e`,
    /// `kid`, and no `alg`.
    pub fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, Algorithm::RS256).expect("an RSA key");
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.key_algorithm = None;
        jwk.common.public_key_use = None;
        jwk
    }

    /// Sign `claims` with RS256 and this key's `kid`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing with an RSA key")
    }
}

/// The JWKS document (`{"keys": [...]}`) for `keys`.
pub fn jwks(keys: &[&DevKey]) -> String {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    };
    serde_json::to_string(&set).expect("a JWKS serializes")
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    crate::clock::now_seconds() as i64
}

/// `claims` as made at `now` (seconds since the epoch, as a moved clock reads it) and valid for
/// `ttl_seconds`: their `iat` and `exp` replaced.
pub fn issued_at(mut claims: serde_json::Value, now: u64, ttl_seconds: i64) -> serde_json::Value {
    let now = now as i64;
    claims["iat"] = now.into();
    claims["exp"] = (now + ttl_seconds).into();
    claims
}

/// The claims of a ZAF signed-URL token for `installation_id` in `subdomain`.
pub fn zaf_claims(subdomain: &str, installation_id: u64, ttl_seconds: i64) -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "iss": format!("{subdomain}.zendesk.com"),
        "aud": format!("https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json"),
        "sub": "1900000000001",
        "iat": now,
        "exp": now + ttl_seconds,
        "qsh": "",
    })
}

/// The claims of a help center JWT for `user_id`.
pub fn help_center_claims(user_id: u64, ttl_seconds: i64) -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "userId": user_id,
        "email": format!("user{user_id}@example.com"),
        "iat": now,
        "exp": now + ttl_seconds,
    })
}
