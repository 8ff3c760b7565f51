//! The `todos` function: the help center to-do API.
//!
//! `GET /todo_items`, `POST /todo_items` (`{"value": "…"}`, optionally with an
//! `Idempotency-Key`), `DELETE /todo_items/{id}`, each with `Authorization: Bearer <help center
//! JWT>`, each answering `{"todo_items": [...]}` with the caller's items only, oldest first, as
//! one DynamoDB request leaves them. CORS is answered here, for the configured help center
//! origins only.
//!
//! [`config`] holds the settings, [`error`] every failure answer, `item` the validated values
//! and `store` the DynamoDB layout; the browser-origin policy is `zendesk_jwt::lambda::cors`.

pub mod config;
pub mod error;
mod item;
mod store;

use std::sync::Arc;

use lambda_http::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use zendesk_jwt::lambda::aws::Aws;
use zendesk_jwt::lambda::cors::{self, Cors, CorsRules};
use zendesk_jwt::lambda::env::ConfigError;
use zendesk_jwt::lambda::http::{bearer_token, json_response, read_json_object};
use zendesk_jwt::lambda::metrics::{Function, Metrics, Outcome, answer};
use zendesk_jwt::{
    AuthError, HelpCenterUser, HelpCenterVerifier, JwksCache, JwksVerifier, TokenRules,
};

pub use config::TodosConfig;
pub use error::TodoError;
pub use item::TodoItem;
pub use item::{MAX_SAFE_INTEGER, TodoId, TodoValue};
pub use store::IdempotencyKey;
pub use store::{
    Added, EXPIRED_KEYS_REMOVED_AT, IDEMPOTENCY_WINDOW, KEY_CLEANUP_BATCH, KEYS_KEPT, KeyRecords,
    MAX_ITEMS_LIMIT, MAX_KEY_RECORDS, StoreError, TodoStore,
};

/// The header a client sends with an add to make its retries safe.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The header on the answer to an add that had been made before with the same key.
pub(crate) const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The to-do API behind its CORS policy, and what it keeps between invocations.
pub struct Todos {
    cors: Cors,
    /// Where each request is counted, once, on the way out.
    metrics: Metrics,
}

/// The API itself: verification and storage.
struct Api {
    subdomain: String,
    verifier: HelpCenterVerifier,
    store: TodoStore,
}

/// A successful answer: the caller's list after the call.
struct Answer {
    status: StatusCode,
    items: Vec<TodoItem>,
    /// An add repeated with the same idempotency key: nothing changed.
    replayed: bool,
}

#[derive(Deserialize)]
struct NewItem {
    value: serde_json::Value,
}

enum Route {
    List,
    Add,
    /// `None` when the path names no valid id.
    Delete(Option<TodoId>),
}

impl Todos {
    /// Build the API over the DynamoDB client from `aws`.
    pub fn new(config: &TodosConfig, aws: &Aws) -> Result<Self, ConfigError> {
        let metrics = Metrics::stdout(config.metrics_namespace.clone(), Function::Todos);
        Self::counting_in(metrics, config, aws)
    }

    /// The same, counting requests and JWKS fetches in `metrics` (tests capture them; the local
    /// server discards them).
    pub fn counting_in(
        metrics: Metrics,
        config: &TodosConfig,
        aws: &Aws,
    ) -> Result<Self, ConfigError> {
        let jwks = Arc::new(
            JwksCache::new(
                config.jwks_url.clone(),
                config.jwks.clone(),
                config.clock.clone(),
            )
            .with_metrics(metrics.clone()),
        );
        let rules = TokenRules {
            issuer: config.issuer.clone(),
            audience: None,
            leeway: config.leeway,
        };
        let api = Arc::new(Api {
            subdomain: config.subdomain.clone(),
            verifier: HelpCenterVerifier::new(JwksVerifier::new(jwks, &rules)),
            store: TodoStore::new(
                aws.dynamodb()?,
                config.table.clone(),
                config.max_items,
                config.clock.clone(),
            )
            .counting_in(metrics.clone()),
        });
        let service = cors::api(move |req: Request| {
            let api = api.clone();
            async move { api.handle(req).await }
        });
        // The API's methods and headers, for the help center origins only.
        let rules = CorsRules {
            methods: vec![Method::GET, Method::POST, Method::DELETE],
            allow_headers: vec![header::AUTHORIZATION, header::CONTENT_TYPE, IDEMPOTENCY_KEY],
            expose_headers: vec![header::WWW_AUTHENTICATE, IDEMPOTENT_REPLAYED],
        };
        Ok(Self {
            cors: Cors::new(&config.allowed_origins, rules, service, || {
                TodoError::OriginNotAllowed.into_response()
            }),
            metrics,
        })
    }

    /// Answer one request, CORS included, and count it. Every expected failure is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.metrics.count(self.cors.call(req).await)
    }
}

impl Api {
    async fn handle(&self, req: Request) -> Response<Body> {
        answer(self.respond(&req).await.map(|answer| {
            let mut response = json_response(answer.status, &json!({ "todo_items": answer.items }));
            if answer.replayed {
                response
                    .headers_mut()
                    .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            }
            response
        }))
    }

    /// One DynamoDB request per call: each store operation answers the list as it leaves it.
    async fn respond(&self, req: &Request) -> Result<Answer, TodoError> {
        let route = route(req.method(), req.uri().path())?;
        let user = self.authenticate(req).await?;
        let owner = format!("{}#{}", self.subdomain, user.user_id);
        let answer = |status, items| Answer {
            status,
            items,
            replayed: false,
        };
        Ok(match route {
            Route::List => answer(StatusCode::OK, self.store.list(&owner).await?),
            Route::Add => {
                let value = new_item(req)?;
                let key = idempotency_key(req)?;
                let added = self.store.add(&owner, &value, key.as_ref()).await?;
                Answer {
                    replayed: added.replayed,
                    ..answer(StatusCode::CREATED, added.items)
                }
            }
            Route::Delete(None) => return Err(TodoError::NotFound("No such to-do item")),
            Route::Delete(Some(id)) => answer(StatusCode::OK, self.store.delete(&owner, id).await?),
        })
    }

    async fn authenticate(&self, req: &Request) -> Result<HelpCenterUser, TodoError> {
        let result = match bearer_token(req) {
            Some(token) => self.verifier.verify(token).await,
            None => Err(AuthError::Missing),
        };
        result.map_err(|error| match error.outcome() {
            Outcome::Refused(class) => {
                let reason = &error;
                tracing::debug!(%reason, "help center token refused");
                TodoError::Unauthenticated(class)
            }
            _ => {
                tracing::error!(%error, "help center keys are unavailable");
                TodoError::Unavailable
            }
        })
    }
}

/// Match the route on the path's last segments, so the API works under any stage or prefix.
fn route(method: &Method, path: &str) -> Result<Route, TodoError> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let last = segments.next().unwrap_or("");
    let before = segments.next().unwrap_or("");
    let collection = last == "todo_items";
    let member = before == "todo_items";
    match (method, collection, member) {
        (&Method::GET, true, _) => Ok(Route::List),
        (&Method::POST, true, _) => Ok(Route::Add),
        (&Method::DELETE, _, true) => Ok(Route::Delete(TodoId::parse(last))),
        (_, true, _) | (_, _, true) => Err(TodoError::MethodNotAllowed),
        _ => Err(TodoError::NotFound("Not found")),
    }
}

/// The new item's value from a JSON body `{"value": "…"}`.
fn new_item(req: &Request) -> Result<TodoValue, TodoError> {
    let item: NewItem = read_json_object(req)?;
    let serde_json::Value::String(value) = item.value else {
        return Err(TodoError::BadRequest("value must be a string"));
    };
    TodoValue::parse(value).map_err(TodoError::BadRequest)
}

/// The `Idempotency-Key` of an add, if the client sent one.
fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, TodoError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .map(Some)
        .ok_or(TodoError::BadRequest(
            "Idempotency-Key must be 1 to 64 letters, digits, '-', '_', '.' or ':'",
        ))
}

impl zendesk_jwt::lambda::runtime::Function for Todos {
    type Config = TodosConfig;

    fn config() -> Result<TodosConfig, ConfigError> {
        TodosConfig::from_env()
    }

    fn build(config: &TodosConfig, aws: &Aws) -> Result<Self, ConfigError> {
        Self::new(config, aws)
    }

    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send {
        Todos::handle(self, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(method: Method, path: &str) -> Result<Option<Option<u64>>, u16> {
        match route(&method, path) {
            Ok(Route::List | Route::Add) => Ok(None),
            Ok(Route::Delete(id)) => Ok(Some(id.map(TodoId::get))),
            Err(error) => Err(error.status().as_u16()),
        }
    }

    #[test]
    fn routes_match_the_last_segments_under_any_prefix() {
        assert!(matches!(
            route(&Method::GET, "/todo_items"),
            Ok(Route::List)
        ));
        assert!(matches!(
            route(&Method::GET, "/prod/todo_items/"),
            Ok(Route::List)
        ));
        assert!(matches!(
            route(&Method::POST, "/todo_items"),
            Ok(Route::Add)
        ));
        assert_eq!(routed(Method::DELETE, "/todo_items/42"), Ok(Some(Some(42))));
        assert_eq!(routed(Method::DELETE, "/todo_items/abc"), Ok(Some(None)));
        assert_eq!(routed(Method::PUT, "/todo_items"), Err(405));
        assert_eq!(routed(Method::GET, "/todo_items/42"), Err(405));
        assert_eq!(routed(Method::GET, "/other"), Err(404));
        assert_eq!(routed(Method::DELETE, "/todo_items"), Err(405));
    }

    fn post(body: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/todo_items");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn a_new_item_is_a_json_object_with_a_string_value() {
        let json = [("content-type", "application/json")];
        assert_eq!(
            new_item(&post(r#"{"value":"milk"}"#, &json))
                .unwrap()
                .as_str(),
            "milk"
        );
        for (body, status) in [
            (r#"{"value":1}"#, 400),
            (r#"{"value":"  "}"#, 400),
            (r#"["milk"]"#, 400),
            ("{}", 400),
        ] {
            let error = new_item(&post(body, &json)).unwrap_err();
            assert_eq!(error.status().as_u16(), status, "{body}");
        }
        let form = [("content-type", "application/x-www-form-urlencoded")];
        assert_eq!(
            new_item(&post("value=milk", &form)).unwrap_err().status(),
            415
        );
    }

    #[test]
    fn an_idempotency_key_is_optional_but_must_be_well_formed() {
        assert_eq!(idempotency_key(&post("", &[])).unwrap(), None);
        assert!(
            idempotency_key(&post("", &[("idempotency-key", "abc-1")]))
                .unwrap()
                .is_some()
        );
        let bad = idempotency_key(&post("", &[("idempotency-key", "a b")])).unwrap_err();
        assert_eq!(bad.status(), 400);
    }
}
