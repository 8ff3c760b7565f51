//! Browser origins: a request from any origin but the configured help center ones is refused
//! with 403 (preflights included); for the allowed ones, tower-http's CORS layer answers
//! preflights (without authentication) and adds the CORS headers. Requests without an `Origin`
//! (servers, curl) are not browser requests and pass.

use std::convert::Infallible;
use std::time::Duration;

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use zendesk_jwt::lambda::metrics::{Metrics, Outcome};

use crate::error::TodoError;
use crate::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};

/// The API behind its origin check and CORS layer.
pub(crate) struct Cors {
    allowed: Vec<String>,
    service: BoxCloneSyncService<Request, Response<Body>, Infallible>,
    metrics: Metrics,
}

impl Cors {
    /// `api` behind the policy for `allowed_origins`.
    pub(crate) fn new(
        allowed_origins: &[String],
        api: BoxCloneSyncService<Request, Response<Body>, Infallible>,
        metrics: Metrics,
    ) -> Self {
        let service = ServiceBuilder::new()
            .layer(cors_layer(allowed_origins))
            .service(api);
        Self {
            allowed: allowed_origins.to_vec(),
            service: BoxCloneSyncService::new(service),
            metrics,
        }
    }

    /// Answer `req`. The API counts the requests it answers; this counts the others: refused
    /// origins, and preflights, which the CORS layer answers itself.
    pub(crate) async fn call(&self, req: Request) -> Response<Body> {
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            // Browsers send the origin exactly as `scheme://host[:port]` in lower case, so byte
            // equality is the whole test: look-alikes never match.
            if !self
                .allowed
                .iter()
                .any(|o| o.as_bytes() == origin.as_bytes())
            {
                tracing::debug!(?origin, "request from an origin that is not allowed");
                let error = TodoError::OriginNotAllowed;
                self.metrics.request(error.outcome());
                return error.into_response();
            }
        }
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            self.metrics.request(Outcome::Accepted);
        }
        match self.service.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// The CORS policy: exactly the configured origins, the API's methods and headers, no `*`.
fn cors_layer(allowed_origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, IDEMPOTENCY_KEY])
        .expose_headers([header::WWW_AUTHENTICATE, IDEMPOTENT_REPLAYED])
        .max_age(Duration::from_secs(600))
}
