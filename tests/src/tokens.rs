//! The test keys, and the tokens the attacks are made of: signed with any algorithm and key,
//! with any header, unsigned, keyed with the public key in every form an attacker might try.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;
use zendesk_jwt::devkeys::DevKey;

/// TEST KEYS ONLY: generated once per test run, never written anywhere.
pub struct TestKeys {
    /// The Zendesk app's key pair (sidebar) and the first help center key (`kid` "hc-1").
    pub primary: DevKey,
    /// The help center key after a rotation (`kid` "hc-2"); the identity provider's key.
    pub rotated: DevKey,
    /// A key nobody trusts, with the primary key's `kid`.
    pub rogue: DevKey,
}

/// The test keys, generated on first use.
pub fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| TestKeys {
        primary: DevKey::generate("hc-1"),
        rotated: DevKey::generate("hc-2"),
        rogue: DevKey::generate("hc-1"),
    })
}

/// `bytes` in base64url without padding, as JWTs encode their parts.
pub fn base64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of base64url text without padding.
pub fn base64url_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64url ({e}): {text}"))
}

/// The claims of a JWT, read without checking anything.
pub fn unverified_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64url_decode(payload)).expect("JSON claims")
}

/// `claims` with `name` set to `value` (or removed when `value` is `None`).
pub fn with_claim(claims: &Value, name: &str, value: Option<Value>) -> Value {
    let mut claims = claims.clone();
    let map = claims.as_object_mut().expect("claims are a JSON object");
    match value {
        Some(value) => map.insert(name.to_owned(), value),
        None => map.remove(name),
    };
    claims
}

/// Sign `claims` with any algorithm and key (for forging tokens in attack tests).
pub fn sign_with(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("signing")
}

/// The first two parts of a token with this header and these claims (what a signature signs).
fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        base64url(header.to_string()),
        base64url(claims.to_string())
    )
}

/// A token with an arbitrary header and no signature check possible (`alg: none` and friends).
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{signature}", signing_input(header, claims))
}

/// A token with any header (as JSON, so that fields may have any type) and a real signature made
/// with `key` and `alg`: the header is what is under test, not the signature.
pub fn sign_raw(header: &Value, claims: &Value, alg: Algorithm, key: &EncodingKey) -> String {
    let message = signing_input(header, claims);
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("signing");
    format!("{message}.{signature}")
}

/// A fresh elliptic-curve or Ed25519 signing key nobody trusts, for `alg` ES256, ES384 or EdDSA.
pub fn rogue_curve_key(alg: Algorithm) -> EncodingKey {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair,
    };
    let ec = |curve| {
        let pkcs8 = EcdsaKeyPair::generate(curve).unwrap().to_pkcs8v1().unwrap();
        EncodingKey::from_ec_der(pkcs8.as_ref())
    };
    match alg {
        Algorithm::ES256 => ec(&ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => ec(&ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::EdDSA => EncodingKey::from_ed_der(
            Ed25519KeyPair::generate()
                .unwrap()
                .to_pkcs8()
                .unwrap()
                .as_ref(),
        ),
        other => panic!("{other:?} is not a curve algorithm"),
    }
}

/// The base64 body of a PEM document (the lines between its `-----` markers).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|line| !line.starts_with("-----"))
        .collect()
}

/// The public key's DER (SubjectPublicKeyInfo), as the raw crypto APIs take it.
pub fn public_key_der(key: &DevKey) -> Vec<u8> {
    STANDARD
        .decode(pem_body(key.public_pem()))
        .expect("the PEM body is base64")
}

/// Every form an attacker might feed the public key to HMAC as its secret: the PEM text, the
/// PEM on one line, its base64 body, the DER, the JWK as JSON, and the bare modulus.
pub fn public_key_forms(key: &DevKey) -> Vec<(&'static str, Vec<u8>)> {
    let pem = key.public_pem().to_owned();
    let jwk = serde_json::to_string(&key.jwk()).unwrap();
    let modulus = match &key.jwk().algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) => base64url_decode(&rsa.n),
        _ => unreachable!("an RSA key"),
    };
    vec![
        ("PEM", pem.clone().into_bytes()),
        (
            "PEM without its final newline",
            pem.trim_end().as_bytes().to_vec(),
        ),
        ("PEM without newlines", pem.replace('\n', "").into_bytes()),
        ("PEM body", pem_body(&pem).into_bytes()),
        ("DER", public_key_der(key)),
        ("JWK JSON", jwk.into_bytes()),
        ("modulus", modulus),
    ]
}

/// An HMAC key made of the public key's PEM text: the classic RS256-to-HS256 confusion.
pub fn public_key_as_hmac_secret(key: &DevKey) -> EncodingKey {
    EncodingKey::from_secret(key.public_pem().as_bytes())
}
