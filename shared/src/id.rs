//! Ids a browser's JSON keeps exactly: whole numbers from 1 to 2^53 - 1, written in plain digits.
//! A to-do item id, a ticket id and a help center user id are all of this kind, and all are read
//! by the one parser here.

use serde::Serialize;

/// The largest integer a browser's JSON parser keeps exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A positive integer of at most [`MAX_SAFE_INTEGER`], serialized as a JSON number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct JsonSafeId(u64);

impl JsonSafeId {
    /// `Some` for 1 ..= [`MAX_SAFE_INTEGER`].
    pub fn new(id: u64) -> Option<Self> {
        (1..=MAX_SAFE_INTEGER).contains(&id).then_some(Self(id))
    }

    /// The id `text` writes in plain digits: ASCII digits only, no sign, no leading zero, no
    /// spaces, at most 16 digits.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty()
            || text.len() > 16
            || text.starts_with('0')
            || !text.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        text.parse().ok().and_then(Self::new)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for JsonSafeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_positive_safe_integers() {
        assert_eq!(JsonSafeId::parse("42").map(JsonSafeId::get), Some(42));
        assert_eq!(
            JsonSafeId::parse("9007199254740991").map(JsonSafeId::get),
            Some(MAX_SAFE_INTEGER)
        );
        assert_eq!(JsonSafeId::new(0), None);
        assert_eq!(JsonSafeId::new(MAX_SAFE_INTEGER + 1), None);
        for bad in [
            "",
            "0",
            "01",
            "007",
            "-1",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "1 ",
            "abc",
            "9007199254740992",
            "99999999999999999999",
        ] {
            assert_eq!(JsonSafeId::parse(bad), None, "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_id_is_written_as_a_json_number() {
        let id = JsonSafeId::new(42).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(id.to_string(), "42");
    }
}
