//! Changing the installations in the sidebar's table: what the `installations` admin command
//! (and the local development set-up) does. The function itself never writes installation
//! records (its IAM condition allows it no record attribute). Every write is conditional, so two
//! admins never undo each other's change unseen: adding refuses an installation that has a
//! record, the others one that has none, and a purge one that is enabled. A record is an item
//! with `enabled`: anything else under its key (which the function could write) is not one.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem};
use serde_json::{Map, Value};
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::lambda::dynamodb::{
    cancellation_reasons, condition_failed, error_text, reason_is_condition_failed,
};

use crate::store::{
    DEFAULT_MAX_NOTES, INSTALLATION_ITEM, InstallationRecord, PARTITION_KEY, SORT_KEY,
    SidebarStore, attribute_of, key,
};

/// The index of installation records (partition key `subdomain`, sort key `installation_id`:
/// attributes only records have), which `list` reads instead of the whole table.
pub const INSTALLATIONS_INDEX: &str = "installations";
/// Items deleted per transaction of a purge (DynamoDB takes 100 actions; one checks the record).
const PURGE_BATCH: usize = 99;
/// A purge's condition on the record: it is not enabled (or there is none any more).
const NOT_ENABLED: &str = "attribute_not_exists(enabled) OR enabled <> :enabled";
/// The largest settings an installation may have, as JSON text: the record is read on every
/// start page (cached) and every settings call (fresh), and each 4 KB of it is a read unit.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;
/// The deepest nesting of the settings (DynamoDB takes 32 levels; the page needs few).
pub const MAX_SETTINGS_DEPTH: usize = 16;
/// The longest installation name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 256;

/// Why an admin change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// `add` of an installation that has a record already.
    #[error(
        "installation {0} is already in the table (enable, disable or set its settings instead)"
    )]
    Exists(ZafInstallation),
    /// A change of an installation that has no record.
    #[error("installation {0} is not in the table (add it first)")]
    Unknown(ZafInstallation),
    /// A purge of an installation that is enabled.
    #[error(
        "installation {0} is enabled: disable it first, and purge it once the sidebar has stopped serving it (INSTALLATION_CACHE_SECONDS, 60 s by default)"
    )]
    Enabled(ZafInstallation),
    /// The settings or the name are larger than an installation's record may hold.
    #[error("{0}")]
    TooLarge(String),
    /// DynamoDB refused or could not be reached.
    #[error("DynamoDB: {0}")]
    DynamoDb(String),
}

/// Check a record's name and settings against [`MAX_NAME_CHARS`], [`MAX_SETTINGS_BYTES`] and
/// [`MAX_SETTINGS_DEPTH`], before anything is sent.
pub(crate) fn check_record(name: &str, settings: &Map<String, Value>) -> Result<(), AdminError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AdminError::TooLarge(format!(
            "the name has {} characters; at most {MAX_NAME_CHARS}",
            name.chars().count()
        )));
    }
    let bytes = serde_json::to_string(settings).map_or(0, |text| text.len());
    if bytes > MAX_SETTINGS_BYTES {
        return Err(AdminError::TooLarge(format!(
            "the settings are {bytes} bytes of JSON; at most {MAX_SETTINGS_BYTES}"
        )));
    }
    fn depth(value: &Value) -> usize {
        match value {
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            Value::Array(list) => 1 + list.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let nested = 1 + settings.values().map(depth).max().unwrap_or(0);
    if nested > MAX_SETTINGS_DEPTH {
        return Err(AdminError::TooLarge(format!(
            "the settings nest {nested} levels deep; at most {MAX_SETTINGS_DEPTH}"
        )));
    }
    Ok(())
}

fn dynamodb<E, R>(error: SdkError<E, R>) -> AdminError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    AdminError::DynamoDb(error_text(error))
}

/// One installation as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedInstallation {
    /// Which one.
    pub installation: ZafInstallation,
    /// Its record.
    pub record: InstallationRecord,
}

/// The installations of the sidebar's table `table`.
pub struct InstallationAdmin {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl InstallationAdmin {
    /// Administer `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Add `installation` with `record`, unless it has a record (one conditional `PutItem`).
    pub async fn add(
        &self,
        installation: &ZafInstallation,
        record: &InstallationRecord,
    ) -> Result<(), AdminError> {
        check_record(&record.name, &record.settings)?;
        let now = zendesk_jwt::clock::now_seconds();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record.to_item(installation, now)))
            .condition_expression("attribute_not_exists(enabled)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Err(AdminError::Exists(installation.clone())),
            Err(error) => Err(dynamodb(error)),
        }
    }

    /// Enable or disable `installation` (one conditional `UpdateItem`); its record as it is now.
    pub async fn set_enabled(
        &self,
        installation: &ZafInstallation,
        enabled: bool,
    ) -> Result<InstallationRecord, AdminError> {
        self.update(
            installation,
            "SET enabled = :value, updated_at = :now",
            AttributeValue::Bool(enabled),
        )
        .await
    }

    /// Replace the settings of `installation` (one conditional `UpdateItem`).
    pub async fn set_settings(
        &self,
        installation: &ZafInstallation,
        settings: &Map<String, Value>,
    ) -> Result<InstallationRecord, AdminError> {
        check_record("", settings)?;
        self.update(
            installation,
            "SET settings = :value, updated_at = :now",
            attribute_of(&Value::Object(settings.clone())),
        )
        .await
    }

    /// Rename `installation` (one conditional `UpdateItem`).
    pub async fn set_name(
        &self,
        installation: &ZafInstallation,
        name: &str,
    ) -> Result<InstallationRecord, AdminError> {
        check_record(name, &Map::new())?;
        self.update(
            installation,
            "SET #name = :value, updated_at = :now",
            AttributeValue::S(name.to_owned()),
        )
        .await
    }

    async fn update(
        &self,
        installation: &ZafInstallation,
        expression: &str,
        value: AttributeValue,
    ) -> Result<InstallationRecord, AdminError> {
        let now = zendesk_jwt::clock::now_seconds();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(installation, INSTALLATION_ITEM)))
            .update_expression(expression)
            .condition_expression("attribute_exists(enabled)")
            .expression_attribute_values(":value", value)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        if expression.contains("#name") {
            update = update.expression_attribute_names("#name", "name");
        }
        match update.send().await {
            Ok(output) => Ok(InstallationRecord::from_item(
                &output.attributes.unwrap_or_default(),
            )),
            Err(error) if condition_failed(&error) => {
                Err(AdminError::Unknown(installation.clone()))
            }
            Err(error) => Err(dynamodb(error)),
        }
    }

    /// Every installation in the table, by account and id: a scan of [`INSTALLATIONS_INDEX`],
    /// which holds installation records only (never a note), so its cost grows with the number
    /// of installations alone. The index is eventually consistent: a change made a moment ago
    /// may not be listed yet.
    pub async fn list(&self) -> Result<Vec<ListedInstallation>, AdminError> {
        let mut listed = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .index_name(INSTALLATIONS_INDEX)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb)?;
            for item in output.items() {
                if item
                    .get(SORT_KEY)
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    != Some(INSTALLATION_ITEM)
                {
                    continue;
                }
                let Some(installation) = item
                    .get(PARTITION_KEY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| parse_key(pk))
                else {
                    continue;
                };
                listed.push(ListedInstallation {
                    installation,
                    record: InstallationRecord::from_item(item),
                });
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        listed.sort_by(|a, b| {
            (
                &a.installation.subdomain(),
                a.installation.installation_id(),
            )
                .cmp(&(
                    &b.installation.subdomain(),
                    b.installation.installation_id(),
                ))
        });
        Ok(listed)
    }

    /// Delete everything `installation` has in the table: its notes, its note count, then its
    /// record; how many items were deleted. Refused while it is enabled (disable it first).
    /// Each batch is one transaction of deletes with a check that the installation is still not
    /// enabled, so enabling it meanwhile stops the purge; running it again finishes it (an
    /// installation with no record any more included).
    pub async fn purge(&self, installation: &ZafInstallation) -> Result<usize, AdminError> {
        let record = SidebarStore::new(
            self.client.clone(),
            &self.table,
            DEFAULT_MAX_NOTES,
            zendesk_jwt::clock::Clock::system(),
        )
        .installation(installation)
        .await
        .map_err(|unavailable| AdminError::DynamoDb(unavailable.0))?;
        if record.as_ref().is_some_and(|record| record.enabled) {
            return Err(AdminError::Enabled(installation.clone()));
        }
        let others: Vec<String> = self
            .sort_keys(installation)
            .await?
            .into_iter()
            .filter(|sk| sk != INSTALLATION_ITEM)
            .collect();
        let not_enabled = || {
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(installation, INSTALLATION_ITEM)))
                .condition_expression(NOT_ENABLED)
                .expression_attribute_values(":enabled", AttributeValue::Bool(true))
                .build()
        };
        let mut deleted = 0;
        for batch in others.chunks(PURGE_BATCH) {
            let mut items = vec![
                TransactWriteItem::builder()
                    .condition_check(
                        not_enabled().map_err(|e| AdminError::DynamoDb(e.to_string()))?,
                    )
                    .build(),
            ];
            for sort_key in batch {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(installation, sort_key)))
                    .build()
                    .map_err(|e| AdminError::DynamoDb(e.to_string()))?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match result {
                Ok(_) => deleted += batch.len(),
                Err(error) => {
                    let check_failed = cancellation_reasons(&error)
                        .and_then(<[_]>::first)
                        .is_some_and(reason_is_condition_failed);
                    return Err(if check_failed {
                        AdminError::Enabled(installation.clone())
                    } else {
                        dynamodb(error)
                    });
                }
            }
        }
        if record.is_some() {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(installation, INSTALLATION_ITEM)))
                .condition_expression(NOT_ENABLED)
                .expression_attribute_values(":enabled", AttributeValue::Bool(true))
                .send()
                .await;
            match result {
                Ok(_) => deleted += 1,
                Err(error) if condition_failed(&error) => {
                    return Err(AdminError::Enabled(installation.clone()));
                }
                Err(error) => return Err(dynamodb(error)),
            }
        }
        Ok(deleted)
    }

    /// The sort key of every item of `installation` (one `Query` of its partition, keys only).
    async fn sort_keys(&self, installation: &ZafInstallation) -> Result<Vec<String>, AdminError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_values(":pk", AttributeValue::S(installation.to_string()))
                .projection_expression("#sk")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb)?;
            keys.extend(
                output
                    .items()
                    .iter()
                    .filter_map(|item| item.get(SORT_KEY)?.as_s().ok().cloned()),
            );
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(keys);
            }
        }
    }
}

/// The installation a partition key (`{subdomain}#{id}`) names.
pub(crate) fn parse_key(pk: &str) -> Option<ZafInstallation> {
    let (subdomain, id) = pk.split_once('#')?;
    ZafInstallation::new(subdomain, id.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_key_names_its_installation() {
        assert_eq!(
            parse_key("acme#360001"),
            Some(ZafInstallation::new("acme", 360_001).unwrap())
        );
        for bad in [
            "acme", "acme#", "#1", "acme#0", "Acme#1", "acme#x", "acme#1#2",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }
}
