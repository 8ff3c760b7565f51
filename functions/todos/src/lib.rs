//! The `todos` function: the help center to-do API.
//!
//! `GET /todo_items`, `POST /todo_items` (`{"value": "…"}`), `DELETE /todo_items/{id}`, each with
//! `Authorization: Bearer <help center JWT>`, each answering `{"todo_items": [...]}` with the
//! caller's items only, oldest first. CORS is answered here, for the configured help center
//! origins only.

mod item;
mod store;

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use zendesk_jwt::env::{self, ConfigError};
use zendesk_jwt::{
    AuthError, HelpCenterVerifier, JwksCache, JwksSettings, JwksVerifier, TokenRules,
};

pub use item::{MAX_SAFE_INTEGER, MAX_VALUE_CHARS, TodoId, TodoItem, TodoValue};
pub use store::{
    Added, IDEMPOTENCY_WINDOW, IdempotencyKey, MAX_ITEMS_LIMIT, MAX_VALUE_BYTES_PER_USER,
    StoreError, TodoStore,
};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The todos function's configuration, read once from the environment.
#[derive(Clone, Debug)]
pub struct TodosConfig {
    /// `ZENDESK_SUBDOMAIN`: the account; part of every item's key.
    pub subdomain: String,
    /// `TODOS_TABLE`: the DynamoDB table name.
    pub table: String,
    /// `HELP_CENTER_JWKS_URL` (default
    /// `https://{subdomain}.zendesk.com/api/v2/help_center/integration/keys.json`).
    pub jwks_url: String,
    /// `ALLOWED_ORIGINS`: comma-separated help center origins allowed by CORS, such as
    /// `https://acme.zendesk.com,https://help.acme.com`. Never `*`.
    pub allowed_origins: Vec<String>,
    /// `MAX_ITEMS_PER_USER` (default 500, at most [`MAX_ITEMS_LIMIT`]).
    pub max_items: u32,
    /// `JWKS_COOLDOWN_SECONDS` (default 30), `JWKS_TIMEOUT_MS` (default 3000),
    /// `JWKS_MAX_BYTES` (default 65536).
    pub jwks: JwksSettings,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60).
    pub leeway: Duration,
}

impl TodosConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&env::ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = env::Reader::new(vars);
        let subdomain = env.subdomain("ZENDESK_SUBDOMAIN")?;
        let jwks_url = match env.optional("HELP_CENTER_JWKS_URL") {
            Some(url) => env::url("HELP_CENTER_JWKS_URL", url)?,
            None => {
                format!("https://{subdomain}.zendesk.com/api/v2/help_center/integration/keys.json")
            }
        };
        let allowed_origins = parse_origins(&env.required("ALLOWED_ORIGINS")?)
            .map_err(|problem| ConfigError::new("ALLOWED_ORIGINS", problem))?;
        let leeway = env.leeway()?;
        let max_items = env.parsed_or("MAX_ITEMS_PER_USER", 500)?;
        if !(1..=MAX_ITEMS_LIMIT).contains(&max_items) {
            return Err(ConfigError::new(
                "MAX_ITEMS_PER_USER",
                format!(
                    "must be between 1 and {MAX_ITEMS_LIMIT} (one user's items share one DynamoDB item)"
                ),
            ));
        }
        Ok(Self {
            subdomain,
            table: env.required("TODOS_TABLE")?,
            jwks_url,
            allowed_origins,
            max_items,
            jwks: env.jwks_settings()?,
            leeway,
        })
    }
}

/// Split and check a comma-separated list of origins (`scheme://host[:port]`, no path).
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

/// The to-do API and what it keeps between invocations.
pub struct Todos {
    subdomain: String,
    allowed_origins: Vec<String>,
    verifier: HelpCenterVerifier,
    store: TodoStore,
}

/// The header a client sends with an add to make its retries safe.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The header on the answer to an add that had been made before with the same key.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

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

impl Todos {
    /// Build the API over `dynamodb`.
    pub fn new(config: &TodosConfig, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        let jwks = Arc::new(JwksCache::new(config.jwks_url.clone(), config.jwks.clone()));
        let rules = TokenRules {
            issuer: None,
            audience: None,
            leeway: config.leeway,
        };
        Self {
            subdomain: config.subdomain.clone(),
            allowed_origins: config.allowed_origins.clone(),
            verifier: HelpCenterVerifier::new(JwksVerifier::new(jwks, &rules)),
            store: TodoStore::new(dynamodb, config.table.clone(), config.max_items),
        }
    }

    /// The verifier (and through it the JWKS cache).
    pub fn verifier(&self) -> &HelpCenterVerifier {
        &self.verifier
    }

    /// Answer one request (CORS aside, see [`service`]). Every expected failure is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        match self.respond(&req).await {
            Ok(answer) => {
                let mut response =
                    json_response(answer.status, &json!({ "todo_items": answer.items }));
                if answer.replayed {
                    response
                        .headers_mut()
                        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
                }
                response
            }
            Err(error) => error.into_response(),
        }
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
                let value = parse_new_item(req)?;
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

    async fn authenticate(&self, req: &Request) -> Result<zendesk_jwt::HelpCenterUser, TodoError> {
        let result = match bearer_token(req) {
            Some(token) => self.verifier.verify(token).await,
            None => Err(AuthError::Missing),
        };
        result.map_err(|error| {
            if error.is_unavailable() {
                tracing::error!(%error, "help center keys are unavailable");
                return TodoError::Unavailable;
            }
            let reason = &error;
            tracing::debug!(%reason, "help center token refused");
            TodoError::Unauthenticated
        })
    }
}

/// An expected failure of the to-do API; each variant says the status it answers with. The
/// display text is the `message` the client sees.
#[derive(Debug, thiserror::Error)]
pub enum TodoError {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`, whatever the precise reason.
    #[error("Invalid authentication")]
    Unauthenticated,
    /// 400: the body is not a valid item.
    #[error("{0}")]
    BadRequest(&'static str),
    /// 404: no such route or item.
    #[error("{0}")]
    NotFound(&'static str),
    /// 405.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 409: the user already has the most items allowed.
    #[error("You have reached the maximum number of to-do items; delete one first")]
    LimitReached,
    /// 409: the new item does not fit in the user's storage (the values' bytes).
    #[error("Your to-do items have reached the storage limit of 300,000 bytes; delete some first")]
    StorageFull,
    /// 422: the `Idempotency-Key` was used for another item within the last 24 hours.
    #[error("This Idempotency-Key was already used for a different item; send a new key")]
    KeyReused,
    /// 413: the body is larger than 16 KiB.
    #[error("The request body must be at most 16 KiB")]
    TooLarge,
    /// 415: the body is not JSON.
    #[error("Send the item as JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 403: the request comes from a browser origin that is not in `ALLOWED_ORIGINS`.
    #[error("Requests from this origin are not allowed")]
    OriginNotAllowed,
    /// 503: DynamoDB or the help center keys are unreachable (the cause is logged).
    #[error("The to-do list is temporarily unavailable; try again shortly")]
    Unavailable,
}

impl TodoError {
    /// The HTTP status this failure answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            TodoError::Unauthenticated => StatusCode::UNAUTHORIZED,
            TodoError::BadRequest(_) => StatusCode::BAD_REQUEST,
            TodoError::NotFound(_) => StatusCode::NOT_FOUND,
            TodoError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            TodoError::LimitReached | TodoError::StorageFull => StatusCode::CONFLICT,
            TodoError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            TodoError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            TodoError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TodoError::OriginNotAllowed => StatusCode::FORBIDDEN,
            TodoError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The response: `{"message": …}` with the status (and the challenge header for 401).
    pub fn into_response(self) -> Response<Body> {
        let mut response = json_response(self.status(), &json!({ "message": self.to_string() }));
        match self {
            TodoError::Unauthenticated => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            TodoError::OriginNotAllowed => {
                response
                    .headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("origin"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for TodoError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::LimitReached => TodoError::LimitReached,
            StoreError::BudgetExhausted => TodoError::StorageFull,
            StoreError::KeyReused => TodoError::KeyReused,
            StoreError::Unavailable(reason) => {
                tracing::error!(%reason, "the to-do store is unavailable");
                TodoError::Unavailable
            }
        }
    }
}

enum Route {
    List,
    Add,
    /// `None` when the path names no valid id.
    Delete(Option<TodoId>),
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

fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn parse_new_item(req: &Request) -> Result<TodoValue, TodoError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let essence = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(TodoError::UnsupportedMediaType);
        }
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(TodoError::TooLarge);
    }
    let bad_body = TodoError::BadRequest("Send a JSON object like {\"value\": \"Buy milk\"}");
    // serde would also read a struct from a JSON array (`["milk"]`); only an object is an item.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(bad_body);
    }
    let item: NewItem = serde_json::from_slice(body).map_err(|_| bad_body)?;
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

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body.to_string()))
        .expect("static headers are valid")
}

/// The CORS policy: exactly the configured origins, the API's methods and headers, no `*`.
pub fn cors_layer(allowed_origins: &[String]) -> CorsLayer {
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

/// The whole function as a service: requests from browser origins that are not allowed are
/// refused with 403 (preflights included), then CORS (which answers preflights itself, without
/// authentication) is in front of [`Todos::handle`]. `main` runs exactly this, and so do the
/// tests. Requests without an `Origin` (servers, curl) are not browser requests and pass.
pub fn service(
    todos: Arc<Todos>,
) -> impl tower::Service<
    Request,
    Response = Response<Body>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send {
    let allowed: Arc<[String]> = todos.allowed_origins.clone().into();
    let cors = ServiceBuilder::new()
        .layer(cors_layer(&todos.allowed_origins))
        .service(tower::service_fn(move |req: Request| {
            let todos = todos.clone();
            async move { Ok::<_, std::convert::Infallible>(todos.handle(req).await) }
        }));
    tower::service_fn(move |req: Request| {
        let cors = cors.clone();
        let allowed = allowed.clone();
        async move {
            if let Some(origin) = req.headers().get(header::ORIGIN) {
                // Browsers send the origin exactly as `scheme://host[:port]` in lower case, so
                // byte equality is the whole test: look-alikes never match.
                if !allowed.iter().any(|o| o.as_bytes() == origin.as_bytes()) {
                    tracing::debug!(?origin, "request from an origin that is not allowed");
                    return Ok(TodoError::OriginNotAllowed.into_response());
                }
            }
            cors.oneshot(req).await
        }
    })
}
