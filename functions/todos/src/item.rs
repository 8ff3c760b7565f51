//! The domain types of the to-do API: validated values that cannot hold a bad value.

use serde::Serialize;

/// Longest item value, in characters.
pub(crate) const MAX_VALUE_CHARS: usize = 1_000;
pub use zendesk_jwt::id::MAX_SAFE_INTEGER;

/// An item id: a positive integer below 2^53, so browsers keep it exact, written in plain digits.
pub type TodoId = zendesk_jwt::id::JsonSafeId;

/// The text of an item: not blank, at most [`MAX_VALUE_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TodoValue(String);

impl TodoValue {
    /// Validate a value; the error is the message shown to the client.
    pub fn parse(value: String) -> Result<Self, &'static str> {
        if value.trim().is_empty() {
            return Err("value must not be blank");
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err("value must be at most 1000 characters");
        }
        Ok(Self(value))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One item as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TodoItem {
    /// Its id.
    pub id: TodoId,
    /// Its text.
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_overlong_values_are_refused() {
        assert!(TodoValue::parse(" \n\t".into()).is_err());
        assert!(TodoValue::parse("x".repeat(1001)).is_err());
        assert!(
            TodoValue::parse("é".repeat(1000)).is_ok(),
            "the limit counts characters, not bytes"
        );
    }
}
