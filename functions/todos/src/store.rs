//! The to-do items in DynamoDB: one item per user, so that every API call is one request.
//!
//! Table layout (see the README): partition key `owner` (S) = `{subdomain}#{userId}`, no sort
//! key. A user's item holds
//! * `t{id}` (S): the value of the to-do `id`, and `n{id}` (N): its size in UTF-8 bytes;
//! * `item_count` (N) and `value_bytes` (N): the totals the per-user limits are checked on;
//! * `k{idempotency key}` (M: `h` the value's hash, `e` the expiry in epoch seconds): the adds
//!   made with an `Idempotency-Key` header in the last [`IDEMPOTENCY_WINDOW`], and expired ones
//!   not yet removed ([`KeyRecords`] says which are removed when).
//!
//! * list: `GetItem` (strongly consistent);
//! * add: one conditional `UpdateItem` that sets the to-do, its size, the totals and the key
//!   record, and answers the new item (`ALL_NEW`). When the condition fails, DynamoDB answers
//!   the item as it was (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), which tells why:
//!   the limit, the byte budget, a replayed key, or this very write applied by an earlier
//!   attempt whose answer was lost;
//! * delete: one conditional `UpdateItem` that removes the to-do and its size from the totals;
//!   for an absent id the failed condition answers the current list.
//!
//! A single item is updated atomically, and DynamoDB applies the updates of one item one at a
//! time, so the limits hold exactly under concurrent writes without transactions or retries.
//!
//! When an add gets no answer from DynamoDB (its attempts timed out, it was throttled, the
//! connection broke), the write may have been applied, refused, or not made. One strongly
//! consistent read of the user's item, within a short budget ([`SETTLE_TIMEOUT`]), settles what
//! it can, by the same rules as a failed condition: the add is there (201), the user is at a
//! limit (409) or the key was used (the replay's 201, or 422); otherwise the add answers 503 and
//! the client retries (with its `Idempotency-Key`, safely). Many adds for one user at once queue
//! on their one item, so this is how a refusal stays a refusal under load.
//!
//! Key records are removed by a second, occasional request after an add ([`KeyRecords::due`]),
//! in batches that always fit DynamoDB's expression limits, so a user's records stay bounded
//! however the list is used (docs/OPERATIONS.md, "DynamoDB limits").

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use zendesk_jwt::lambda::dynamodb::{Item, error_text, item_when_condition_failed};

use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::metrics::{Event, Function, Metrics};

use crate::item::{TodoId, TodoItem, TodoValue};

/// Ids count milliseconds since 2024-01-01 times 4096, plus 12 random bits: ordered by creation,
/// unique across Lambda instances, and below 2^53 until the year 2092.
const ID_EPOCH_MS: u64 = 1_704_067_200_000;
/// How often an add is tried when its new id happens to be taken already (12 random bits in the
/// same millisecond for the same user: practically never twice).
const MAX_ATTEMPTS: u32 = 4;
/// How long an `Idempotency-Key` is remembered: a retried add within this window (and within
/// the user's last [`KEYS_KEPT`] keyed adds) is answered with the list as it is, and never adds a
/// second item. Retries come seconds or minutes after the add they repeat; an hour covers them
/// and keeps every user's records few, and so every call of theirs cheap.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(60 * 60);
/// A live key record among the user's newest this many is never removed.
pub const KEYS_KEPT: usize = 64;
/// When a user's item holds more key records than this, the oldest live ones beyond
/// [`KEYS_KEPT`] are removed too: the most records an add can leave is one more than this.
pub const MAX_KEY_RECORDS: usize = 100;
/// Expired key records are removed once an add finds at least this many.
pub const EXPIRED_KEYS_REMOVED_AT: usize = 4;
/// The most records one clean-up request removes. Each adds one name to `REMOVE`, and one
/// comparison and one `AND` to the condition (2 of DynamoDB's 300 operators, about 20 bytes of
/// its 4 KB condition expression); 64 use 127 operators and about 1.3 KB.
pub const KEY_CLEANUP_BATCH: usize = 64;
/// The per-user byte budget for the items' values (UTF-8). A user's items are one DynamoDB item,
/// which DynamoDB caps at 400 KB; this leaves room for ids, sizes and key records.
pub(crate) const MAX_VALUE_BYTES_PER_USER: u64 = 300_000;
/// The largest item cap the byte budget has room for (each to-do also costs about 40 bytes of
/// attribute names and size).
pub const MAX_ITEMS_LIMIT: u32 = 1_000;
/// The budget of the one read that settles an add DynamoDB did not answer: short, so that a hung
/// DynamoDB still answers 503 within about 6 s (the add's 4 s, then this).
pub(crate) const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The user already has the most items allowed (409).
    #[error("the item limit is reached")]
    LimitReached,
    /// The new value does not fit in the user's byte budget (409).
    #[error("the byte budget is used up")]
    BudgetExhausted,
    /// The idempotency key was used for a different value within the window (422).
    #[error("the idempotency key was used for another value")]
    KeyReused,
    /// The user's item cannot grow: DynamoDB refused it as over its 400 KB item size (409).
    /// The limits keep items well below it; this answers what they cannot foresee.
    #[error("the user's item is at DynamoDB's size limit")]
    ItemFull,
    /// DynamoDB failed or could not be reached (503).
    #[error("DynamoDB: {0}")]
    Unavailable(String),
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(error_text(error))
}

/// An `Idempotency-Key`: 1 to 64 characters among letters, digits, `-`, `_`, `.` and `:`
/// (a UUID fits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validate a header value.
    pub fn parse(value: &str) -> Option<Self> {
        let valid = (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        valid.then(|| Self(value.to_owned()))
    }

    fn attribute(&self) -> String {
        format!("k{}", self.0)
    }
}

/// The result of an add.
#[derive(Debug)]
pub struct Added {
    /// The user's items after the add, oldest first.
    pub items: Vec<TodoItem>,
    /// True when the add had been made before with the same idempotency key, and this one
    /// changed nothing.
    pub replayed: bool,
}

/// Reads and writes one table of to-do lists, one item per user.
#[derive(Clone)]
pub struct TodoStore {
    client: Client,
    table: String,
    max_items: u32,
    clock: Clock,
    metrics: Metrics,
}

impl TodoStore {
    /// A store over `table`, allowing at most `max_items` per user, dating key records by
    /// `clock`.
    pub fn new(client: Client, table: impl Into<String>, max_items: u32, clock: Clock) -> Self {
        Self {
            client,
            table: table.into(),
            max_items,
            clock,
            metrics: Metrics::disabled(Function::Todos),
        }
    }

    /// The same, counting failed clean-ups in `metrics` (`KeyCleanupFailures`).
    pub fn counting_in(self, metrics: Metrics) -> Self {
        Self { metrics, ..self }
    }

    fn key(&self, owner: &str) -> (String, AttributeValue) {
        ("owner".to_owned(), AttributeValue::S(owner.to_owned()))
    }

    /// A strongly consistent `GetItem` of the user's item.
    fn get_user_item(&self, owner: &str) -> GetItemFluentBuilder {
        let (name, value) = self.key(owner);
        self.client
            .get_item()
            .table_name(&self.table)
            .key(name, value)
            .consistent_read(true)
    }

    /// The user's items, oldest first.
    pub async fn list(&self, owner: &str) -> Result<Vec<TodoItem>, StoreError> {
        let output = self
            .get_user_item(owner)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item.as_ref().map(items_of).unwrap_or_default())
    }

    /// Add an item for `owner`, unless that would exceed the item limit or the byte budget.
    /// With an idempotency key, an add already made with it (and the same value) within
    /// [`IDEMPOTENCY_WINDOW`] is not made again.
    pub async fn add(
        &self,
        owner: &str,
        value: &TodoValue,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Added, StoreError> {
        let bytes = value.as_str().len() as u64;
        if bytes > MAX_VALUE_BYTES_PER_USER {
            return Err(StoreError::BudgetExhausted);
        }
        let hash = value_hash(value.as_str());
        let now = self.clock.now_seconds();
        for _ in 0..MAX_ATTEMPTS {
            let id = new_id(&self.clock);
            let (key_name, key_value) = self.key(owner);
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(key_name, key_value)
                .expression_attribute_names("#t", format!("t{id}"))
                .expression_attribute_names("#n", format!("n{id}"))
                .expression_attribute_values(":value", AttributeValue::S(value.as_str().into()))
                .expression_attribute_values(":bytes", AttributeValue::N(bytes.to_string()))
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":max", AttributeValue::N(self.max_items.to_string()))
                .expression_attribute_values(
                    ":room",
                    AttributeValue::N((MAX_VALUE_BYTES_PER_USER - bytes).to_string()),
                )
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let mut set = "SET #t = :value, #n = :bytes, \
                item_count = if_not_exists(item_count, :zero) + :one, \
                value_bytes = if_not_exists(value_bytes, :zero) + :bytes"
                .to_owned();
            let mut condition = "attribute_not_exists(#t) \
                AND (attribute_not_exists(item_count) OR item_count < :max) \
                AND (attribute_not_exists(value_bytes) OR value_bytes <= :room)"
                .to_owned();
            if let Some(key) = idempotency {
                set.push_str(", #k = :record");
                // An expired record may be reused; a live one means the add was made already.
                condition.push_str(" AND (attribute_not_exists(#k) OR #k.#e < :now)");
                update = update
                    .expression_attribute_names("#k", key.attribute())
                    .expression_attribute_names("#e", "e")
                    .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                    .expression_attribute_values(
                        ":record",
                        AttributeValue::M(HashMap::from([
                            ("h".to_owned(), AttributeValue::S(hash.clone())),
                            (
                                "e".to_owned(),
                                AttributeValue::N((now + IDEMPOTENCY_WINDOW.as_secs()).to_string()),
                            ),
                        ])),
                    );
            }
            let result = update
                .update_expression(set)
                .condition_expression(condition)
                .send()
                .await;
            let old = match result {
                Ok(output) => {
                    let item = output.attributes.unwrap_or_default();
                    self.clean_up_keys(owner, &item, now).await;
                    return Ok(Added {
                        items: items_of(&item),
                        replayed: false,
                    });
                }
                Err(error) if item_too_large(&error) => return Err(StoreError::ItemFull),
                Err(error) => match item_when_condition_failed(&error) {
                    Some(old) => old,
                    None if outcome_unknown(&error) => {
                        // No answer: one read says whether it was applied or would be refused.
                        let unknown = |after: &str| {
                            StoreError::Unavailable(format!("{}; {after}", error_text(error)))
                        };
                        return match self.read_item(owner).await {
                            Some(now_item) => self
                                .explain(&now_item, id, value, idempotency, &hash, now)
                                .unwrap_or_else(|| {
                                    Err(unknown("the user's item read after it shows neither the add nor a limit"))
                                }),
                            None => Err(unknown("the user's item could not be read after it")),
                        };
                    }
                    None => return Err(unavailable(error)),
                },
            };
            // The condition failed: the item as it was says why.
            if let Some(answer) = self.explain(&old, id, value, idempotency, &hash, now) {
                return answer;
            }
            // Otherwise the new id was taken (or the item changed under us): a new id, again.
        }
        Err(StoreError::Unavailable(
            "no free item id after several attempts".into(),
        ))
    }

    /// What the user's item `item` says of the add of `value` as `id` (with `idempotency`, of
    /// `hash`, at `now`): applied, replayed, or refused by a limit or a reused key; `None` when
    /// it says neither (the id was taken by another add, or the add was not made yet).
    fn explain(
        &self,
        item: &Item,
        id: TodoId,
        value: &TodoValue,
        idempotency: Option<&IdempotencyKey>,
        hash: &str,
        now: u64,
    ) -> Option<Result<Added, StoreError>> {
        if item.get(&format!("t{id}")).and_then(|v| v.as_s().ok()) == Some(&value.as_str().into()) {
            // This very write was applied by an earlier attempt whose answer was lost (its retry
            // found the id taken, or no answer came at all). The add is done.
            return Some(Ok(Added {
                items: items_of(item),
                replayed: false,
            }));
        }
        if let Some(key) = idempotency
            && let Some((recorded, expires)) = key_record(item, &key.attribute())
            && expires >= now
        {
            return Some(if recorded == hash {
                Ok(Added {
                    items: items_of(item),
                    replayed: true,
                })
            } else {
                Err(StoreError::KeyReused)
            });
        }
        if number(item, "item_count").is_some_and(|count| count >= u64::from(self.max_items)) {
            return Some(Err(StoreError::LimitReached));
        }
        let bytes = value.as_str().len() as u64;
        if number(item, "value_bytes").is_some_and(|used| used > MAX_VALUE_BYTES_PER_USER - bytes) {
            return Some(Err(StoreError::BudgetExhausted));
        }
        None
    }

    /// The user's item now (strongly consistent), within [`SETTLE_TIMEOUT`]; `None` when it
    /// cannot be had in that time.
    async fn read_item(&self, owner: &str) -> Option<Item> {
        let read = self.get_user_item(owner).send();
        match tokio::time::timeout(SETTLE_TIMEOUT, read).await {
            Ok(Ok(output)) => Some(output.item.unwrap_or_default()),
            Ok(Err(error)) => {
                tracing::debug!(error = %DisplayErrorContext(error), "the user's item could not be read after an add without an answer");
                None
            }
            Err(_) => {
                tracing::debug!(
                    "the user's item could not be read in time after an add without an answer"
                );
                None
            }
        }
    }

    /// Delete the item `id` of `owner` and answer the items left; an absent item is not an
    /// error.
    pub async fn delete(&self, owner: &str, id: TodoId) -> Result<Vec<TodoItem>, StoreError> {
        let (key_name, key_value) = self.key(owner);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(key_name, key_value)
            .update_expression(
                "REMOVE #t, #n SET item_count = item_count - :one, value_bytes = value_bytes - #n",
            )
            .condition_expression("attribute_exists(#t)")
            .expression_attribute_names("#t", format!("t{id}"))
            .expression_attribute_names("#n", format!("n{id}"))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.attributes.as_ref().map(items_of).unwrap_or_default()),
            // No such item (for this user): deleting it again is harmless; the list as it is.
            Err(error) => match item_when_condition_failed(&error) {
                Some(old) => Ok(items_of(&old)),
                None => Err(unavailable(error)),
            },
        }
    }

    /// Remove the key records [`KeyRecords::due`] names, in one request of at most
    /// [`KEY_CLEANUP_BATCH`] removals. A failure only delays the clean-up to a later add, so it is
    /// not answered; unless it was a concurrent change, it is logged and counted, since the
    /// records grow until a later clean-up succeeds.
    async fn clean_up_keys(&self, owner: &str, item: &Item, now: u64) {
        let doomed = KeyRecords::of(item).due(now);
        if doomed.is_empty() {
            return;
        }
        let (key_name, key_value) = self.key(owner);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(key_name, key_value)
            .expression_attribute_names("#e", "e");
        let mut remove = Vec::with_capacity(doomed.len());
        let mut conditions = Vec::with_capacity(doomed.len());
        for (i, (name, expires)) in doomed.iter().enumerate() {
            // Only if the record is still the one seen: an add may have reused an expired key
            // meanwhile, and another clean-up may have removed it (then this one has nothing
            // left to do that the next add will not see).
            update = update
                .expression_attribute_names(format!("#k{i}"), *name)
                .expression_attribute_values(
                    format!(":e{i}"),
                    AttributeValue::N(expires.to_string()),
                );
            remove.push(format!("#k{i}"));
            conditions.push(format!("#k{i}.#e = :e{i}"));
        }
        let result = update
            .update_expression(format!("REMOVE {}", remove.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        match result {
            Ok(_) => tracing::debug!(removed = doomed.len(), "idempotency key records cleaned up"),
            Err(error) if item_when_condition_failed(&error).is_some() => {
                tracing::debug!(
                    "idempotency key clean-up met a concurrent change; a later add retries it"
                );
            }
            Err(error) => {
                self.metrics.event(Event::KeyCleanupFailed);
                tracing::warn!(error = %DisplayErrorContext(error), records = doomed.len(), "idempotency key clean-up failed; a later add retries it");
            }
        }
    }
}

/// A user's idempotency key records, as an item holds them: each record's attribute name and
/// expiry.
pub struct KeyRecords<'a> {
    records: Vec<(&'a str, u64)>,
}

impl<'a> KeyRecords<'a> {
    /// The key records of `item`.
    pub fn of(item: &'a Item) -> Self {
        let records = item
            .iter()
            .filter(|(name, _)| name.starts_with('k'))
            .filter_map(|(name, value)| {
                let expires = value.as_m().ok()?.get("e")?.as_n().ok()?.parse().ok()?;
                Some((name.as_str(), expires))
            })
            .collect();
        Self { records }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records to remove at `now`, oldest first, at most [`KEY_CLEANUP_BATCH`]: nothing
    /// while fewer than [`EXPIRED_KEYS_REMOVED_AT`] have expired and there are at most
    /// [`MAX_KEY_RECORDS`]; otherwise every expired record, then the live ones beyond the newest
    /// [`KEYS_KEPT`] (those only when there are more than [`MAX_KEY_RECORDS`]). A live record
    /// among the newest [`KEYS_KEPT`] is never due.
    pub fn due(&self, now: u64) -> Vec<(&'a str, u64)> {
        let expired = self.records.iter().filter(|(_, e)| *e < now).count();
        let crowded = self.records.len() > MAX_KEY_RECORDS;
        if expired < EXPIRED_KEYS_REMOVED_AT && !crowded {
            return Vec::new();
        }
        let mut newest_first = self.records.clone();
        newest_first.sort_by_key(|(name, expires)| (std::cmp::Reverse(*expires), *name));
        let mut due: Vec<(&str, u64)> = newest_first
            .iter()
            .enumerate()
            .filter(|(rank, (_, expires))| *expires < now || (crowded && *rank >= KEYS_KEPT))
            .map(|(_, record)| *record)
            .collect();
        due.reverse();
        due.truncate(KEY_CLEANUP_BATCH);
        due
    }
}

/// Whether DynamoDB refused a write because the item would be larger than it allows (400 KB).
fn item_too_large<R>(error: &SdkError<UpdateItemError, R>) -> bool {
    error.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationException")
            && e.message().is_some_and(|m| m.contains("Item size"))
    })
}

/// Whether DynamoDB may have applied a write it did not answer: no answer came (timeouts, a
/// broken connection), or the answer says nothing of the write (throttling, DynamoDB's own
/// failures).
fn outcome_unknown<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionConflictException"
            )
        ),
        _ => false,
    }
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The value hash and expiry of the key record `name`.
fn key_record(item: &Item, name: &str) -> Option<(String, u64)> {
    let record = item.get(name)?.as_m().ok()?;
    let hash = record.get("h")?.as_s().ok()?.clone();
    let expires = record.get("e")?.as_n().ok()?.parse().ok()?;
    Some((hash, expires))
}

/// The to-dos of a user's item, oldest first (ids grow with time).
fn items_of(item: &Item) -> Vec<TodoItem> {
    let mut items: Vec<TodoItem> = item
        .iter()
        .filter_map(|(name, value)| {
            let id = name.strip_prefix('t')?;
            let id = TodoId::parse(id)?;
            match value.as_s() {
                Ok(value) => Some(TodoItem {
                    id,
                    value: value.clone(),
                }),
                Err(_) => {
                    tracing::warn!(%id, "skipping a malformed to-do item");
                    None
                }
            }
        })
        .collect();
    items.sort_unstable_by_key(|item| item.id);
    items
}

/// The first 16 bytes of the value's SHA-256, in hex: enough to tell a retry from a different
/// add reusing its key.
fn value_hash(value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_u16(clock: &Clock) -> u16 {
    let mut bytes = [0u8; 2];
    // The system RNG never fails on Lambda's Linux; fall back to the clock's low bits if it did.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return clock.now_millis() as u16;
    }
    u16::from_le_bytes(bytes)
}

fn new_id(clock: &Clock) -> TodoId {
    let ms = clock.now_millis().saturating_sub(ID_EPOCH_MS);
    let id = (ms << 12) | u64::from(random_u16(clock) & 0x0fff);
    TodoId::new(id.max(1)).expect("ids stay below 2^53 until 2092")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_safe_integers_that_grow_with_time() {
        let clock = Clock::system();
        let first = new_id(&clock);
        std::thread::sleep(Duration::from_millis(2));
        let second = new_id(&clock);
        assert!(second.get() > first.get());
        assert!(second.get() < 1 << 53);
    }

    #[test]
    fn a_users_item_gives_its_to_dos_oldest_first_and_nothing_else() {
        let item: Item = HashMap::from([
            ("owner".into(), AttributeValue::S("acme#1".into())),
            ("t30".into(), AttributeValue::S("third".into())),
            ("n30".into(), AttributeValue::N("5".into())),
            ("t4".into(), AttributeValue::S("first".into())),
            ("t12".into(), AttributeValue::S("second".into())),
            ("item_count".into(), AttributeValue::N("3".into())),
            ("value_bytes".into(), AttributeValue::N("16".into())),
            ("kabc".into(), AttributeValue::M(HashMap::new())),
            ("tx".into(), AttributeValue::S("not a to-do".into())),
            ("t7".into(), AttributeValue::N("7".into())),
        ]);
        let values: Vec<(u64, String)> = items_of(&item)
            .into_iter()
            .map(|item| (item.id.get(), item.value))
            .collect();
        assert_eq!(
            values,
            [
                (4, "first".to_owned()),
                (12, "second".to_owned()),
                (30, "third".to_owned())
            ]
        );
    }

    #[test]
    fn idempotency_keys_are_short_plain_tokens() {
        assert!(IdempotencyKey::parse("0b7e2c1a-4f7d-4d7e-9d1b-2f0e5b1c9a77").is_some());
        assert!(IdempotencyKey::parse("add:42.1_x").is_some());
        for bad in ["", " ", "a b", "ключ", "a\"b", &"x".repeat(65)] {
            assert_eq!(IdempotencyKey::parse(bad), None, "{bad:?} was accepted");
        }
    }

    /// An item holding key records `k0`, `k1`, … expiring at `expiries`.
    fn records(expiries: &[u64]) -> Item {
        expiries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let record = HashMap::from([
                    ("h".to_owned(), AttributeValue::S("00".into())),
                    ("e".to_owned(), AttributeValue::N(e.to_string())),
                ]);
                (format!("k{i:03}"), AttributeValue::M(record))
            })
            .collect()
    }

    #[test]
    fn a_few_expired_records_wait_and_more_are_removed_oldest_first() {
        let now = 10_000;
        let item = records(&[now - 5, now - 1, now - 3, now + 10]);
        assert!(KeyRecords::of(&item).due(now).is_empty(), "3 expired wait");
        let item = records(&[now - 5, now - 1, now - 3, now + 10, now - 9]);
        let due = KeyRecords::of(&item).due(now);
        let expiries: Vec<u64> = due.iter().map(|(_, e)| *e).collect();
        assert_eq!(expiries, [now - 9, now - 5, now - 3, now - 1]);
        assert_eq!(KeyRecords::of(&item).len(), 5);
    }

    #[test]
    fn live_records_are_kept_up_to_the_newest_64_and_removed_only_past_100() {
        let now = 10_000;
        let live: Vec<u64> = (0..100).map(|i| now + 1 + i).collect();
        assert!(KeyRecords::of(&records(&live)).due(now).is_empty());
        let crowded: Vec<u64> = (0..101).map(|i| now + 1 + i).collect();
        let item = records(&crowded);
        let due = KeyRecords::of(&item).due(now);
        assert_eq!(due.len(), 101 - KEYS_KEPT);
        assert!(
            due.iter()
                .all(|(_, e)| *e < now + 1 + 101 - KEYS_KEPT as u64),
            "only the oldest are due"
        );
    }

    #[test]
    fn one_clean_up_removes_at_most_a_batch_and_the_oldest_first() {
        let now = 100_000;
        let expired: Vec<u64> = (0..300).map(|i| now - 1 - i).collect();
        let item = records(&expired);
        let due = KeyRecords::of(&item).due(now);
        assert_eq!(due.len(), KEY_CLEANUP_BATCH);
        assert!(
            due.iter()
                .all(|(_, e)| *e < now - 300 + KEY_CLEANUP_BATCH as u64)
        );
    }

    #[test]
    fn the_value_hash_tells_values_apart() {
        assert_eq!(value_hash("milk"), value_hash("milk"));
        assert_ne!(value_hash("milk"), value_hash("milk "));
        assert_eq!(value_hash("milk").len(), 32);
    }
}
