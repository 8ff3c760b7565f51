//! What every store asks of a DynamoDB error, written once: its text for an "unavailable" answer,
//! whether a write's condition failed (and the item as it was), and why a transaction was
//! cancelled.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};

/// One DynamoDB item: attribute names to values.
pub type Item = HashMap<String, AttributeValue>;

/// The error and its causes on one line, for the log of a 503: what failed, never data.
pub fn error_text<E, R>(error: SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    DisplayErrorContext(error).to_string()
}

/// Open the connection to DynamoDB (DNS, TCP and the TLS handshake) ahead of the first request,
/// with the cheapest request the functions' IAM policies allow: a `GetItem` of `key`, a key no
/// record has (half a read capacity unit). What it read is not looked at; an error is returned
/// as text for the log.
pub async fn open_connection(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &[(&str, &str)],
) -> Result<(), String> {
    let mut request = client.get_item().table_name(table);
    for (name, value) in key {
        request = request.key(*name, AttributeValue::S((*value).to_owned()));
    }
    request.send().await.map(|_| ()).map_err(error_text)
}

/// The key value [`open_connection`] reads: no record is ever written under it.
pub const NO_RECORD: &str = "#prefetch";

/// A conditional write's error: it says whether the condition failed.
pub trait ConditionalWrite {
    /// Whether DynamoDB refused the write because its condition failed.
    fn condition_check_failed(&self) -> bool;
}

macro_rules! conditional_write {
    ($($error:ty),*) => {$(
        impl ConditionalWrite for $error {
            fn condition_check_failed(&self) -> bool {
                self.is_conditional_check_failed_exception()
            }
        }
    )*};
}
conditional_write!(PutItemError, UpdateItemError, DeleteItemError);

/// Whether a conditional write was refused because its condition failed (not for any other
/// error).
pub fn condition_failed<E: ConditionalWrite, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .is_some_and(ConditionalWrite::condition_check_failed)
}

/// The item as it was when an `UpdateItem`'s condition failed (the request asks for it with
/// `ReturnValuesOnConditionCheckFailure::AllOld`); an item that did not exist is an empty one.
/// `None` for any other error.
pub fn item_when_condition_failed<R>(error: &SdkError<UpdateItemError, R>) -> Option<Item> {
    match error.as_service_error()? {
        UpdateItemError::ConditionalCheckFailedException(failed) => {
            Some(failed.item.clone().unwrap_or_default())
        }
        _ => None,
    }
}

/// Why a transaction was cancelled: one reason per item, in the order written. `None` when the
/// error is not a cancellation.
pub fn cancellation_reasons<R>(
    error: &SdkError<TransactWriteItemsError, R>,
) -> Option<&[CancellationReason]> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            Some(cancelled.cancellation_reasons())
        }
        _ => None,
    }
}

/// Whether a transaction's item was cancelled because its condition failed.
pub fn reason_is_condition_failed(reason: &CancellationReason) -> bool {
    reason.code() == Some("ConditionalCheckFailed")
}

/// Whether a transaction's item was cancelled because another transaction was writing it.
pub fn reason_is_conflict(reason: &CancellationReason) -> bool {
    reason.code() == Some("TransactionConflict")
}
