//! The three functions served over real HTTP by the local server, as `scripts/dev` serves them,
//! each over its own fixture; and an HTTP client for them.

use std::net::SocketAddr;
use std::sync::Arc;

use devserver::Functions;

use crate::sdk_exchange;
use crate::sidebar::sidebar_from_secrets_manager;

/// The local server on a free port, and the fixtures of the functions it serves.
pub struct LocalServer {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// The to-do API it serves.
    pub todos: crate::todos::Fixture,
    /// The SDK exchange it serves.
    pub sdk: sdk_exchange::Fixture,
}

/// GIVEN the three functions served over HTTP on a free port.
pub async fn serve() -> LocalServer {
    let sidebar = sidebar_from_secrets_manager().await;
    let todos = crate::todos::fixture().await;
    let sdk = sdk_exchange::fixture().await;
    let functions = Functions {
        sidebar: Arc::new(sidebar),
        todos: todos.todos.clone(),
        sdk_exchange: sdk.exchange.clone(),
        dev_jwks: None,
        harness: None,
    };
    let addr = devserver::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), functions)
        .await
        .unwrap();
    LocalServer {
        base: format!("http://{addr}"),
        todos,
        sdk,
    }
}

/// An HTTP client that shows redirects instead of following them (no endpoint may redirect).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
