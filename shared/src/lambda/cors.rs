//! Browser origins for a function's API: a request from any origin but the configured ones is
//! refused with 403 (preflights included); for the allowed ones, tower-http's CORS layer answers
//! preflights (without authentication) and adds the CORS headers. Requests without an `Origin`
//! (servers, curl, mobile apps) are not browser requests and pass. The answer is never `*` and
//! never allows credentials (cookies), so no other site can make a browser call the API as its
//! user.
//!
//! The to-do API (help center origins) and the messaging sign-in route (the customer's site)
//! each put their API behind one [`Cors`], with their own [`CorsRules`].

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use lambda_http::http::{HeaderName, HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::metrics::{Outcome, with_outcome};

/// An API behind a [`Cors`]: answers every request.
pub type Api = BoxCloneSyncService<Request, Response<Body>, Infallible>;

/// `handler` as an [`Api`].
pub fn api<F, Fut>(handler: F) -> Api
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    BoxCloneSyncService::new(tower::service_fn(move |req: Request| {
        let answer = handler(req);
        async move { Ok(answer.await) }
    }))
}

/// What an API allows its browser origins, besides the origins themselves.
#[derive(Clone, Debug)]
pub struct CorsRules {
    /// The methods a browser may use (`Access-Control-Allow-Methods`).
    pub methods: Vec<Method>,
    /// The request headers a browser may send (`Access-Control-Allow-Headers`).
    pub allow_headers: Vec<HeaderName>,
    /// The answer's headers a page may read (`Access-Control-Expose-Headers`).
    pub expose_headers: Vec<HeaderName>,
}

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// An API behind its origin check and CORS layer.
pub struct Cors {
    allowed: Vec<String>,
    service: Api,
    refusal: fn() -> Response<Body>,
}

impl Cors {
    /// `api` behind the policy for `allowed_origins` (checked with [`parse_origins`]; none: no
    /// browser may call it) and `rules`. A request from any other origin is answered with
    /// `refusal()` (the function's 403), with `Vary: Origin` added.
    pub fn new(
        allowed_origins: &[String],
        rules: CorsRules,
        api: Api,
        refusal: fn() -> Response<Body>,
    ) -> Self {
        let service = ServiceBuilder::new()
            .layer(cors_layer(allowed_origins, rules))
            .service(api);
        Self {
            allowed: allowed_origins.to_vec(),
            service: BoxCloneSyncService::new(service),
            refusal,
        }
    }

    /// Answer `req`: a refused origin with the refusal (a client error), a preflight by the CORS
    /// layer (accepted), anything else by the API.
    pub async fn call(&self, req: Request) -> Response<Body> {
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            // Browsers send the origin exactly as `scheme://host[:port]` in lower case, so byte
            // equality is the whole test: look-alikes never match.
            if !self
                .allowed
                .iter()
                .any(|o| o.as_bytes() == origin.as_bytes())
            {
                tracing::debug!(?origin, "request from an origin that is not allowed");
                let mut response = with_outcome((self.refusal)(), Outcome::ClientError);
                response
                    .headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("origin"));
                return response;
            }
        }
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let response = match self.service.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if preflight {
            with_outcome(response, Outcome::Accepted)
        } else {
            response
        }
    }
}

/// The CORS policy: exactly the configured origins, the API's methods and headers, no `*`.
fn cors_layer(allowed_origins: &[String], rules: CorsRules) -> CorsLayer {
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(rules.methods)
        .allow_headers(rules.allow_headers)
        .expose_headers(rules.expose_headers)
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Split and check a comma-separated list of origins (`scheme://host[:port]`, no path), as a
/// configuration variable gives them.
pub fn parse_origins(list: &str) -> Result<Vec<String>, String> {
    let origins: Vec<String> = list
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Err("lists no origin".into());
    }
    for origin in &origins {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| format!("{origin:?} is not an http(s) origin (`*` is never allowed)"))?;
        if rest.is_empty()
            || rest.contains(['/', '*', '?', '#', ' '])
            || HeaderValue::from_str(origin).is_err()
        {
            return Err(format!(
                "{origin:?} is not an origin like https://help.example.com"
            ));
        }
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_split_trimmed_and_checked() {
        assert_eq!(
            parse_origins(" https://acme.zendesk.com/ ,http://127.0.0.1:3000,").unwrap(),
            ["https://acme.zendesk.com", "http://127.0.0.1:3000"]
        );
        for bad in [
            "",
            " , ",
            "*",
            "https://*.zendesk.com",
            "acme.zendesk.com",
            "https://acme.zendesk.com/hc",
            "https://",
            "https://a b.com",
            "https://acme.zendesk.com?x",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad:?} was accepted");
        }
    }

    fn forbidden() -> Response<Body> {
        let mut response = Response::new(Body::Text("no".into()));
        *response.status_mut() = lambda_http::http::StatusCode::FORBIDDEN;
        response
    }

    /// GIVEN an API that answers 200 "ok", allowed from one origin with POST.
    fn cors(allowed: &[&str]) -> Cors {
        let allowed: Vec<String> = allowed.iter().map(|o| (*o).to_owned()).collect();
        Cors::new(
            &allowed,
            CorsRules {
                methods: vec![Method::POST],
                allow_headers: vec![header::AUTHORIZATION, header::CONTENT_TYPE],
                expose_headers: vec![],
            },
            api(|_req| async { Response::new(Body::Text("ok".into())) }),
            forbidden,
        )
    }

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri("/x");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[tokio::test]
    async fn the_allowed_origin_is_answered_with_its_own_name_and_others_get_the_refusal() {
        let cors = cors(&["https://shop.example"]);
        let allowed = cors
            .call(request("POST", &[("origin", "https://shop.example")]))
            .await;
        assert_eq!(allowed.status(), 200);
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://shop.example"
        );
        assert!(
            !allowed
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        );
        for other in ["https://shop.example.evil", "https://SHOP.example", "null"] {
            let refused = cors.call(request("POST", &[("origin", other)])).await;
            assert_eq!(refused.status(), 403, "{other}");
            assert_eq!(refused.headers()[header::VARY], "origin");
            assert_eq!(
                refused.extensions().get::<Outcome>(),
                Some(&Outcome::ClientError),
                "counted as a client error"
            );
            assert!(
                !refused
                    .headers()
                    .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            );
        }
        let no_origin = cors.call(request("POST", &[])).await;
        assert_eq!(no_origin.status(), 200, "servers and apps send no Origin");
    }

    #[tokio::test]
    async fn a_preflight_from_the_allowed_origin_is_answered_without_the_api() {
        let cors = cors(&["https://shop.example"]);
        let preflight = cors
            .call(request(
                "OPTIONS",
                &[
                    ("origin", "https://shop.example"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "authorization"),
                ],
            ))
            .await;
        assert_eq!(preflight.status(), 200);
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
            "POST"
        );
        assert_eq!(preflight.headers()[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(
            preflight.extensions().get::<Outcome>(),
            Some(&Outcome::Accepted),
            "counted as accepted"
        );
        assert!(!matches!(preflight.body(), Body::Text(t) if t == "ok"));
    }

    #[tokio::test]
    async fn with_no_origin_configured_every_browser_is_refused() {
        let cors = cors(&[]);
        let refused = cors
            .call(request("POST", &[("origin", "https://shop.example")]))
            .await;
        assert_eq!(refused.status(), 403);
        assert_eq!(cors.call(request("POST", &[])).await.status(), 200);
    }
}
