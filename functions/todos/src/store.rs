//! The to-do items in DynamoDB.
//!
//! Table layout (see the README): partition key `owner` (S) = `{subdomain}#{userId}`, sort key
//! `id` (N). Each user's partition also holds one counter item with `id = 0` whose `item_count`
//! is the number of items, so the per-user cap holds under concurrent writes: adding an item is
//! one transaction (increment the counter only while it is below the cap + put the item only if
//! its id is new), deleting one is the mirror image.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use crate::item::{TodoId, TodoItem, TodoValue};

/// The sort key of the per-user counter item; real ids are never 0.
const COUNTER_ID: &str = "0";
/// Ids count milliseconds since 2024-01-01 times 4096, plus 12 random bits: ordered by creation,
/// unique across Lambda instances, and below 2^53 until the year 2092.
const ID_EPOCH_MS: u64 = 1_704_067_200_000;
/// How often a write is tried when it collides with another one on the same user.
const MAX_ATTEMPTS: u32 = 12;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The user already has the most items allowed (409).
    #[error("the item limit is reached")]
    LimitReached,
    /// DynamoDB failed or could not be reached (503).
    #[error("DynamoDB: {0}")]
    Unavailable(String),
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(error).to_string())
}

/// Reads and writes one table of to-do items.
#[derive(Clone)]
pub struct TodoStore {
    client: Client,
    table: String,
    max_items: u32,
}

impl TodoStore {
    /// A store over `table`, allowing at most `max_items` per user.
    pub fn new(client: Client, table: impl Into<String>, max_items: u32) -> Self {
        Self {
            client,
            table: table.into(),
            max_items,
        }
    }

    /// The user's items, oldest first.
    pub async fn list(&self, owner: &str) -> Result<Vec<TodoItem>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#owner = :owner AND #id > :counter")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":counter", AttributeValue::N(COUNTER_ID.to_owned()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut items = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(unavailable)?;
            match TodoItem::try_from(&item) {
                Ok(todo) => items.push(todo),
                Err(problem) => tracing::warn!(problem, "skipping a malformed to-do item"),
            }
        }
        Ok(items)
    }

    /// Add an item for `owner`, unless that would exceed the limit.
    pub async fn add(&self, owner: &str, value: &TodoValue) -> Result<TodoId, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let id = new_id();
            let count_up = Update::builder()
                .table_name(&self.table)
                .key("owner", AttributeValue::S(owner.to_owned()))
                .key("id", AttributeValue::N(COUNTER_ID.to_owned()))
                .update_expression("SET item_count = if_not_exists(item_count, :zero) + :one")
                .condition_expression("attribute_not_exists(item_count) OR item_count < :max")
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":max", AttributeValue::N(self.max_items.to_string()))
                .build()
                .expect("table, key and update expression are set");
            let put = Put::builder()
                .table_name(&self.table)
                .item("owner", AttributeValue::S(owner.to_owned()))
                .item("id", AttributeValue::N(id.to_string()))
                .item("value", AttributeValue::S(value.as_str().to_owned()))
                .condition_expression("attribute_not_exists(id)")
                .build()
                .expect("table and item are set");
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(count_up).build())
                .transact_items(TransactWriteItem::builder().put(put).build())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(id),
                Err(error) => match cancellation(&error) {
                    // The counter's condition failed: the user is at the limit.
                    Some(reasons)
                        if reasons.first().map(String::as_str)
                            == Some("ConditionalCheckFailed") =>
                    {
                        return Err(StoreError::LimitReached);
                    }
                    // The new id was taken (a collision) or another write held the counter: retry.
                    Some(_) => backoff(attempt).await,
                    None => return Err(unavailable(error)),
                },
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent writes for this user; try again".into(),
        ))
    }

    /// Delete the item `id` of `owner`; an absent item is not an error.
    pub async fn delete(&self, owner: &str, id: TodoId) -> Result<(), StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("owner", AttributeValue::S(owner.to_owned()))
                .key("id", AttributeValue::N(id.to_string()))
                .condition_expression("attribute_exists(id)")
                .build()
                .expect("table and key are set");
            let count_down = Update::builder()
                .table_name(&self.table)
                .key("owner", AttributeValue::S(owner.to_owned()))
                .key("id", AttributeValue::N(COUNTER_ID.to_owned()))
                .update_expression("SET item_count = item_count - :one")
                .condition_expression("item_count >= :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .expect("table, key and update expression are set");
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(delete).build())
                .transact_items(TransactWriteItem::builder().update(count_down).build())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) => match cancellation(&error) {
                    Some(reasons)
                        if reasons.first().map(String::as_str)
                            == Some("ConditionalCheckFailed") =>
                    {
                        // No such item (for this user): deleting it again is harmless.
                        return Ok(());
                    }
                    Some(_) => backoff(attempt).await,
                    None => return Err(unavailable(error)),
                },
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent writes for this user; try again".into(),
        ))
    }
}

/// The cancellation reason codes of a cancelled transaction, in item order (`"None"` for items
/// that were fine), or `None` when the error is something else.
fn cancellation<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancel) => Some(
            cancel
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        TransactWriteItemsError::TransactionInProgressException(_) => {
            Some(vec!["TransactionInProgress".into()])
        }
        _ => None,
    }
}

/// Jittered exponential back-off between attempts: 5 ms, 10 ms, … capped at 160 ms.
async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(5);
    let jitter = u64::from(random_u16()) % base.max(1);
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}

fn random_u16() -> u16 {
    let mut bytes = [0u8; 2];
    // The system RNG never fails on Lambda's Linux; fall back to the clock's low bits if it did.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        return nanos as u16;
    }
    u16::from_le_bytes(bytes)
}

fn new_id() -> TodoId {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let ms = now_ms.saturating_sub(ID_EPOCH_MS);
    let id = (ms << 12) | u64::from(random_u16() & 0x0fff);
    // Never the counter's id, even in the first millisecond of the epoch.
    TodoId::new(id.max(1)).expect("ids stay below 2^53 until 2092")
}

/// Item mapping for the to-do items table.
impl TryFrom<&HashMap<String, AttributeValue>> for TodoItem {
    type Error = &'static str;

    fn try_from(item: &HashMap<String, AttributeValue>) -> Result<Self, Self::Error> {
        let id = item
            .get("id")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(TodoId::new)
            .ok_or("id is not a valid item id")?;
        let value = item
            .get("value")
            .and_then(|v| v.as_s().ok())
            .ok_or("value is not a string")?;
        Ok(TodoItem {
            id,
            value: value.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_safe_integers_that_grow_with_time() {
        let first = new_id();
        std::thread::sleep(Duration::from_millis(2));
        let second = new_id();
        assert!(second.get() > first.get());
        assert!(second.get() < 1 << 53);
    }
}
