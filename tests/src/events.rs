//! Requests as Lambda hands them to a function: API Gateway (HTTP API, payload 2.0) events parsed
//! by `lambda_http` and repaired exactly as the functions' runtime loop does
//! (`zendesk_jwt::lambda::runtime`), and reading the responses.

use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// The folder of the committed request fixtures (`events/`).
pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// An API Gateway (HTTP API, payload 2.0) event, as Lambda receives it.
pub fn event(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    devserver::fixtures::apigw_event(method, path_and_query, headers, body)
}

/// The event as the function's runtime loop hands it to the handler.
pub fn request(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    parse(&event(method, path_and_query, headers, body))
}

/// The event with its body base64-encoded (`isBase64Encoded: true`), as API Gateway sends
/// bodies it does not treat as text, parsed by `lambda_http` as the Lambda runtime parses it.
pub fn request_base64(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request {
    use base64::Engine;
    let mut event = devserver::fixtures::apigw_event(method, path_and_query, headers, None);
    event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = Value::Bool(true);
    parse(&event)
}

/// An event (JSON) as the function's runtime loop hands it to the handler.
pub fn parse(event: &Value) -> Request {
    zendesk_jwt::lambda::runtime::request_from_event(&event.to_string())
        .expect("an HTTP API event parses")
}

/// A POST of `body` with `content_type` (no such header when `None`): as text, or
/// base64-encoded when `base64` is set or the body is not UTF-8 (API Gateway sends such bodies
/// base64-encoded only).
pub fn post(
    path: &str,
    headers: &[(&str, &str)],
    content_type: Option<&str>,
    body: &[u8],
    base64: bool,
) -> Request {
    let mut headers = headers.to_vec();
    if let Some(content_type) = content_type {
        headers.push(("content-type", content_type));
    }
    match std::str::from_utf8(body) {
        Ok(text) if !base64 => request("POST", path, &headers, Some(text)),
        _ => request_base64("POST", path, &headers, body),
    }
}

/// The POST of `body` every way API Gateway may hand it over: as text (when it is UTF-8) and
/// base64-encoded; each with whether it is base64-encoded.
pub fn posts_as_text_and_base64(
    path: &str,
    headers: &[(&str, &str)],
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<(bool, Request)> {
    let as_text = std::str::from_utf8(body).is_ok();
    [false, true]
        .into_iter()
        .filter(|base64| *base64 || as_text)
        .map(|base64| (base64, post(path, headers, content_type, body, base64)))
        .collect()
}

/// The body of a response as text.
pub fn text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The first `chars` characters of a response's body, on one line: enough to say what a
/// failure answered.
pub fn excerpt(response: &Response<Body>, chars: usize) -> String {
    text(response)
        .chars()
        .take(chars)
        .collect::<String>()
        .replace('\n', " ")
}

/// The body of a response as JSON.
pub fn json_body(response: &Response<Body>) -> Value {
    serde_json::from_str(&text(response))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(response)))
}

/// A JSON body's `message`, which every JSON error answer carries.
pub fn message(response: &Response<Body>) -> String {
    json_body(response)["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {}", text(response)))
        .to_owned()
}

/// A header of a response, as text.
pub fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}
