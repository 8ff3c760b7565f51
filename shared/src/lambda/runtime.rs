//! Running a function on Lambda: lambda_http's runtime loop, with every API Gateway event made
//! safe to turn into an HTTP request first.
//!
//! lambda_http builds the request's URI from the event's raw path, raw query string, stage,
//! `Host` header (or domain name) and `X-Forwarded-Proto`, and panics ("failed to build
//! request") when they hold what a URI cannot: a `"`, `<`, a space or a control byte in the
//! query, a host that is not one, a scheme like `<x>`. API Gateway passes such requests on as
//! they came, and the release profile aborts on panic, so one request could end the execution
//! environment and cost a cold start (and fresh secret and JWKS fetches) for the next. [`run`]
//! repairs each event first ([`make_safe`]): bytes a URI cannot hold are percent-encoded (the
//! handlers decode them as before), and a host or scheme that is not one is dropped, so the
//! function answers the request like any other.
//!
//! A header whose value (or name) `http` refuses (a control byte, DEL) makes the event fail to
//! parse before any of that: the Lambda runtime would report an invocation error (a 500 from API
//! Gateway, counted by the function's Errors alarm). [`run`] parses the event itself and answers
//! such a request 400 `{"message"}` without calling the handler, logging the header's name at
//! INFO, never its value ([`EventError::HeaderNotHttp`]).

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::http::{HeaderName, HeaderValue, StatusCode, header};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Error, LambdaEvent, Request, Response, Service};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::aws::Aws;
use super::env::{ConfigError, ProcessEnv, Reader};

/// One of the bundle's Lambda functions, as [`serve`] starts it.
pub trait Function: Sized {
    /// Its configuration, read from the environment once per execution environment.
    type Config;

    /// Read the configuration from the process environment; the error names the variable.
    fn config() -> Result<Self::Config, ConfigError>;

    /// The function, ready to answer requests: its clients, caches and metrics.
    fn build(config: &Self::Config, aws: &Aws) -> Result<Self, ConfigError>;

    /// Answer one request and count it. Every expected failure is a response.
    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send;

    /// During INIT, before the first request ([`serve`], unless `PREFETCH_AT_INIT=false`): fetch
    /// what every first request needs (its secrets) and open its connections, each part
    /// concurrently. A part that fails is logged and left for the request, which fetches it
    /// again as it would have without this. The default does nothing: only the sidebar does it,
    /// because in the other bootstraps a second path to the same calls costs more size than the
    /// 2.6 MB budget leaves (docs/PERFORMANCE.md, section 10).
    fn prefetch(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// The most INIT waits for [`Function::prefetch`]: what is not fetched by then is left for the
/// first request (a hung service must not hold INIT for the SDK's whole operation timeout).
pub const PREFETCH_TIMEOUT: Duration = Duration::from_secs(1);

/// The whole of a function's `main`: logging, its configuration, the AWS clients, the function
/// built once and its first fetches made ([`Function::prefetch`]), then [`run`] with it until
/// the execution environment ends.
pub async fn serve<F: Function + Sync>() -> Result<(), Error> {
    super::logging::init();
    let prefetch = Reader::new(&ProcessEnv).parsed_or("PREFETCH_AT_INIT", true)?;
    let function = F::build(&F::config()?, &Aws::from_env())?;
    if prefetch {
        prefetch_at_init(&function).await;
    }
    run(lambda_http::service_fn(|req| async {
        Ok::<_, Error>(function.handle(req).await)
    }))
    .await
}

/// [`Function::prefetch`], for at most [`PREFETCH_TIMEOUT`].
pub async fn prefetch_at_init<F: Function>(function: &F) {
    if tokio::time::timeout(PREFETCH_TIMEOUT, function.prefetch())
        .await
        .is_err()
    {
        tracing::warn!(
            "prefetch at INIT took more than {PREFETCH_TIMEOUT:?}; the first request fetches the rest"
        );
    }
}

/// Log a part of [`Function::prefetch`] that failed (`error` says what, never a secret).
pub fn prefetch_failed(what: &str, error: &dyn std::fmt::Display) {
    tracing::warn!(%error, "prefetch at INIT: {what} failed; the first request fetches it again");
}

/// Serve `handler` on the Lambda Runtime API, as `lambda_http::run` does, with every event
/// repaired by [`make_safe`] before it becomes a request (one with a header HTTP cannot carry
/// answered 400 without the handler), and every request's log lines carrying its ids
/// ([`super::logging::with_request_ids`]).
pub async fn run<'a, S>(handler: S) -> Result<(), Error>
where
    S: Service<Request, Response = Response<Body>, Error = Error>,
    S::Future: Send + 'a,
{
    let handler = super::logging::with_request_ids(handler);
    lambda_http::lambda_runtime::run(SafeEvents(lambda_http::Adapter::from(handler))).await
}

/// Why an event does not reach the handler.
#[derive(Debug)]
pub enum EventError {
    /// 400: a header holds what HTTP cannot carry (answered without the handler).
    HeaderNotHttp(HeaderNotHttp),
    /// Not an API Gateway HTTP API event at all: reported to Lambda as an invocation error. The
    /// text says where the JSON went wrong, never what it holds.
    NotAnEvent(String),
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::HeaderNotHttp(refused) => write!(f, "{refused}"),
            EventError::NotAnEvent(problem) => write!(f, "not an HTTP API event: {problem}"),
        }
    }
}

impl std::error::Error for EventError {}

/// The headers of an event that HTTP cannot carry, by name (a name that is not one is described,
/// not quoted). Values are never kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderNotHttp {
    names: Vec<String>,
}

impl std::fmt::Display for HeaderNotHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "header {} holds what HTTP cannot carry",
            self.names.join(", ")
        )
    }
}

impl HeaderNotHttp {
    /// The names of the headers at fault (as logged).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The answer: 400 `{"message"}` naming the first header at fault.
    pub fn response(&self) -> Response<Body> {
        let first = self.names.first().map(String::as_str).unwrap_or("a");
        super::http::message_response(
            StatusCode::BAD_REQUEST,
            &format!("The request's {first} header holds characters HTTP does not allow"),
        )
    }

    /// The answer as API Gateway (HTTP API, payload 2.0) takes it from the function.
    fn api_gateway_response(&self) -> ApiGatewayV2httpResponse {
        let (parts, body) = self.response().into_parts();
        let mut answer = ApiGatewayV2httpResponse::default();
        answer.status_code = i64::from(parts.status.as_u16());
        answer.headers = parts.headers;
        answer.body = Some(body);
        answer
    }
}

/// The event as the handler sees it: parsed as the Lambda runtime parses it, repaired as [`run`]
/// repairs it. For tests and local tools that feed events to handlers; an event [`run`] answers
/// without the handler is an [`EventError`] (its 400 is [`HeaderNotHttp::response`]).
pub fn request_from_event(json: &str) -> Result<Request, EventError> {
    lambda_request(json).map(Into::into)
}

/// The event parsed and repaired, or why it cannot be handed to the handler. The parse
/// lambda_http makes (an HTTP API event, the one kind this bundle's features enable) is tried
/// first, on every ordinary event; only an event it refuses is looked at again.
fn lambda_request(json: &str) -> Result<LambdaRequest, EventError> {
    let mut payload = match serde_json::from_str::<ApiGatewayV2httpRequest>(json) {
        Ok(event) => LambdaRequest::ApiGatewayV2(event),
        Err(_) => return Err(refusal(json)),
    };
    make_safe(&mut payload);
    Ok(payload)
}

/// Why lambda_http refused the event `json`: headers HTTP cannot carry (when the event is one
/// without them), or not an event at all.
fn refusal(json: &str) -> EventError {
    let mut event: Value = match serde_json::from_str(json) {
        Ok(event) => event,
        Err(error) => return EventError::NotAnEvent(where_json_fails(&error)),
    };
    let names = remove_headers_http_refuses(&mut event);
    if names.is_empty() {
        return EventError::NotAnEvent("lambda_http does not recognise it".into());
    }
    // Parsed again from text (not from the value): one deserializer for events in the binary.
    match serde_json::from_str::<ApiGatewayV2httpRequest>(&event.to_string()) {
        Ok(_) => {
            let refused = HeaderNotHttp { names };
            tracing::info!(headers = %refused.names.join(", "), "request refused: a header holds what HTTP cannot carry");
            EventError::HeaderNotHttp(refused)
        }
        Err(_) => EventError::NotAnEvent("lambda_http does not recognise it".into()),
    }
}

/// Where a JSON document fails to parse, without quoting it.
fn where_json_fails(error: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

/// Remove from the event's `headers` every header whose name or value `http` refuses (as
/// lambda_http's parser does, which then refuses the whole event); their printable names.
fn remove_headers_http_refuses(event: &mut Value) -> Vec<String> {
    let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let value_ok = |value: &Value| match value {
        Value::String(text) => text.parse::<HeaderValue>().is_ok(),
        Value::Array(items) => items.iter().all(|item| {
            item.as_str()
                .is_some_and(|t| t.parse::<HeaderValue>().is_ok())
        }),
        _ => false,
    };
    let refused: Vec<String> = headers
        .iter()
        .filter(|(name, value)| {
            HeaderName::from_bytes(name.as_bytes()).is_err() || !value_ok(value)
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in &refused {
        headers.remove(name);
    }
    refused
        .iter()
        .map(|name| match HeaderName::from_bytes(name.as_bytes()) {
            Ok(valid) => valid.as_str().to_owned(),
            Err(_) => format!("(a name that is not one, {} bytes)", name.len()),
        })
        .collect()
}

/// A service over raw events that parses and repairs each one before passing it on, and answers
/// the ones it cannot pass on itself.
struct SafeEvents<A>(A);

/// What the function answers: the handler's response, or the one an event got without it.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer<R> {
    Handled(R),
    // Boxed: the handler's answer is the common case.
    Refused(Box<ApiGatewayV2httpResponse>),
}

/// The handler's future, or an answer already made.
enum Answering<F, R, E> {
    Handler(F),
    Ready(Option<Result<Answer<R>, E>>),
}

impl<F, R, E> Future for Answering<F, R, E>
where
    F: Future<Output = Result<R, E>> + Unpin,
    R: Unpin,
    E: Unpin,
{
    type Output = Result<Answer<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Answering::Handler(future) => Pin::new(future).poll(cx).map_ok(Answer::Handled),
            Answering::Ready(answer) => {
                Poll::Ready(answer.take().expect("a ready answer is polled once"))
            }
        }
    }
}

impl<A> Service<LambdaEvent<Box<RawValue>>> for SafeEvents<A>
where
    A: Service<LambdaEvent<LambdaRequest>>,
    A::Future: Unpin,
    A::Response: Unpin,
    A::Error: From<String> + Unpin,
{
    type Response = Answer<A::Response>;
    type Error = A::Error;
    type Future = Answering<A::Future, A::Response, A::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<Box<RawValue>>) -> Self::Future {
        match lambda_request(event.payload.get()) {
            Ok(payload) => {
                Answering::Handler(self.0.call(LambdaEvent::new(payload, event.context)))
            }
            Err(EventError::HeaderNotHttp(refused)) => Answering::Ready(Some(Ok(Answer::Refused(
                Box::new(refused.api_gateway_response()),
            )))),
            Err(error) => Answering::Ready(Some(Err(A::Error::from(error.to_string())))),
        }
    }
}

/// Repair an API Gateway (HTTP API) event so that lambda_http can build a request from it:
/// percent-encode what a URI path or query cannot hold, and drop a `Host`, domain name or
/// `X-Forwarded-Proto` that does not make a URL. Other event kinds are left alone (this bundle
/// is served by an HTTP API only).
pub(crate) fn make_safe(payload: &mut LambdaRequest) {
    #[allow(irrefutable_let_patterns)] // one variant with the features this bundle enables
    if let LambdaRequest::ApiGatewayV2(event) = payload {
        make_v2_safe(event);
    }
}

fn make_v2_safe(event: &mut ApiGatewayV2httpRequest) {
    match event.raw_path.as_deref() {
        Some(path) if path.starts_with('/') => encode_in_place(&mut event.raw_path, PATH),
        path => event.raw_path = Some(format!("/{}", encode(path.unwrap_or(""), PATH))),
    }
    encode_in_place(&mut event.request_context.stage, SEGMENT);
    encode_in_place(&mut event.raw_query_string, QUERY);
    let proto = header::HeaderName::from_static("x-forwarded-proto");
    let scheme_ok = event.headers.get(&proto).is_none_or(|v| {
        v.as_bytes().eq_ignore_ascii_case(b"https") || v.as_bytes().eq_ignore_ascii_case(b"http")
    });
    if !scheme_ok {
        event.headers.remove(&proto);
    }
    let host = event.headers.get(header::HOST).map(|v| v.to_str());
    let domain_name = event.request_context.domain_name.as_deref();
    let domain_ok = domain_name.is_none_or(is_host);
    // API Gateway sends its domain name as the Host: one check serves both.
    let host_ok = match host {
        None => true,
        Some(Ok(host)) if Some(host) == domain_name => domain_ok,
        Some(host) => host.is_ok_and(is_host),
    };
    if !domain_ok {
        event.request_context.domain_name = None;
    }
    if !host_ok {
        event.headers.remove(header::HOST);
    }
}

/// A host (with an optional port) that makes a URL, with nothing else in it. `http` and
/// `https` URLs read their host the same way, so one parse answers for both.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        && url::Url::parse(&format!("http://{host}/"))
            .is_ok_and(|url| url.host_str().is_some() && url.path() == "/")
}

/// Which bytes may stay as they are (besides ASCII letters and digits, and `%` before two hex
/// digits): RFC 3986's unreserved and sub-delimiter characters, plus those of its kind of
/// component.
const SEGMENT: &[u8] = b"-._~!$&'()*+,;=:@";
const PATH: &[u8] = b"-._~!$&'()*+,;=:@/";
const QUERY: &[u8] = b"-._~!$&'()*+,;=:@/?";

/// Whether the byte at `i` of `bytes` may stay as it is.
fn may_stay(bytes: &[u8], i: usize, keep: &[u8]) -> bool {
    let b = bytes[i];
    b.is_ascii_alphanumeric()
        || keep.contains(&b)
        || (b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
}

/// Percent-encode `value` in place, leaving it untouched (no copy) when nothing needs encoding,
/// as in every ordinary request.
fn encode_in_place(value: &mut Option<String>, keep: &[u8]) {
    if let Some(text) = value
        && !(0..text.len()).all(|i| may_stay(text.as_bytes(), i, keep))
    {
        *text = encode(text, keep);
    }
}

/// `text` with every other byte percent-encoded.
fn encode(text: &str, keep: &[u8]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if may_stay(bytes, i, keep) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(raw_path: &str, raw_query: &str, headers: Value) -> String {
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "domainPrefix": "api",
                "http": {
                    "method": "POST",
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "test"
                },
                "requestId": "id",
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": 0
            },
            "body": "token=x",
            "isBase64Encoded": false
        })
        .to_string()
    }

    /// THEN lambda_http's own conversion panics on the event as it is.
    fn lambda_http_panics_on(json: &str) -> bool {
        let json = json.to_owned();
        std::panic::catch_unwind(move || lambda_http::request::from_str(&json).map(|_| ())).is_err()
    }

    #[test]
    fn events_lambda_http_cannot_turn_into_requests_are_repaired() {
        let hostile = [
            event("/sidebar", "origin=\"x\"&app_guid=<b>", json!({})),
            event("/sidebar", "origin=a b&app_guid=\u{1}", json!({})),
            event(
                "/sidebar",
                "origin=x",
                json!({"x-forwarded-proto": "<x>", "host": "api.example.com"}),
            ),
            event("/sidebar", "origin=x", json!({"host": "1.2.3.999"})),
        ];
        for json in &hostile {
            assert!(
                lambda_http_panics_on(json),
                "lambda_http handles {json} itself now"
            );
            let request = request_from_event(json).expect("a repaired event becomes a request");
            assert_eq!(request.method(), "POST");
        }
    }

    #[test]
    fn repaired_values_decode_to_what_was_sent() {
        let json = event("/sidebar", "origin=\"x y\"&app_guid=<b>%41", json!({}));
        let request = request_from_event(&json).unwrap();
        let query = request.uri().query().unwrap();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(
            pairs,
            [
                ("origin".to_owned(), "\"x y\"".to_owned()),
                ("app_guid".to_owned(), "<b>A".to_owned())
            ]
        );
        assert_eq!(request.uri().path(), "/sidebar");
    }

    #[test]
    fn ordinary_events_are_left_as_they_are() {
        let json = event(
            "/todo_items/42",
            "a=1&b=%20x",
            json!({"host": "api.example.com", "x-forwarded-proto": "https"}),
        );
        let request = request_from_event(&json).unwrap();
        let plain = lambda_http::request::from_str(&json).unwrap();
        assert_eq!(request.uri(), plain.uri());
        assert_eq!(request.headers(), plain.headers());
    }

    #[test]
    fn an_event_with_a_header_http_cannot_carry_is_answered_400_naming_only_the_header() {
        let ordinary = event(
            "/todo_items",
            "",
            json!({"authorization": "Bearer abc.def.ghi"}),
        );
        assert!(request_from_event(&ordinary).is_ok());
        for (name, value) in [
            ("authorization", "Bearer secret-token-value\u{1}"),
            ("x-note", "line one\nline two secret-token-value"),
            ("X-Upper", "secret-token-value\u{7f}"),
            ("bad name", "secret-token-value"),
        ] {
            let json = event("/todo_items", "", json!({ name: value, "accept": "*/*" }));
            assert!(
                lambda_http::request::from_str(&json).is_err(),
                "lambda_http accepts {name:?} now"
            );
            let Err(EventError::HeaderNotHttp(refused)) = request_from_event(&json) else {
                panic!("{name:?}: not refused");
            };
            let response = refused.response();
            assert_eq!(response.status(), 400);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let Body::Text(body) = response.body() else {
                panic!("a text body")
            };
            assert!(!body.contains("secret-token-value"), "{body}");
            assert!(!format!("{refused} {refused:?}").contains("secret-token-value"));
            if name == "bad name" {
                assert_eq!(refused.names(), ["(a name that is not one, 8 bytes)"]);
            } else {
                assert_eq!(refused.names(), [name.to_ascii_lowercase()]);
                assert!(body.contains(&name.to_ascii_lowercase()), "{body}");
            }
            let answer = serde_json::to_value(refused.api_gateway_response()).unwrap();
            assert_eq!(answer["statusCode"], 400, "{answer}");
        }
    }

    #[test]
    fn what_is_not_an_event_is_reported_without_its_content() {
        for json in ["{\"secret-token-value\": ", "[\"secret-token-value\"]"] {
            match request_from_event(json) {
                Err(EventError::NotAnEvent(problem)) => {
                    assert!(!problem.contains("secret-token-value"), "{problem}")
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn a_header_is_either_carried_or_its_request_answered_400(
            name in ".{0,12}",
            value in ".{0,24}",
        ) {
            let json = event("/todo_items", "", json!({ name.clone(): value.clone() }));
            let carried = HeaderName::from_bytes(name.as_bytes()).is_ok()
                && value.parse::<HeaderValue>().is_ok();
            let made = std::panic::catch_unwind(|| request_from_event(&json));
            proptest::prop_assert!(made.is_ok(), "panicked on {}", json);
            match made.unwrap() {
                Ok(request) => {
                    proptest::prop_assert!(carried, "{:?}: {:?} was carried", name, value);
                    // A host or scheme that makes no URL is dropped by the repair.
                    let repaired = ["host", "x-forwarded-proto"].contains(&name.to_ascii_lowercase().as_str());
                    if !name.is_empty() && !repaired {
                        proptest::prop_assert!(request.headers().contains_key(name.as_str()));
                    }
                }
                Err(EventError::HeaderNotHttp(refused)) => {
                    proptest::prop_assert!(!carried, "{:?}: {:?} was refused", name, value);
                    proptest::prop_assert_eq!(refused.response().status(), 400);
                }
                Err(other) => proptest::prop_assert!(false, "{:?}: {:?}: {}", name, value, other),
            }
        }

        #[test]
        fn no_path_query_host_or_scheme_makes_a_request_fail(
            path in ".{0,40}",
            query in ".{0,40}",
            host in ".{0,20}",
            proto in ".{0,8}",
        ) {
            let mut headers = serde_json::Map::new();
            if HeaderValue::from_str(&host).is_ok() {
                headers.insert("host".into(), Value::String(host));
            }
            if HeaderValue::from_str(&proto).is_ok() {
                headers.insert("x-forwarded-proto".into(), Value::String(proto));
            }
            let json = event(&path, &query, Value::Object(headers));
            let made = std::panic::catch_unwind(|| request_from_event(&json).map(|_| ()));
            proptest::prop_assert!(made.is_ok(), "panicked on {}", json);
        }
    }
}
