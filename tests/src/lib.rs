//! Support for the integration tests (`tests/integration/`), the soak program and the benchmarks:
//! the real local services and processes they run against, one fixture module per function, and
//! the helpers the tests share. Test files hold only tests and import from here.
//!
//! * [`services`]: DynamoDB Local and moto's Secrets Manager (started by `scripts/test`), AWS
//!   clients built the way the functions build theirs, tables and secrets.
//! * [`processes`]: a service process of a test's own, to freeze, kill and restart; free ports.
//! * [`jwks_server`]: a real local JWKS HTTP server that can be slow, failing or closing.
//! * [`dynamodb_proxy`]: a real proxy in front of DynamoDB Local that counts requests and can
//!   lose the answers of writes.
//! * [`events`]: API Gateway events parsed by `lambda_http`, and reading the responses.
//! * [`tokens`]: the test keys and every forged, confused or malformed token the attacks use.
//! * [`sidebar`], [`todos`], [`sdk_exchange`]: each function over real services, with what its
//!   tests send and read.
//! * [`endpoints`]: the three places a token is checked, side by side, for the attack and
//!   property tests; [`arbitrary`]: the property tests' generators.
//! * [`faults`]: timing and data checks for the tests that break the services.
//! * [`local_server`] and [`harness`]: the local server over HTTP and its browser harness.
//! * [`lifetime`]: the lifetime tests' schedules, item sizes and figures.
//! * [`http_server`]: a local HTTP server answering from a closure, under the servers above.
//!
//! A test that needs a service and cannot reach it fails with a message saying how to run the
//! tests; nothing is skipped.

pub mod arbitrary;
pub mod dynamodb_proxy;
pub mod endpoints;
pub mod events;
pub mod faults;
pub mod harness;
pub mod http_server;
pub mod jwks_server;
pub mod lifetime;
pub mod local_server;
pub mod processes;
pub mod runtime_api;
pub mod sdk_exchange;
pub mod services;
pub mod sidebar;
pub mod todos;
pub mod tokens;

/// The subdomain every test account uses.
pub const SUBDOMAIN: &str = "acme";
/// The app installation id of the sidebar tests.
pub const INSTALLATION_ID: u64 = 360_001;
/// The help center origin allowed by CORS in the tests.
pub const HELP_CENTER_ORIGIN: &str = "https://acme.zendesk.com";
