//! Resolving a mobile SDK user token to a known user: either an opaque token stored (by its
//! SHA-256) in DynamoDB, or a JWT from the organisation's own identity provider.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::dynamodb::error_text;
use zendesk_jwt::lambda::metrics::Outcome;
use zendesk_jwt::{JwksVerifier, RefusalReason};

/// Longest user token accepted, in bytes.
pub(crate) const MAX_USER_TOKEN_BYTES: usize = 4096;

/// The optional single sign-on attributes copied into the SDK JWT when the user has them.
pub(crate) const OPTIONAL_ATTRIBUTES: [&str; 7] = [
    "external_id",
    "phone",
    "organization",
    "organization_id",
    "locale_id",
    "tags",
    "remote_photo_url",
];

/// A user the function may sign a JWT for: the SDK's, or messaging's.
#[derive(Clone, Debug, PartialEq)]
pub struct SdkUser {
    /// Display name (`name` claim).
    pub name: String,
    /// Email address (`email` claim).
    pub email: String,
    /// Whether the user's source vouches that the address is the user's: a table item's
    /// `email_verified` is BOOL `true`, or the identity provider's `email_verified` claim is
    /// true. Only messaging JWTs say so (their `email_verified` claim).
    pub email_verified: bool,
    /// Optional attributes from [`OPTIONAL_ATTRIBUTES`], already in their JWT form.
    pub attributes: Map<String, Value>,
}

/// Why a user token was not resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Unknown, empty, expired, revoked or invalid token (401): its class (for the metrics) and
    /// the precise reason (for debug logs).
    #[error("user token refused: {1}")]
    Refused(RefusalReason, String),
    /// The store or the identity provider's keys could not be reached (503).
    #[error("user lookup unavailable: {0}")]
    Unavailable(String),
}

/// How user tokens are resolved.
pub enum UserResolver {
    /// Opaque tokens in a DynamoDB table, keyed by the SHA-256 of the token.
    Table(UserTokenTable),
    /// JWTs from the organisation's identity provider.
    IdentityProvider(Box<IdentityProviderTokens>),
}

impl UserResolver {
    /// Resolve `user_token` to a user.
    pub async fn resolve(&self, user_token: &str) -> Result<SdkUser, ResolveError> {
        if user_token.is_empty() {
            return Err(ResolveError::Refused(
                RefusalReason::Missing,
                "empty user token".into(),
            ));
        }
        if user_token.len() > MAX_USER_TOKEN_BYTES {
            return Err(ResolveError::Refused(
                RefusalReason::Malformed,
                "user token too long".into(),
            ));
        }
        match self {
            UserResolver::Table(table) => table.resolve(user_token).await,
            UserResolver::IdentityProvider(idp) => idp.resolve(user_token).await,
        }
    }
}

/// The lower-case hex SHA-256 of a user token: the table's partition key.
pub fn token_hash(user_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user_token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Opaque user tokens stored in DynamoDB (item format in the README).
pub struct UserTokenTable {
    client: Client,
    table: String,
    clock: Clock,
}

impl UserTokenTable {
    /// A resolver over `table`, reading expiries against `clock`.
    pub fn new(client: Client, table: impl Into<String>, clock: Clock) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    async fn resolve(&self, user_token: &str) -> Result<SdkUser, ResolveError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("token_hash", AttributeValue::S(token_hash(user_token)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ResolveError::Unavailable(error_text(e)))?;
        let item = output.item.ok_or_else(|| {
            ResolveError::Refused(RefusalReason::UnknownUserToken, "unknown user token".into())
        })?;
        user_from_item(&item, self.clock.now_seconds())
    }
}

/// Map a user-token item; expired (even before DynamoDB's TTL deletes it) or revoked is refused.
fn user_from_item(
    item: &HashMap<String, AttributeValue>,
    now: u64,
) -> Result<SdkUser, ResolveError> {
    let refused =
        |why: &str| ResolveError::Refused(RefusalReason::UnknownUserToken, why.to_owned());
    let expires_at = item
        .get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| refused("item has no numeric expires_at"))?;
    if expires_at <= now {
        return Err(refused("user token expired"));
    }
    // Revocation fails closed: only an absent attribute or BOOL false lets the token through
    // (a string "true", a number 1, or a typo'd type are read as revoked).
    match item.get("revoked") {
        None | Some(AttributeValue::Bool(false)) => {}
        Some(_) => return Err(refused("user token revoked (or revoked is not BOOL false)")),
    }
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .filter(|s| !s.is_empty())
    };
    let name = text("name")
        .ok_or_else(|| refused("item has no name"))?
        .clone();
    let email = text("email")
        .ok_or_else(|| refused("item has no email"))?
        .clone();
    let mut attributes = Map::new();
    for attribute in OPTIONAL_ATTRIBUTES {
        if let Some(value) = item.get(attribute).and_then(attribute_json) {
            attributes.insert(attribute.to_owned(), value);
        }
    }
    Ok(SdkUser {
        name,
        email,
        // Only a BOOL true vouches; anything else (absent, false, a string) does not.
        email_verified: matches!(item.get("email_verified"), Some(AttributeValue::Bool(true))),
        attributes,
    })
}

/// The JSON form of a DynamoDB attribute, for the kinds the item format allows.
fn attribute_json(value: &AttributeValue) -> Option<Value> {
    match value {
        AttributeValue::S(s) if !s.is_empty() => Some(Value::String(s.clone())),
        AttributeValue::N(n) => n.parse::<i64>().ok().map(Value::from),
        AttributeValue::Ss(set) => Some(Value::from(set.clone())),
        AttributeValue::L(list) => {
            let strings: Option<Vec<Value>> = list
                .iter()
                .map(|v| v.as_s().ok().map(|s| Value::String(s.clone())))
                .collect();
            strings.map(Value::Array)
        }
        _ => None,
    }
}

/// Which claims of an identity-provider token hold the user's details.
#[derive(Clone, Debug)]
pub struct ClaimNames {
    /// Claim with the display name (default `name`).
    pub name: String,
    /// Claim with the email address (default `email`).
    pub email: String,
    /// Claim copied to `external_id` (default `sub`).
    pub external_id: String,
}

/// When an identity-provider token's `email_verified` claim must say the address is verified
/// (`IDP_EMAIL_VERIFIED`). Without the check, a self-service sign-up at the provider with
/// someone else's address could take over that person's Zendesk identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmailVerified {
    /// `if-present` (default): a token whose `email_verified` is present and not true is
    /// refused; a provider that never sends the claim is trusted for its addresses.
    #[default]
    IfPresent,
    /// `required`: the claim must be present and true.
    Required,
}

impl EmailVerified {
    /// Parse the configuration value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "if-present" => Some(Self::IfPresent),
            "required" => Some(Self::Required),
            _ => None,
        }
    }
}

/// JWTs from the organisation's identity provider, verified against its JWKS.
pub struct IdentityProviderTokens {
    verifier: JwksVerifier,
    claims: ClaimNames,
    email_verified: EmailVerified,
}

impl IdentityProviderTokens {
    /// A resolver with `verifier` (issuer and audience already set), claim names and the
    /// `email_verified` rule.
    pub fn new(verifier: JwksVerifier, claims: ClaimNames, email_verified: EmailVerified) -> Self {
        Self {
            verifier,
            claims,
            email_verified,
        }
    }

    async fn resolve(&self, user_token: &str) -> Result<SdkUser, ResolveError> {
        let claims: Map<String, Value> =
            self.verifier
                .verify(user_token)
                .await
                .map_err(|error| match error.outcome() {
                    Outcome::Refused(class) => ResolveError::Refused(class, error.to_string()),
                    _ => ResolveError::Unavailable(error.to_string()),
                })?;
        user_from_claims(&claims, &self.claims, self.email_verified)
    }
}

/// The user a verified identity-provider token speaks for.
fn user_from_claims(
    claims: &Map<String, Value>,
    names: &ClaimNames,
    email_verified: EmailVerified,
) -> Result<SdkUser, ResolveError> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = text(&names.name).ok_or_else(|| {
        ResolveError::Refused(RefusalReason::Malformed, format!("no {} claim", names.name))
    })?;
    let email = text(&names.email).ok_or_else(|| {
        ResolveError::Refused(
            RefusalReason::Malformed,
            format!("no {} claim", names.email),
        )
    })?;
    // Some providers send the claim as the string "true"; anything else is not a yes.
    let asserted = match claims.get("email_verified") {
        None => None,
        Some(Value::Bool(verified)) => Some(*verified),
        Some(Value::String(verified)) => Some(verified == "true"),
        Some(_) => Some(false),
    };
    let verified = asserted.unwrap_or(email_verified == EmailVerified::IfPresent);
    if !verified {
        return Err(ResolveError::Refused(
            RefusalReason::UnknownUserToken,
            "email_verified is missing or not true".into(),
        ));
    }
    let mut attributes = Map::new();
    // The external id is optional, but one of the wrong type is a confused token: refuse it
    // rather than fall back to matching the user by email alone.
    if claims.contains_key(&names.external_id) {
        let external_id = text(&names.external_id).ok_or_else(|| {
            ResolveError::Refused(
                RefusalReason::Malformed,
                format!("{} claim is not a non-empty string", names.external_id),
            )
        })?;
        attributes.insert("external_id".into(), Value::String(external_id));
    }
    Ok(SdkUser {
        name,
        email,
        // A provider that never sends the claim is trusted for its addresses (`if-present`),
        // but only a claim that says so vouches for one in a messaging JWT.
        email_verified: asserted == Some(true),
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn known(revoked: Option<AttributeValue>) -> HashMap<String, AttributeValue> {
        let mut pairs = vec![
            ("expires_at", AttributeValue::N("2000".into())),
            ("name", AttributeValue::S("Ann".into())),
            ("email", AttributeValue::S("ann@example.com".into())),
        ];
        if let Some(revoked) = revoked {
            pairs.push(("revoked", revoked));
        }
        item(&pairs)
    }

    #[test]
    fn revocation_fails_closed_on_anything_but_false() {
        assert!(user_from_item(&known(None), 1000).is_ok());
        assert!(user_from_item(&known(Some(AttributeValue::Bool(false))), 1000).is_ok());
        for revoked in [
            AttributeValue::Bool(true),
            AttributeValue::S("true".into()),
            AttributeValue::S("false".into()),
            AttributeValue::N("1".into()),
            AttributeValue::N("0".into()),
            AttributeValue::Null(true),
            AttributeValue::L(vec![]),
        ] {
            assert!(
                matches!(
                    user_from_item(&known(Some(revoked.clone())), 1000),
                    Err(ResolveError::Refused(..))
                ),
                "{revoked:?} was accepted"
            );
        }
    }

    fn names() -> ClaimNames {
        ClaimNames {
            name: "name".into(),
            email: "email".into(),
            external_id: "sub".into(),
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut claims =
            serde_json::json!({"name": "Ann", "email": "ann@example.com", "sub": "u1"});
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        claims.as_object().unwrap().clone()
    }

    #[test]
    fn an_unverified_email_is_refused_and_verification_can_be_required() {
        use serde_json::json;
        let accepted =
            |extra: Value, rule| user_from_claims(&claims(extra), &names(), rule).is_ok();
        for rule in [EmailVerified::IfPresent, EmailVerified::Required] {
            assert!(accepted(json!({"email_verified": true}), rule));
            assert!(accepted(json!({"email_verified": "true"}), rule));
            for bad in [
                json!(false),
                json!("false"),
                json!(1),
                json!(null),
                json!("yes"),
            ] {
                assert!(
                    !accepted(json!({"email_verified": bad}), rule),
                    "{bad} under {rule:?}"
                );
            }
        }
        assert!(accepted(json!({}), EmailVerified::IfPresent));
        assert!(!accepted(json!({}), EmailVerified::Required));
        assert_eq!(
            EmailVerified::parse("required"),
            Some(EmailVerified::Required)
        );
        assert_eq!(EmailVerified::parse("never"), None);
    }

    #[test]
    fn only_a_bool_true_item_attribute_or_a_true_claim_vouches_for_the_email() {
        let vouched = |value: Option<AttributeValue>| {
            let mut item = known(None);
            if let Some(value) = value {
                item.insert("email_verified".into(), value);
            }
            user_from_item(&item, 1000).unwrap().email_verified
        };
        assert!(vouched(Some(AttributeValue::Bool(true))));
        for value in [
            None,
            Some(AttributeValue::Bool(false)),
            Some(AttributeValue::S("true".into())),
            Some(AttributeValue::N("1".into())),
        ] {
            assert!(!vouched(value.clone()), "{value:?}");
        }
        let from_claims = |extra: Value| {
            user_from_claims(&claims(extra), &names(), EmailVerified::IfPresent)
                .unwrap()
                .email_verified
        };
        assert!(from_claims(serde_json::json!({"email_verified": true})));
        assert!(from_claims(serde_json::json!({"email_verified": "true"})));
        assert!(
            !from_claims(serde_json::json!({})),
            "accepted without the claim, but not vouched for"
        );
    }

    #[test]
    fn the_hash_is_lower_case_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_item_past_its_expiry_is_refused_before_ttl_deletes_it() {
        let expired = item(&[
            ("expires_at", AttributeValue::N("999".into())),
            ("name", AttributeValue::S("Ann".into())),
            ("email", AttributeValue::S("ann@example.com".into())),
        ]);
        assert!(matches!(
            user_from_item(&expired, 1000),
            Err(ResolveError::Refused(..))
        ));
        assert!(user_from_item(&expired, 998).is_ok());
    }
}
