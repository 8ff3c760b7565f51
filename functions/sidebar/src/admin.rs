//! Changing the installations in the sidebar's table: what the `installations` admin command
//! (and the local development set-up) does. The function itself never writes installation
//! records. Every write is one conditional request, so two admins never undo each other's
//! change unseen: adding refuses an installation that has a record, the others one that has
//! none.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};
use zendesk_jwt::ZafInstallation;

use crate::store::{
    INSTALLATION_ITEM, InstallationRecord, PARTITION_KEY, SORT_KEY, attribute_of, key,
};

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
    /// DynamoDB refused or could not be reached.
    #[error("DynamoDB: {0}")]
    DynamoDb(String),
}

fn dynamodb<E, R>(error: SdkError<E, R>) -> AdminError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    AdminError::DynamoDb(DisplayErrorContext(error).to_string())
}

fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    error: &SdkError<E, R>,
) -> bool {
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
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
        let now = zendesk_jwt::clock::now_seconds();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record.to_item(installation, now)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if conditional_failed(&error) => {
                Err(AdminError::Exists(installation.clone()))
            }
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
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
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
            Err(error) if conditional_failed(&error) => {
                Err(AdminError::Unknown(installation.clone()))
            }
            Err(error) => Err(dynamodb(error)),
        }
    }

    /// Every installation in the table, by account and id. A scan of the whole table (notes
    /// included, filtered out by DynamoDB): its cost grows with the table, which is fine for an
    /// admin command.
    pub async fn list(&self) -> Result<Vec<ListedInstallation>, AdminError> {
        let mut listed = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#sk = :installation")
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_values(
                    ":installation",
                    AttributeValue::S(INSTALLATION_ITEM.into()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamodb)?;
            for item in output.items() {
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
            (&a.installation.subdomain, a.installation.installation_id)
                .cmp(&(&b.installation.subdomain, b.installation.installation_id))
        });
        Ok(listed)
    }
}

/// The installation a partition key (`{subdomain}#{id}`) names.
pub fn parse_key(pk: &str) -> Option<ZafInstallation> {
    let (subdomain, id) = pk.split_once('#')?;
    let id: u64 = id.parse().ok().filter(|id| *id > 0)?;
    zendesk_jwt::verify::is_subdomain(subdomain).then(|| ZafInstallation::new(subdomain, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_key_names_its_installation() {
        assert_eq!(
            parse_key("acme#360001"),
            Some(ZafInstallation::new("acme", 360_001))
        );
        for bad in [
            "acme", "acme#", "#1", "acme#0", "Acme#1", "acme#x", "acme#1#2",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }
}
