//! Local development server: the three functions on one HTTP port with the HTTP API's paths
//! (`POST /sidebar`, `/sidebar/api/…`, `/todo_items[/{id}]`, `POST /sdk/jwt`,
//! `POST /messaging/jwt`), plus development keys and token
//! minting for trying them without a Zendesk account, and a browser harness that stands in for
//! Zendesk around the help center page and the sidebar app.
//!
//! Requests are turned into the same `lambda_http::Request` the Lambda runtime builds, and the
//! same handlers (the same CORS layer for the to-do API) answer them. Each function reads the
//! configuration of its own, as the template gives each one an environment of its own
//! ([`FunctionVars`]).

pub mod dev;
pub use zendesk_jwt::devkeys;
pub mod fixtures;
pub mod harness;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda_http::http::{Response, StatusCode, header};
use lambda_http::{Body, Request};
use sdk_exchange::{ExchangeConfig, SdkExchange};
use sidebar::{Sidebar, SidebarConfig};
use todos::{Todos, TodosConfig};
use tokio::net::TcpListener;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::env::{ConfigError, ProcessEnv, Vars};
use zendesk_jwt::lambda::metrics::{Function, Metrics};

/// Largest request body the local server reads (API Gateway's own limit is far higher; the
/// functions refuse anything over 16 KiB themselves).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The three functions, as the local server holds them.
#[derive(Clone)]
pub struct Functions {
    /// `POST /sidebar` and `/sidebar/api/…`.
    pub sidebar: Arc<Sidebar>,
    /// `/todo_items` and `/todo_items/{id}`.
    pub todos: Arc<Todos>,
    /// `POST /sdk/jwt` and `/messaging/jwt`.
    pub sdk_exchange: Arc<SdkExchange>,
    /// The development JWKS, served at `/dev/jwks.json` when set (local runs only).
    pub dev_jwks: Option<Arc<String>>,
    /// The browser harness's pages (local runs with the development environment only).
    pub harness: Option<Arc<harness::Harness>>,
}

/// The variables one function of the local server sees: `{PREFIX}__{NAME}` when it is set (for
/// that function alone; empty unsets `NAME` for it), else `NAME`. On AWS each function has an
/// environment of its own (the template's); the local server has one for all three, and this is
/// how it gives each function its own: the development configuration sets the to-do API's
/// account (`ZENDESK_SUBDOMAIN`) and unsets it for the sidebar (`SIDEBAR__ZENDESK_SUBDOMAIN=`),
/// which then serves every enabled installation, as deployed in table mode.
pub(crate) struct FunctionVars<'a> {
    prefix: &'static str,
    vars: &'a dyn Vars,
}

impl<'a> FunctionVars<'a> {
    /// The sidebar's view of `vars` (`SIDEBAR__…`).
    pub fn sidebar(vars: &'a dyn Vars) -> Self {
        Self {
            prefix: "SIDEBAR",
            vars,
        }
    }

    /// The to-do API's view of `vars` (`TODOS__…`).
    pub fn todos(vars: &'a dyn Vars) -> Self {
        Self {
            prefix: "TODOS",
            vars,
        }
    }

    /// The SDK exchange's view of `vars` (`SDK_EXCHANGE__…`).
    pub fn sdk_exchange(vars: &'a dyn Vars) -> Self {
        Self {
            prefix: "SDK_EXCHANGE",
            vars,
        }
    }
}

impl Vars for FunctionVars<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .var(&format!("{}__{name}", self.prefix))
            .or_else(|| self.vars.var(name))
    }
}

impl Functions {
    /// The three functions configured from the environment exactly as their Lambda `main`s
    /// configure them, each from its own view of it ([`FunctionVars`]), except that their metric
    /// lines are not written (they are for CloudWatch; the local console stays readable).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&ProcessEnv)
    }

    /// The same from `vars`.
    pub fn from_vars(vars: &dyn Vars) -> Result<Self, ConfigError> {
        let aws = Aws::from_vars(vars);
        let quiet = Metrics::disabled;
        Ok(Self {
            sidebar: Arc::new(Sidebar::counting_in(
                quiet(Function::Sidebar),
                &SidebarConfig::from_vars(&FunctionVars::sidebar(vars))?,
                &aws,
            )?),
            todos: Arc::new(Todos::counting_in(
                quiet(Function::Todos),
                &TodosConfig::from_vars(&FunctionVars::todos(vars))?,
                &aws,
            )?),
            sdk_exchange: Arc::new(SdkExchange::counting_in(
                quiet(Function::SdkExchange),
                &ExchangeConfig::from_vars(&FunctionVars::sdk_exchange(vars))?,
                &aws,
            )?),
            dev_jwks: None,
            harness: None,
        })
    }

    /// Route one request to its function, as the HTTP API's routes do.
    pub(crate) async fn dispatch(&self, req: Request) -> Response<Body> {
        let path = req.uri().path().trim_end_matches('/');
        if path == "/sidebar" || path.starts_with("/sidebar/api/") {
            self.sidebar.handle(req).await
        } else if path == "/todo_items" || path.starts_with("/todo_items/") {
            self.todos.handle(req).await
        } else if path == "/sdk/jwt" || path == "/messaging/jwt" {
            self.sdk_exchange.handle(req).await
        } else if let (Some(jwks), "/dev/jwks.json") = (&self.dev_jwks, path) {
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::Text(jwks.as_str().to_owned()))
                .expect("static headers are valid")
        } else if let Some(response) = self.harness.as_ref().and_then(|h| h.answer(&req)) {
            response
        } else {
            plain(StatusCode::NOT_FOUND, "{\"message\":\"Not found\"}")
        }
    }
}

fn plain(status: StatusCode, json: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(json.to_owned()))
        .expect("static headers are valid")
}

/// Serve `functions` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, functions: Functions) -> std::io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let functions = functions.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let functions = functions.clone();
                async move { Ok::<_, Infallible>(answer(&functions, req).await) }
            });
            if let Err(error) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// Bind `addr` and serve in a background task; returns the bound address (port 0 picks one).
pub async fn spawn(addr: SocketAddr, functions: Functions) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(serve(listener, functions));
    Ok(local)
}

/// Whether a `Host` header names this machine: `localhost`, `127.0.0.1` (any 127.x) or `[::1]`,
/// with any port. A web page can make a browser send requests to the local server under a name
/// of its own (DNS rebinding) and mint development tokens; such requests carry that name.
pub(crate) fn is_loopback_host(host: Option<&str>) -> bool {
    let Some(host) = host.filter(|h| !h.contains('@')) else {
        return false;
    };
    let Ok(authority) = host.parse::<lambda_http::http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn answer(
    functions: &Functions,
    req: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !is_loopback_host(host) {
        tracing::debug!(?host, "request for a host that is not loopback refused");
        return hyper::Response::builder()
            .status(StatusCode::FORBIDDEN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from_static(
                b"{\"message\":\"This development server answers only requests to localhost, 127.0.0.1 or [::1]\"}",
            )))
            .expect("static response");
    }
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return hyper::Response::builder()
                .status(StatusCode::PAYLOAD_TOO_LARGE)
                .body(Full::new(Bytes::from_static(
                    b"{\"message\":\"Request body too large\"}",
                )))
                .expect("static response");
        }
    };
    // API Gateway hands text bodies over as text and everything else base64-encoded; the
    // handlers see `Body::Text` or `Body::Binary` the same way here.
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let response = functions.dispatch(Request::from_parts(parts, body)).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_sees_its_own_variables_over_the_shared_ones() {
        let vars: Vec<(&str, String)> = vec![
            ("ZENDESK_SUBDOMAIN", "example".into()),
            ("SIDEBAR__ZENDESK_SUBDOMAIN", String::new()),
            ("TODOS__TODOS_TABLE", "todos-only".into()),
        ];
        let sidebar = FunctionVars::sidebar(&vars);
        let todos = FunctionVars::todos(&vars);
        assert_eq!(sidebar.var("ZENDESK_SUBDOMAIN").as_deref(), Some(""));
        assert_eq!(todos.var("ZENDESK_SUBDOMAIN").as_deref(), Some("example"));
        assert_eq!(todos.var("TODOS_TABLE").as_deref(), Some("todos-only"));
        assert_eq!(sidebar.var("TODOS_TABLE"), None);
    }

    #[test]
    fn only_loopback_hosts_are_served() {
        for good in [
            "localhost",
            "localhost:3000",
            "LOCALHOST:3000",
            "127.0.0.1",
            "127.0.0.1:3000",
            "127.1.2.3:9",
            "[::1]:3000",
        ] {
            assert!(is_loopback_host(Some(good)), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:3000",
            "[::2]:3000",
            "",
            "user@localhost",
        ] {
            assert!(!is_loopback_host(Some(bad)), "{bad}");
        }
        assert!(!is_loopback_host(None));
    }
}
