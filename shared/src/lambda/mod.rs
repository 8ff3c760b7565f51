//! The plumbing around each Lambda function (and the local server that runs them): the layer
//! above [`crate::verify`].
//!
//! * [`env`]: typed configuration from environment variables; every error names its variable.
//! * [`settings`]: the verification settings every function reads the same way (leeway, JWKS).
//! * [`aws`]: the AWS SDK clients, with this bundle's timeouts and retries.
//! * [`dynamodb`]: what the stores ask of a DynamoDB error (condition failed, unavailable).
//! * [`cache`]: the refreshing cell every value fetched with a TTL is kept in.
//! * [`secrets`]: where a secret lives ([`secrets::SecretLocation`]) and a TTL cache over it.
//! * [`http`]: request bodies (size, media type, forms, JSON), bearer tokens, JSON answers.
//! * [`cors`]: the browser origins an API answers, and its CORS headers.
//! * [`logging`]: `tracing` set-up, never at TRACE, each line with its request's ids.
//! * [`metrics`]: counts as CloudWatch embedded metric format lines.
//! * [`runtime`]: the Lambda runtime loop, with events lambda_http would panic on repaired.

pub mod aws;
pub mod cache;
pub mod cors;
pub mod dynamodb;
pub mod env;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod runtime;
pub mod secrets;
pub mod settings;
