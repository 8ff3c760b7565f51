//! The domain types of the to-do API: validated values that cannot hold a bad value.

use serde::Serialize;

/// Longest item value, in characters.
pub const MAX_VALUE_CHARS: usize = 1_000;
/// The largest integer a browser's JSON parser keeps exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// An item id: a positive integer below 2^53, so browsers keep it exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TodoId(u64);

impl TodoId {
    /// `Some` for 1 ..= 2^53 - 1.
    pub fn new(id: u64) -> Option<Self> {
        (1..=MAX_SAFE_INTEGER).contains(&id).then_some(Self(id))
    }

    /// Parse a path segment: ASCII digits only, no sign, no leading `+`.
    pub fn parse(segment: &str) -> Option<Self> {
        if segment.is_empty() || segment.len() > 16 || !segment.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        segment.parse().ok().and_then(Self::new)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for TodoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

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

    #[test]
    fn ids_are_plain_positive_safe_integers() {
        assert_eq!(TodoId::parse("42"), TodoId::new(42));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "9007199254740992",
            "99999999999999999999",
        ] {
            assert_eq!(TodoId::parse(bad), None, "{bad:?} was accepted");
        }
    }
}
