//! Integration tests: every handler driven by API Gateway events parsed through `lambda_http`,
//! and over real HTTP through the local server, against DynamoDB Local, moto's Secrets Manager
//! and a local JWKS server. Run with `scripts/test`.

mod attacks;
mod faults;
mod fixtures;
mod hardening;
mod harness;
mod hostile_requests;
mod http;
mod jwks;
mod lifetime_keys;
mod lifetime_todos;
mod limits;
mod messaging;
mod metrics;
mod one_request;
mod prefetch;
mod properties;
mod request_ids;
mod sdk_exchange;
mod sidebar;
mod sidebar_installations;
mod sidebar_sessions;
mod template;
mod todos;
