//! Help center JWTs: RS256, key chosen by `kid` from the account's JWKS, the user in `userId`.

use serde::Deserialize;
use serde_json::Value;

use super::error::AuthError;
use super::token::JwksVerifier;

use crate::id::JsonSafeId;

/// The signed-in help center user a token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpCenterUser {
    /// The Zendesk user id (`userId`).
    pub user_id: u64,
}

#[derive(Deserialize)]
struct HelpCenterClaims {
    #[serde(rename = "userId", default)]
    user_id: Value,
}

/// Verifies help center JWTs (`/api/v2/help_center/integration/token`).
#[derive(Clone)]
pub struct HelpCenterVerifier {
    inner: JwksVerifier,
}

impl HelpCenterVerifier {
    /// A verifier over the account's JWKS.
    pub fn new(inner: JwksVerifier) -> Self {
        Self { inner }
    }

    /// Verify `token` and return the user it speaks for.
    pub async fn verify(&self, token: &str) -> Result<HelpCenterUser, AuthError> {
        let claims: HelpCenterClaims = self.inner.verify(token).await?;
        let user_id = parse_user_id(&claims.user_id)?;
        Ok(HelpCenterUser { user_id })
    }
}

/// `userId` is a positive integer a browser keeps exactly, sent as a number or as a string of
/// plain digits.
fn parse_user_id(value: &Value) -> Result<u64, AuthError> {
    let id = match value {
        Value::Number(n) => n.as_u64().and_then(JsonSafeId::new),
        Value::String(s) => JsonSafeId::parse(s),
        Value::Null => return Err(AuthError::BadSubject("userId is missing")),
        _ => None,
    };
    id.map(JsonSafeId::get)
        .ok_or(AuthError::BadSubject("userId is not a positive integer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_id_may_be_a_number_or_a_numeric_string() {
        assert_eq!(parse_user_id(&json!(42)).unwrap(), 42);
        assert_eq!(parse_user_id(&json!("42")).unwrap(), 42);
    }

    #[test]
    fn anything_else_is_not_a_user_id() {
        for bad in [
            json!(null),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(""),
            json!("4 2"),
            json!("+42"),
            json!("0x2a"),
            json!("042"),
            json!([42]),
            json!({"id": 42}),
            json!(true),
            json!(9_007_199_254_740_993u64),
        ] {
            assert!(parse_user_id(&bad).is_err(), "{bad} was accepted");
        }
    }
}
