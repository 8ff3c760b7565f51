//! The local server's browser harness over a throwaway development environment, and requests
//! to it as a browser sends them.

use std::sync::OnceLock;

use devserver::dev::DevEnvironment;
use devserver::harness::Harness;
use lambda_http::{Body, Request, Response};

use crate::services::unique;

/// GIVEN a harness over a throwaway development environment (its keys are removed from disk).
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = std::env::temp_dir().join(unique("harness-dev"));
        let env = DevEnvironment::load_or_create(&dir).expect("a development environment");
        std::fs::remove_dir_all(&dir).expect("the throwaway keys are removed");
        Harness::new(env)
    })
}

/// A browser's GET of `path` on the local server, with `cookie` if any.
pub fn get(path: &str, cookie: Option<&str>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .uri(path)
        .header("host", "localhost:3000");
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    builder.body(Body::Empty).unwrap()
}

/// The harness's answer to a GET of `path`; fails when the harness does not serve it.
pub fn answer(path: &str, cookie: Option<&str>) -> Response<Body> {
    harness()
        .answer(&get(path, cookie))
        .unwrap_or_else(|| panic!("the harness does not serve {path}"))
}
