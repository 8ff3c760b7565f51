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
//! kills it. One call takes at most [`OPERATION_TIMEOUT`], retries included. A request makes one
//! such call (rarely two), so it answers within about 4 s (8 s at most) even when the service
//! hangs; the SAM template gives each function 10 s.
//!
//! [`Aws`] is read once per execution environment; functions ask it for the clients their
//! configuration needs, and a missing AWS setting is a [`ConfigError`] at start-up only for a
//! function that needs a client.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::{BehaviorVersion, StalledStreamProtectionConfig};
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use super::env::{ConfigError, ProcessEnv, Reader, Vars};

/// Time allowed to open a connection; in-region AWS endpoints connect in milliseconds.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time allowed for one attempt of an operation (sending, waiting and reading the answer).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed for a whole operation, every retry included.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// Attempts per operation (the first one and two retries), for throttling and transient errors.
pub const MAX_ATTEMPTS: u32 = 3;

/// The timeouts above, as the SDK takes them.
pub(crate) fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK's standard retry mode (jittered exponential back-off with a retry quota, so an outage
/// stops costing retries), with short back-offs that fit in [`OPERATION_TIMEOUT`].
pub(crate) fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(1))
}

/// The AWS configuration of an execution environment: region, credentials and endpoint
/// overrides, read once. Clients are made from it on demand.
#[derive(Clone, Debug)]
pub struct Aws {
    config: Result<SdkConfig, ConfigError>,
    dynamodb_endpoint: Option<String>,
    secrets_manager_endpoint: Option<String>,
}

impl Aws {
    /// The AWS configuration from the process environment; `main` calls it once.
    pub fn from_env() -> Self {
        Self::from_vars(&ProcessEnv)
    }

    /// The AWS configuration from `vars`. A missing or malformed setting is reported when a
    /// client is asked for, so a function that needs none (local runs with inline secrets) does
    /// not need AWS settings either.
    pub fn from_vars(vars: &dyn Vars) -> Self {
        let env = Reader::new(vars);
        Self {
            config: sdk_config(&env),
            dynamodb_endpoint: env.optional("AWS_ENDPOINT_URL_DYNAMODB"),
            secrets_manager_endpoint: env.optional("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        }
    }

    /// A DynamoDB client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB` when set).
    pub fn dynamodb(&self) -> Result<aws_sdk_dynamodb::Client, ConfigError> {
        let mut builder =
            aws_sdk_dynamodb::config::Builder::from(self.config.as_ref().map_err(Clone::clone)?);
        if let Some(url) = &self.dynamodb_endpoint {
            builder =
                builder.endpoint_url(super::env::url("AWS_ENDPOINT_URL_DYNAMODB", url.clone())?);
        }
        Ok(aws_sdk_dynamodb::Client::from_conf(builder.build()))
    }

    /// A Secrets Manager client (endpoint from `AWS_ENDPOINT_URL_SECRETS_MANAGER` when set).
    pub fn secrets_manager(&self) -> Result<aws_sdk_secretsmanager::Client, ConfigError> {
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(
            self.config.as_ref().map_err(Clone::clone)?,
        );
        if let Some(url) = &self.secrets_manager_endpoint {
            builder = builder.endpoint_url(super::env::url(
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                url.clone(),
            )?);
        }
        Ok(aws_sdk_secretsmanager::Client::from_conf(builder.build()))
    }
}

/// Region, credentials, the global endpoint override, and this bundle's timeouts and retries.
fn sdk_config(env: &Reader) -> Result<SdkConfig, ConfigError> {
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
        .retry_config(retry_config())
        // Stalled-stream protection cancels a body that moves slower than 1 byte/s for 20 s;
        // every attempt here ends within ATTEMPT_TIMEOUT (2 s), so it could never act, and it
        // wraps every request and response body (about 9,000 instructions per call,
        // docs/PERFORMANCE.md, "CPU per AWS call").
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(url) = env.optional("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(super::env::url("AWS_ENDPOINT_URL", url)?);
    }
    Ok(config.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_credentials_are_named_when_a_client_is_needed() {
        let vars: Vec<(&str, String)> = vec![("AWS_REGION", "eu-west-1".into())];
        let aws = Aws::from_vars(&vars);
        assert_eq!(aws.dynamodb().unwrap_err().name, "AWS_ACCESS_KEY_ID");
        assert_eq!(aws.secrets_manager().unwrap_err().name, "AWS_ACCESS_KEY_ID");
        let none: Vec<(&str, String)> = vec![];
        assert_eq!(
            Aws::from_vars(&none).dynamodb().unwrap_err().name,
            "AWS_REGION"
        );
    }

    #[test]
    fn a_complete_environment_gives_region_timeouts_and_endpoints() {
        let vars: Vec<(&str, String)> = vec![
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "example".into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000".into()),
        ];
        let aws = Aws::from_vars(&vars);
        let config = aws.config.as_ref().unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(
            config.timeout_config().and_then(|t| t.operation_timeout()),
            Some(OPERATION_TIMEOUT)
        );
        let dynamodb = aws.dynamodb().unwrap();
        assert_eq!(
            dynamodb.config().region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
        assert!(
            !dynamodb
                .config()
                .stalled_stream_protection()
                .is_some_and(|s| s.is_enabled()),
            "no stalled-stream protection: the attempt timeout bounds every body"
        );
        assert!(aws.secrets_manager().is_ok());
    }

    #[test]
    fn a_malformed_endpoint_is_named() {
        let vars: Vec<(&str, String)> = vec![
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "example".into()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "localhost:4566".into()),
        ];
        let aws = Aws::from_vars(&vars);
        assert!(aws.dynamodb().is_ok());
        assert_eq!(
            aws.secrets_manager().unwrap_err().name,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER"
        );
    }
}
