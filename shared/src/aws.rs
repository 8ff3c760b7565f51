//! The AWS SDK configuration every function (and the local server) builds its clients from:
//! timeouts and retries sized so that an unreachable or hung DynamoDB or Secrets Manager turns
//! into a 503 well inside the Lambda timeout, instead of a request that hangs until Lambda kills
//! it.
//!
//! One call to DynamoDB or Secrets Manager takes at most [`OPERATION_TIMEOUT`], retries included.
//! A request makes at most two such calls in a row (a to-do write and the list that follows), so
//! it answers within about 8 s even when the service hangs; the SAM template gives each function
//! 10 s.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};

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

/// The configuration loader with this bundle's timeouts and retries; region, credentials and
/// endpoints (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`) come from the
/// environment as usual. `main` calls `loader().load().await` once per execution environment.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config())
        .retry_config(retry_config())
}

/// The loaded configuration: [`loader`], then `load`.
pub async fn load() -> aws_config::SdkConfig {
    loader().load().await
}
