//! The local AWS services the tests run against, DynamoDB Local and moto's Secrets Manager
//! (`scripts/test` starts both and exports their endpoints), and AWS clients for them built the
//! way the functions build theirs: [`Aws::from_vars`] over the variables a function would be
//! given, with the local endpoints and dummy credentials.

use zendesk_jwt::lambda::aws::Aws;

/// The variable naming DynamoDB Local's endpoint.
pub const DYNAMODB_ENDPOINT: &str = "AWS_ENDPOINT_URL_DYNAMODB";
/// The variable naming moto's Secrets Manager endpoint.
pub const SECRETS_MANAGER_ENDPOINT: &str = "AWS_ENDPOINT_URL_SECRETS_MANAGER";

/// A setting `scripts/test` exports for the local services (an endpoint, DynamoDB Local's
/// folder, moto's program); fails the test with a message saying how to run the tests when it is
/// not set.
pub fn service_setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the integration tests need DynamoDB Local and moto's server; \
             run them with scripts/test, which starts both"
        )
    })
}

/// The AWS variables of a function running against the local services: a region, dummy
/// credentials and both endpoints (from [`DYNAMODB_ENDPOINT`] and [`SECRETS_MANAGER_ENDPOINT`]).
pub fn local_aws_vars() -> Vec<(&'static str, String)> {
    aws_vars(
        service_setting(DYNAMODB_ENDPOINT),
        service_setting(SECRETS_MANAGER_ENDPOINT),
    )
}

fn aws_vars(dynamodb: String, secrets_manager: String) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        (DYNAMODB_ENDPOINT, dynamodb),
        (SECRETS_MANAGER_ENDPOINT, secrets_manager),
    ]
}

/// The AWS configuration of a function running against the local services.
pub fn aws() -> Aws {
    Aws::from_vars(&local_aws_vars())
}

/// The same with DynamoDB at `endpoint` (a DynamoDB Local of a test's own, or a proxy).
pub fn aws_with_dynamodb_at(endpoint: &str) -> Aws {
    Aws::from_vars(&aws_vars(
        endpoint.to_owned(),
        service_setting(SECRETS_MANAGER_ENDPOINT),
    ))
}

/// The same with Secrets Manager at `endpoint` (a moto server of a test's own).
pub fn aws_with_secrets_manager_at(endpoint: &str) -> Aws {
    Aws::from_vars(&aws_vars(
        service_setting(DYNAMODB_ENDPOINT),
        endpoint.to_owned(),
    ))
}

/// A DynamoDB client for DynamoDB Local.
pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws()
        .dynamodb()
        .expect("the local AWS variables make a DynamoDB client")
}

/// A Secrets Manager client for moto's server.
pub fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    aws()
        .secrets_manager()
        .expect("the local AWS variables make a Secrets Manager client")
}

/// A unique name for a table or secret.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Create a table with string partition key `partition_key`; returns its name. Fails the test
/// if DynamoDB Local cannot be reached.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, partition_key: &str) -> String {
    let name = unique("table");
    devserver::dev::create_table(client, &name, partition_key, None)
        .await
        .unwrap_or_else(|e| panic!("DynamoDB Local refused CreateTable: {e}"));
    name
}

/// Create a secret with `value` in moto's Secrets Manager; returns its id.
pub async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = unique("secret");
    create_named_secret(client, &name, value).await;
    name
}

/// Create the secret `name` with `value`.
pub async fn create_named_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "moto refused CreateSecret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        });
}

/// Replace a secret's value.
pub async fn put_secret(client: &aws_sdk_secretsmanager::Client, id: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(value)
        .send()
        .await
        .expect("moto accepts PutSecretValue");
}

/// Secret cache times with this TTL and the default retry interval after a failed refresh (30 s).
pub fn secret_times(ttl: std::time::Duration) -> zendesk_jwt::lambda::secrets::SecretTimes {
    zendesk_jwt::lambda::secrets::SecretTimes {
        ttl,
        retry: std::time::Duration::from_secs(30),
    }
}
