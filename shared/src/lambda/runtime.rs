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

use std::fmt::Write as _;
use std::task::{Context, Poll};

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::header;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Error, LambdaEvent, Request, Response, Service};

/// Serve `handler` on the Lambda Runtime API, as `lambda_http::run` does, with every event
/// repaired by [`make_safe`] before it becomes a request, and every request's log lines carrying
/// its ids ([`super::logging::with_request_ids`]).
pub async fn run<'a, S>(handler: S) -> Result<(), Error>
where
    S: Service<Request, Response = Response<Body>, Error = Error>,
    S::Future: Send + 'a,
{
    let handler = super::logging::with_request_ids(handler);
    lambda_http::lambda_runtime::run(SafeEvents(lambda_http::Adapter::from(handler))).await
}

/// The event as the handler sees it: parsed as the Lambda runtime parses it, repaired as [`run`]
/// repairs it. For tests and local tools that feed events to handlers.
pub fn request_from_event(json: &str) -> Result<Request, serde_json::Error> {
    let mut payload: LambdaRequest = serde_json::from_str(json)?;
    make_safe(&mut payload);
    Ok(payload.into())
}

/// A service over raw events that repairs each one before passing it on.
struct SafeEvents<A>(A);

impl<A> Service<LambdaEvent<LambdaRequest>> for SafeEvents<A>
where
    A: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = A::Response;
    type Error = A::Error;
    type Future = A::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        make_safe(&mut event.payload);
        self.0.call(event)
    }
}

/// Repair an API Gateway (HTTP API) event so that lambda_http can build a request from it:
/// percent-encode what a URI path or query cannot hold, and drop a `Host`, domain name or
/// `X-Forwarded-Proto` that does not make a URL. Other event kinds are left alone (this bundle
/// is served by an HTTP API only).
pub fn make_safe(payload: &mut LambdaRequest) {
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
    use lambda_http::http::HeaderValue;
    use serde_json::{Value, json};

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

    proptest::proptest! {
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
