//! The sidebar's DynamoDB table: one partition per installation, so one account's data is never
//! in another's partition and every key is built from the session's installation.
//!
//! | `pk` (S, partition key) | `sk` (S, sort key) | attributes |
//! | --- | --- | --- |
//! | `{subdomain}#{installation_id}` | `installation` | `enabled` (BOOL), `name` (S), `settings` (M, free-form), `subdomain` (S), `installation_id` (N), `updated_at` (N) |
//! | `{subdomain}#{installation_id}` | `note#{ticket_id}` | `note` (S), `version` (N), `updated_at` (N), `updated_by` (S, the Zendesk user, when the session names one) |
//!
//! Installation records are written by the `installations` admin command; notes by the API,
//! each with one conditional `UpdateItem`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::clock::Clock;

/// An item as the SDK holds it.
pub type Item = HashMap<String, AttributeValue>;

/// The partition key attribute.
pub const PARTITION_KEY: &str = "pk";
/// The sort key attribute.
pub const SORT_KEY: &str = "sk";
/// The sort key of an installation's record.
pub const INSTALLATION_ITEM: &str = "installation";
/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;
/// The largest ticket id accepted: the largest integer a browser's JSON keeps exactly.
pub const MAX_TICKET_ID: u64 = (1 << 53) - 1;
/// The largest note version a save may name: the largest integer a page's JavaScript holds
/// exactly, far beyond any count of saves, so the next version is always countable.
pub const MAX_NOTE_VERSION: u64 = (1 << 53) - 1;

/// The key of the item `sort_key` of `installation`.
pub fn key(installation: &ZafInstallation, sort_key: &str) -> Item {
    HashMap::from([
        (
            PARTITION_KEY.to_owned(),
            AttributeValue::S(installation.to_string()),
        ),
        (SORT_KEY.to_owned(), AttributeValue::S(sort_key.to_owned())),
    ])
}

/// The sort key of the note of `ticket`.
pub fn note_item(ticket: TicketId) -> String {
    format!("note#{}", ticket.0)
}

/// The storage could not be reached or answered an error (the cause, never data).
#[derive(Debug, thiserror::Error)]
#[error("the sidebar table is unavailable: {0}")]
pub struct Unavailable(pub String);

fn unavailable<E, R>(error: SdkError<E, R>) -> Unavailable
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Unavailable(DisplayErrorContext(error).to_string())
}

/// An installation's record.
#[derive(Clone, Debug, PartialEq)]
pub struct InstallationRecord {
    /// Whether the installation is served: only a BOOL `true` enables it (anything else, a
    /// string `"true"` included, does not: a mistake fails closed).
    pub enabled: bool,
    /// Its display name.
    pub name: String,
    /// Its free-form settings (a JSON object).
    pub settings: Map<String, Value>,
}

impl InstallationRecord {
    /// The record an item holds.
    pub fn from_item(item: &Item) -> Self {
        let settings = match item.get("settings").map(json_of) {
            Some(Value::Object(settings)) => settings,
            _ => Map::new(),
        };
        Self {
            enabled: matches!(item.get("enabled"), Some(AttributeValue::Bool(true))),
            name: item
                .get("name")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            settings,
        }
    }

    /// The item that holds this record for `installation`, written at `now`.
    pub fn to_item(&self, installation: &ZafInstallation, now: u64) -> Item {
        let mut item = key(installation, INSTALLATION_ITEM);
        item.insert("enabled".into(), AttributeValue::Bool(self.enabled));
        item.insert("name".into(), AttributeValue::S(self.name.clone()));
        item.insert(
            "settings".into(),
            attribute_of(&Value::Object(self.settings.clone())),
        );
        item.insert(
            "subdomain".into(),
            AttributeValue::S(installation.subdomain.clone()),
        );
        item.insert(
            "installation_id".into(),
            AttributeValue::N(installation.installation_id.to_string()),
        );
        item.insert("updated_at".into(), AttributeValue::N(now.to_string()));
        item
    }
}

/// A DynamoDB value as JSON: numbers as numbers (as strings when JSON cannot hold them), sets as
/// lists; binary values, which JSON has no form for, as `null`.
pub fn json_of(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), json_of(value)))
                .collect(),
        ),
        AttributeValue::L(list) => Value::Array(list.iter().map(json_of).collect()),
        AttributeValue::Ss(set) => Value::Array(set.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(set) => Value::Array(set.iter().map(|n| number(n)).collect()),
        _ => Value::Null,
    }
}

fn number(text: &str) -> Value {
    serde_json::from_str::<Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// JSON as a DynamoDB value (objects as maps, arrays as lists).
pub fn attribute_of(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(attribute_of).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(key, value)| (key.clone(), attribute_of(value)))
                .collect(),
        ),
    }
}

/// A Zendesk ticket id: a positive integer a browser's JSON keeps exactly, written in plain
/// digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TicketId(u64);

impl TicketId {
    /// The id a path segment names, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if text.starts_with('0') {
            return None;
        }
        let id: u64 = text.parse().ok()?;
        (1..=MAX_TICKET_ID).contains(&id).then_some(Self(id))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A ticket's note as the API answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The text ("" when the ticket has no note yet).
    pub note: String,
    /// How many times it was saved (0: never). A save names the version it replaces.
    pub version: u64,
    /// When it was last saved, seconds since the epoch.
    pub updated_at: Option<u64>,
    /// The Zendesk user who last saved it, when their session named one.
    pub updated_by: Option<String>,
}

impl Note {
    /// The note an item holds (an absent item is an empty note, version 0).
    fn from_item(ticket_id: TicketId, item: Option<&Item>) -> Self {
        let get_s = |name: &str| item?.get(name)?.as_s().ok().cloned();
        let get_n = |name: &str| item?.get(name)?.as_n().ok()?.parse::<u64>().ok();
        Self {
            ticket_id,
            note: get_s("note").unwrap_or_default(),
            version: get_n("version").unwrap_or(0),
            updated_at: get_n("updated_at"),
            updated_by: get_s("updated_by"),
        }
    }
}

/// A save that did not happen because the note changed since the version it named.
#[derive(Debug)]
pub enum SaveError {
    /// Someone saved the note meanwhile: the note as it is now.
    Conflict(Box<Note>),
    /// The table could not be reached.
    Unavailable(Unavailable),
}

/// The sidebar's table.
pub struct SidebarStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    clock: Clock,
}

impl SidebarStore {
    /// The table `table`, through `client`, dating saves by `clock`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, clock: Clock) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// The record of `installation`, if there is one (one strongly consistent `GetItem`).
    pub async fn installation(
        &self,
        installation: &ZafInstallation,
    ) -> Result<Option<InstallationRecord>, Unavailable> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(installation, INSTALLATION_ITEM)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item.as_ref().map(InstallationRecord::from_item))
    }

    /// The note of `ticket` in `installation` (one strongly consistent `GetItem`).
    pub async fn note(
        &self,
        installation: &ZafInstallation,
        ticket: TicketId,
    ) -> Result<Note, Unavailable> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(installation, &note_item(ticket))))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Note::from_item(ticket, output.item.as_ref()))
    }

    /// Save `text` as the note of `ticket` in `installation`, replacing `version` (0: there is
    /// no note yet), by `user`. One conditional `UpdateItem`: when the note is not at `version`
    /// any more, nothing is written and the note as it is comes back.
    pub async fn save_note(
        &self,
        installation: &ZafInstallation,
        ticket: TicketId,
        text: &str,
        version: u64,
        user: Option<&str>,
    ) -> Result<Note, SaveError> {
        let now = self.clock.now_seconds();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(installation, &note_item(ticket))))
            .expression_attribute_values(":note", AttributeValue::S(text.to_owned()))
            .expression_attribute_values(":next", AttributeValue::N((version + 1).to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let condition = if version == 0 {
            "attribute_not_exists(version)"
        } else {
            update = update
                .expression_attribute_values(":version", AttributeValue::N(version.to_string()));
            "version = :version"
        };
        let set = "SET note = :note, version = :next, updated_at = :now";
        let expression = match user {
            Some(user) => {
                update =
                    update.expression_attribute_values(":user", AttributeValue::S(user.into()));
                format!("{set}, updated_by = :user")
            }
            None => format!("{set} REMOVE updated_by"),
        };
        let result = update
            .update_expression(expression)
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Note::from_item(ticket, output.attributes.as_ref())),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Err(
                    SaveError::Conflict(Box::new(Note::from_item(ticket, failed.item.as_ref()))),
                ),
                _ => Err(SaveError::Unavailable(unavailable(error))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_settings_survive_the_round_trip_through_dynamodb() {
        let settings = json!({
            "greeting": "Hello",
            "limit": 3,
            "ratio": 0.5,
            "on": true,
            "none": null,
            "tags": ["a", "b"],
            "nested": {"deep": [1, {"x": "y"}]}
        });
        assert_eq!(json_of(&attribute_of(&settings)), settings);
    }

    #[test]
    fn sets_become_lists_and_binary_values_null() {
        assert_eq!(json_of(&AttributeValue::Ss(vec!["a".into()])), json!(["a"]));
        assert_eq!(json_of(&AttributeValue::Ns(vec!["1".into()])), json!([1]));
        assert_eq!(
            json_of(&AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
                vec![1]
            ))),
            Value::Null
        );
    }

    #[test]
    fn only_a_bool_true_enables_an_installation() {
        let installation = ZafInstallation::new("acme", 1);
        let record = InstallationRecord {
            enabled: true,
            name: "Acme".into(),
            settings: Map::new(),
        };
        let mut item = record.to_item(&installation, 1);
        assert_eq!(InstallationRecord::from_item(&item), record);
        assert_eq!(item["pk"].as_s().unwrap(), "acme#1");
        assert_eq!(item["sk"].as_s().unwrap(), "installation");
        for not_true in [
            AttributeValue::S("true".into()),
            AttributeValue::N("1".into()),
            AttributeValue::Bool(false),
        ] {
            item.insert("enabled".into(), not_true.clone());
            assert!(
                !InstallationRecord::from_item(&item).enabled,
                "{not_true:?}"
            );
        }
        item.remove("enabled");
        assert!(!InstallationRecord::from_item(&item).enabled);
    }

    #[test]
    fn ticket_ids_are_plain_positive_safe_integers() {
        assert_eq!(TicketId::parse("4321").map(TicketId::get), Some(4321));
        assert_eq!(
            TicketId::parse("9007199254740991").map(TicketId::get),
            Some(MAX_TICKET_ID)
        );
        for bad in [
            "",
            "0",
            "01",
            "-1",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "abc",
            "9007199254740992",
        ] {
            assert_eq!(TicketId::parse(bad), None, "{bad:?}");
        }
    }
}
