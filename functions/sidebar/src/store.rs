//! The sidebar's DynamoDB table: one partition per installation, so one account's data is never
//! in another's partition and every key is built from the session's installation.
//!
//! | `pk` (S, partition key) | `sk` (S, sort key) | attributes |
//! | --- | --- | --- |
//! | `{subdomain}#{installation_id}` | `installation` | `enabled` (BOOL), `name` (S), `settings` (M, free-form), `subdomain` (S), `installation_id` (N), `updated_at` (N) |
//! | `{subdomain}#{installation_id}` | `usage` | `note_count` (N): how many notes the installation has |
//! | `{subdomain}#{installation_id}` | `note#{ticket_id}` | `note` (S), `version` (N), `updated_at` (N), `updated_by` (S, the Zendesk user, when the session names one) |
//!
//! Installation records are written by the `installations` admin command; notes by the API,
//! each save with one conditional `UpdateItem`, a new note's together with the installation's
//! `note_count` in one transaction, so no installation keeps more than its bound of notes. The
//! function writes no attribute but [`NOTE_ATTRIBUTES`] (the template's IAM condition allows it
//! no other).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::id::MAX_SAFE_INTEGER;
use zendesk_jwt::lambda::dynamodb::{
    NO_RECORD, cancellation_reasons, error_text, item_when_condition_failed, open_connection,
    reason_is_condition_failed, reason_is_conflict,
};

/// An item as the SDK holds it.
pub use zendesk_jwt::lambda::dynamodb::Item;

/// The partition key attribute.
pub const PARTITION_KEY: &str = "pk";
/// The sort key attribute.
pub const SORT_KEY: &str = "sk";
/// The sort key of an installation's record.
pub(crate) const INSTALLATION_ITEM: &str = "installation";
/// The sort key of an installation's note count.
pub const USAGE_ITEM: &str = "usage";
/// Every attribute the function's writes name, keys included: the template's IAM condition
/// allows its `UpdateItem` exactly these, so the function can never write an installation
/// record's `enabled`, `name` or `settings`.
pub const NOTE_ATTRIBUTES: [&str; 7] = [
    PARTITION_KEY,
    SORT_KEY,
    "note",
    "version",
    "updated_at",
    "updated_by",
    "note_count",
];
/// The default bound on an installation's notes (`MAX_NOTES_PER_INSTALLATION`).
pub const DEFAULT_MAX_NOTES: u64 = 10_000;
/// How often a new note's transaction is tried when it meets another transaction on the same
/// items (DynamoDB cancels one of two at once): a few at most, then the caller is told to retry.
const TRANSACTION_ATTEMPTS: u32 = 3;
/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;
/// The largest note version a save may name: the largest integer a page's JavaScript holds
/// exactly, far beyond any count of saves, so the next version is always countable.
pub(crate) const MAX_NOTE_VERSION: u64 = MAX_SAFE_INTEGER;

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
    format!("note#{}", ticket.get())
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
    Unavailable(error_text(error))
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
    pub(crate) fn from_item(item: &Item) -> Self {
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
            AttributeValue::S(installation.subdomain().to_owned()),
        );
        item.insert(
            "installation_id".into(),
            AttributeValue::N(installation.installation_id().to_string()),
        );
        item.insert("updated_at".into(), AttributeValue::N(now.to_string()));
        item
    }
}

/// A DynamoDB value as JSON: numbers as numbers (as strings when JSON cannot hold them), sets as
/// lists; binary values, which JSON has no form for, as `null`.
pub(crate) fn json_of(value: &AttributeValue) -> Value {
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
pub(crate) fn attribute_of(value: &Value) -> AttributeValue {
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
pub(crate) type TicketId = zendesk_jwt::id::JsonSafeId;

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

/// A save that did not happen (nothing was written).
#[derive(Debug)]
pub enum SaveError {
    /// Someone saved the note meanwhile: the note as it is now.
    Conflict(Box<Note>),
    /// A new note, and the installation has as many notes as it may keep (the bound).
    LimitReached(u64),
    /// The table could not be reached.
    Unavailable(Unavailable),
}

/// What a save writes to a note's item: its update, condition and values.
struct NoteWrite {
    update: String,
    condition: &'static str,
    values: Item,
}

impl NoteWrite {
    /// Set `text` as the note replacing `version` (0: none yet), saved at `now` by `user`.
    fn new(text: &str, version: u64, user: Option<&str>, now: u64) -> Self {
        let mut values = HashMap::from([
            (":note".to_owned(), AttributeValue::S(text.to_owned())),
            (
                ":next".to_owned(),
                AttributeValue::N((version + 1).to_string()),
            ),
            (":now".to_owned(), AttributeValue::N(now.to_string())),
        ]);
        let condition = if version == 0 {
            "attribute_not_exists(version)"
        } else {
            values.insert(":version".into(), AttributeValue::N(version.to_string()));
            "version = :version"
        };
        let set = "SET note = :note, version = :next, updated_at = :now";
        let update = match user {
            Some(user) => {
                values.insert(":user".into(), AttributeValue::S(user.into()));
                format!("{set}, updated_by = :user")
            }
            None => format!("{set} REMOVE updated_by"),
        };
        Self {
            update,
            condition,
            values,
        }
    }
}

/// The sidebar's table.
pub(crate) struct SidebarStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    max_notes: u64,
    clock: Clock,
}

impl SidebarStore {
    /// The table `table`, through `client`, keeping at most `max_notes` notes per installation
    /// and dating saves by `clock`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        max_notes: u64,
        clock: Clock,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            max_notes,
            clock,
        }
    }

    /// Open the connection to the table ahead of the first request (at INIT).
    pub async fn open_connection(&self) -> Result<(), String> {
        let key = [(PARTITION_KEY, NO_RECORD), (SORT_KEY, NO_RECORD)];
        open_connection(&self.client, &self.table, &key).await
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
    /// any more, nothing is written and the note as it is comes back. A new note is written in
    /// one transaction with the installation's note count, which must stay within the bound.
    pub async fn save_note(
        &self,
        installation: &ZafInstallation,
        ticket: TicketId,
        text: &str,
        version: u64,
        user: Option<&str>,
    ) -> Result<Note, SaveError> {
        let now = self.clock.now_seconds();
        let write = NoteWrite::new(text, version, user, now);
        if version == 0 {
            return self.create_note(installation, ticket, write).await;
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(installation, &note_item(ticket))))
            .update_expression(write.update)
            .condition_expression(write.condition)
            .set_expression_attribute_values(Some(write.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Note::from_item(ticket, output.attributes.as_ref())),
            Err(error) => match item_when_condition_failed(&error) {
                Some(now) => Err(SaveError::Conflict(Box::new(Note::from_item(
                    ticket,
                    Some(&now),
                )))),
                None => Err(SaveError::Unavailable(unavailable(error))),
            },
        }
    }

    /// The first save of a note: the note (if there is none yet) and the installation's note
    /// count (if below the bound), in one `TransactWriteItems`; all or nothing.
    async fn create_note(
        &self,
        installation: &ZafInstallation,
        ticket: TicketId,
        write: NoteWrite,
    ) -> Result<Note, SaveError> {
        let note = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(installation, &note_item(ticket))))
            .update_expression(&write.update)
            .condition_expression(write.condition)
            .set_expression_attribute_values(Some(write.values.clone()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build();
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(installation, USAGE_ITEM)))
            .update_expression("SET note_count = if_not_exists(note_count, :zero) + :one")
            .condition_expression("attribute_not_exists(note_count) OR note_count < :max")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(self.max_notes.to_string()))
            .build();
        let (Ok(note), Ok(count)) = (note, count) else {
            return Err(SaveError::Unavailable(Unavailable(
                "a note's transaction lacks a field".into(),
            )));
        };
        let items = vec![
            TransactWriteItem::builder().update(note).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    let value = |name: &str| write.values.get(name).cloned();
                    let saved: Item = [
                        ("note", value(":note")),
                        ("version", value(":next")),
                        ("updated_at", value(":now")),
                        ("updated_by", value(":user")),
                    ]
                    .into_iter()
                    .filter_map(|(name, value)| Some((name.to_owned(), value?)))
                    .collect();
                    return Ok(Note::from_item(ticket, Some(&saved)));
                }
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(SaveError::Unavailable(unavailable(error)));
            };
            // One reason per item, in order: the note's, then the count's.
            let failed = |i: usize| reasons.get(i).is_some_and(reason_is_condition_failed);
            if failed(0) {
                let now = reasons[0].item();
                return Err(SaveError::Conflict(Box::new(Note::from_item(ticket, now))));
            }
            if failed(1) {
                return Err(SaveError::LimitReached(self.max_notes));
            }
            let conflicted = reasons.iter().any(reason_is_conflict);
            if !conflicted || attempt == TRANSACTION_ATTEMPTS {
                return Err(SaveError::Unavailable(unavailable(error)));
            }
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
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
        let installation = ZafInstallation::new("acme", 1).unwrap();
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
}
