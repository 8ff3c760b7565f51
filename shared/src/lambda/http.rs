//! The HTTP plumbing every function uses: body limits, media types, form and JSON bodies, bearer
//! tokens, JSON answers. What status a body problem answers is each function's decision, made
//! visibly in its own error type from [`BodyError`].

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request body any function accepts: a ZAF token, a user token or a to-do item is a few
/// KiB at most.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What a client is told when its body is over [`MAX_BODY_BYTES`] (413).
pub const TOO_LARGE_MESSAGE: &str = "The request body must be at most 16 KiB";

/// The challenge a bearer API's 401 carries (RFC 6750): the token is no good, whatever the
/// precise reason.
pub(crate) const BEARER_CHALLENGE: &str = "Bearer error=\"invalid_token\"";

/// `application/x-www-form-urlencoded`, as Zendesk POSTs the sidebar page and the SDK exchange.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// `application/json`.
pub const JSON: &str = "application/json";

/// Why a request body could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The `Content-Type` is not the expected media type (or is missing where one is required).
    WrongMediaType,
    /// The body is larger than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body is not what the media type promises, or not the expected shape (a repeated form
    /// field, a JSON array where an object is expected, ...).
    Malformed,
}

/// The media type of `req` (the `Content-Type` without parameters), if it has one.
pub fn media_type(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim())
}

/// The body, if its media type is `expected` (or missing, when `missing_ok`) and it is at most
/// [`MAX_BODY_BYTES`]. The media type is checked first, then the size.
fn body_as<'a>(req: &'a Request, expected: &str, missing_ok: bool) -> Result<&'a [u8], BodyError> {
    match media_type(req) {
        Some(media_type) if media_type.eq_ignore_ascii_case(expected) => {}
        None if missing_ok => {}
        _ => return Err(BodyError::WrongMediaType),
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(body)
}

/// A form body (`application/x-www-form-urlencoded`, required) read as `T`. A repeated field
/// is [`BodyError::Malformed`] when `T` expects one value.
pub fn read_form<T: DeserializeOwned>(req: &Request) -> Result<T, BodyError> {
    let body = body_as(req, FORM, false)?;
    serde_urlencoded::from_bytes(body).map_err(|_| BodyError::Malformed)
}

/// A JSON object body read as `T`. A request without a `Content-Type` is read as JSON; any other
/// media type is [`BodyError::WrongMediaType`]. Only an object is accepted: serde would also read
/// a struct from a JSON array (`["milk"]`), and a repeated key is refused by serde's derive.
pub fn read_json_object<T: DeserializeOwned>(req: &Request) -> Result<T, BodyError> {
    let body = body_as(req, JSON, true)?;
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(BodyError::Malformed);
    }
    serde_json::from_slice(body).map_err(|_| BodyError::Malformed)
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// How long a client is asked to wait before it retries a request answered 503
/// (`Retry-After`, seconds): the functions' own waits after a failure are a second or two (a
/// DynamoDB item's queue of writes drains, a cold secret or JWKS fetch is tried again).
pub(crate) const RETRY_AFTER_SECONDS: u64 = 1;

/// An API's answer to a request it does not serve: `{"message": message}` with the status, and
/// with `WWW-Authenticate: Bearer error="invalid_token"` ([`BEARER_CHALLENGE`]) when it is a 401.
/// Every API error of the functions is answered here.
pub fn message_response(status: StatusCode, message: &str) -> Response<Body> {
    #[derive(Serialize)]
    struct Message<'a> {
        message: &'a str,
    }
    let mut response = json_response(status, &Message { message });
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(BEARER_CHALLENGE),
        );
    }
    response
}

/// A JSON answer: never cached, never sniffed as another media type, and a 503 says when to
/// retry ([`RETRY_AFTER_SECONDS`]). Every JSON answer of the functions is built here.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Serialising plain data (strings, numbers, maps with string keys) cannot fail.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_a_json_message_and_a_401_carries_the_bearer_challenge() {
        let response = message_response(StatusCode::UNAUTHORIZED, "Invalid \"session\"");
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        assert!(
            matches!(response.body(), Body::Text(t) if t == r#"{"message":"Invalid \"session\""}"#)
        );
        let response = message_response(StatusCode::FORBIDDEN, "no");
        assert_eq!(response.status(), 403);
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON);
    }

    #[test]
    fn the_too_large_message_names_the_limit() {
        assert!(TOO_LARGE_MESSAGE.ends_with(&format!("{} KiB", MAX_BODY_BYTES / 1024)));
    }
    use serde::Deserialize;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/x");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Form {
        token: Option<String>,
    }

    #[test]
    fn a_form_is_read_whatever_the_case_and_parameters_of_its_media_type() {
        for content_type in [FORM, "Application/X-WWW-Form-Urlencoded; charset=UTF-8"] {
            let form: Form = read_form(&request(Some(content_type), "token=abc")).unwrap();
            assert_eq!(form.token.as_deref(), Some("abc"));
        }
    }

    #[test]
    fn a_form_needs_its_media_type_a_small_body_and_single_fields() {
        assert_eq!(
            read_form::<Form>(&request(None, "token=abc")),
            Err(BodyError::WrongMediaType)
        );
        assert_eq!(
            read_form::<Form>(&request(Some(JSON), "token=abc")),
            Err(BodyError::WrongMediaType)
        );
        let big = format!("token={}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            read_form::<Form>(&request(Some(FORM), &big)),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            read_form::<Form>(&request(Some(FORM), "token=a&token=b")),
            Err(BodyError::Malformed)
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        value: String,
    }

    #[test]
    fn a_json_object_is_read_with_or_without_a_content_type() {
        let item: Item = read_json_object(&request(Some(JSON), r#" {"value":"milk"}"#)).unwrap();
        assert_eq!(item.value, "milk");
        let item: Item = read_json_object(&request(None, r#"{"value":"eggs"}"#)).unwrap();
        assert_eq!(item.value, "eggs");
    }

    #[test]
    fn only_a_json_object_of_the_right_shape_is_read() {
        assert_eq!(
            read_json_object::<Item>(&request(Some("text/plain"), r#"{"value":"x"}"#)),
            Err(BodyError::WrongMediaType)
        );
        for bad in [
            r#"["milk"]"#,
            "",
            "value=milk",
            r#"{"value":"a","value":"b"}"#,
        ] {
            assert_eq!(
                read_json_object::<Item>(&request(Some(JSON), bad)),
                Err(BodyError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_bearer_token_is_taken_from_the_authorization_header() {
        let with = |value: &str| {
            lambda_http::http::Request::builder()
                .header(header::AUTHORIZATION, value)
                .body(Body::Empty)
                .unwrap()
        };
        assert_eq!(bearer_token(&with("Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer_token(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&with("Basic abc")), None);
        assert_eq!(bearer_token(&with("Bearer")), None);
        let none = lambda_http::http::Request::builder()
            .body(Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&none), None);
    }

    #[test]
    fn a_json_answer_is_not_cached_nor_sniffed() {
        let response = json_response(StatusCode::CREATED, &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
        assert!(matches!(response.body(), Body::Text(text) if text == r#"{"a":1}"#));
    }

    #[test]
    fn a_503_says_when_to_retry() {
        let response = json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"message": "later"}),
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
