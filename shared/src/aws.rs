//! The AWS SDK configuration every function (and the local server) builds its clients from.
//!
//! On Lambda the configuration is all in the environment: `AWS_REGION` and the execution role's
//! credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). It is read
//! here directly; aws-config's provider chain (profiles, SSO, STS, IMDS) is never used on Lambda
//! and would add about 1 MB to every bootstrap. Endpoints can be overridden with the SDK's
//! standard variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`), as the local services need.
//!
//! Timeouts and retries are sized so that an unreachable or hung DynamoDB or Secrets Manager
//! turns into a 503 well inside the Lambda timeout, instead of a request that hangs until Lambda
//! kills it. One call takes at most [`OPERATION_TIMEOUT`], retries included. A request makes at
//! most two such calls in a row (a to-do write and the list that follows), so it answers within
//! about 8 s even when the service hangs; the SAM template gives each function 10 s.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::env::{ConfigError, ProcessEnv, Reader, Vars};

/// Time allowed to open a connection; in-region AWS endpoints connect in milliseconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time allowed for one attempt of an operation (sending, waiting and reading the answer).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed for a whole operation, every retry included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// Attempts per operation (the first one and two retries), for throttling and transient errors.
pub const MAX_ATTEMPTS: u32 = 3;

/// The timeouts above, as the SDK takes them.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK's standard retry mode (jittered exponential back-off with a retry quota, so an outage
/// stops costing retries), with short back-offs that fit in [`OPERATION_TIMEOUT`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(1))
}

/// The AWS configuration from the process environment; `main` calls it once per execution
/// environment.
pub fn from_env() -> Result<SdkConfig, ConfigError> {
    from_vars(&ProcessEnv)
}

/// The AWS configuration from `vars`: region, credentials, the global endpoint override, and
/// this bundle's timeouts and retries.
pub fn from_vars(vars: &dyn Vars) -> Result<SdkConfig, ConfigError> {
    let env = Reader::new(vars);
    let region = match env.optional("AWS_REGION") {
        Some(region) => region,
        None => env.required("AWS_DEFAULT_REGION").map_err(|_| {
            ConfigError::new(
                "AWS_REGION",
                "is required (Lambda sets it; set it for local runs)",
            )
        })?,
    };
    let credentials = Credentials::new(
        env.required("AWS_ACCESS_KEY_ID")?,
        env.required("AWS_SECRET_ACCESS_KEY")?,
        env.optional("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .timeout_config(timeout_config())
        .retry_config(retry_config());
    if let Some(url) = env.optional("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(crate::env::url("AWS_ENDPOINT_URL", url)?);
    }
    Ok(config.build())
}

/// A DynamoDB client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB` when set).
pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let builder = aws_sdk_dynamodb::config::Builder::from(config);
    let builder = match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(url) if !url.trim().is_empty() => builder.endpoint_url(url.trim()),
        _ => builder,
    };
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// A Secrets Manager client (endpoint from `AWS_ENDPOINT_URL_SECRETS_MANAGER` when set).
pub fn secrets_manager(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let builder = aws_sdk_secretsmanager::config::Builder::from(config);
    let builder = match std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
        Ok(url) if !url.trim().is_empty() => builder.endpoint_url(url.trim()),
        _ => builder,
    };
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_credentials_are_named() {
        let vars: Vec<(&str, String)> = vec![("AWS_REGION", "eu-west-1".into())];
        let error = from_vars(&vars).unwrap_err();
        assert_eq!(error.name, "AWS_ACCESS_KEY_ID");
    }

    #[test]
    fn a_complete_environment_gives_region_and_timeouts() {
        let vars: Vec<(&str, String)> = vec![
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "example".into()),
        ];
        let config = from_vars(&vars).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(
            config.timeout_config().and_then(|t| t.operation_timeout()),
            Some(OPERATION_TIMEOUT)
        );
    }
}
