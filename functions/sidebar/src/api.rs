//! The app's own API, `/sidebar/api/…`, served to the start page (same origin: no CORS) and
//! authenticated by the session the page carries, never by anything else the client sends:
//!
//! * `GET /sidebar/api/settings`: the installation's name and settings. Agents read them;
//!   only the `installations` admin command changes them (a session proves a Zendesk user
//!   opened the app, not that they administer it), so any other method is a 405.
//! * `GET /sidebar/api/tickets/{id}/note`: the ticket's note (`""`, version 0, when it has
//!   none).
//! * `PUT /sidebar/api/tickets/{id}/note` with `{"note": "…", "version": N}`: save the note,
//!   replacing version `N` (the one last read; 0 for a new note); 409 when someone saved it
//!   meanwhile.
//!
//! Every call presents `Authorization: Bearer <session>` and `X-App-Guid:
//! encodeURIComponent(app_guid)`; the data is always the session's installation's, and the
//! installation must still be enabled (table mode; the record is cached briefly).

use lambda_http::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::Value;
use zendesk_jwt::RefusalReason;
use zendesk_jwt::lambda::http::{BodyError, TOO_LARGE_MESSAGE, message_response};
use zendesk_jwt::lambda::metrics::Outcome;

use crate::store::{MAX_NOTE_CHARS, MAX_NOTE_VERSION, TicketId};

/// The header the page sends its `app_guid` in, as `encodeURIComponent` writes it.
pub const APP_GUID_HEADER: HeaderName = HeaderName::from_static("x-app-guid");

/// Where a request to the API goes.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiRoute {
    /// `GET settings`.
    Settings,
    /// `GET tickets/{id}/note`.
    GetNote(TicketId),
    /// `PUT tickets/{id}/note`.
    PutNote(TicketId),
}

/// The part of `path` after `/sidebar/api/`, if it is an API path (under any stage or prefix).
pub fn api_path(path: &str) -> Option<&str> {
    let path = path.trim_end_matches('/');
    if let Some(at) = path.find("/sidebar/api/") {
        return Some(&path[at + "/sidebar/api/".len()..]);
    }
    path.ends_with("/sidebar/api").then_some("")
}

/// The route of `method` on the API path `rest`.
pub fn route(method: &Method, rest: &str) -> Result<ApiRoute, ApiError> {
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["settings"] => match *method {
            Method::GET => Ok(ApiRoute::Settings),
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        ["tickets", id, "note"] => {
            let ticket = TicketId::parse(id).ok_or(ApiError::NotFound(
                "No such ticket: a ticket id is a positive whole number",
            ))?;
            match *method {
                Method::GET => Ok(ApiRoute::GetNote(ticket)),
                Method::PUT => Ok(ApiRoute::PutNote(ticket)),
                _ => Err(ApiError::MethodNotAllowed("GET, PUT")),
            }
        }
        _ => Err(ApiError::NotFound("Not found")),
    }
}

/// The body of a note's `PUT`.
#[derive(Deserialize)]
struct NoteBody {
    #[serde(default)]
    note: Value,
    #[serde(default)]
    version: Value,
}

/// A note to save: its text and the version it replaces.
#[derive(Debug, PartialEq, Eq)]
pub struct NoteUpdate {
    /// The new text.
    pub note: String,
    /// The version it replaces.
    pub version: u64,
}

/// The note and version of a `PUT` body.
pub fn note_update(req: &Request) -> Result<NoteUpdate, ApiError> {
    let body: NoteBody = zendesk_jwt::lambda::http::read_json_object(req)?;
    let Value::String(note) = body.note else {
        return Err(ApiError::BadRequest("note must be a string"));
    };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::BadRequest(
            "A note may be at most 4000 characters",
        ));
    }
    let version = body
        .version
        .as_u64()
        .filter(|&v| v <= MAX_NOTE_VERSION)
        .ok_or(ApiError::BadRequest(
            "version must be the note's version you last read (0 for a new note)",
        ))?;
    Ok(NoteUpdate { note, version })
}

/// An expected failure of the API. The display text is the `message` the page sees.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`: no session, or one that is
    /// expired, forged, or for another `app_guid` (the reason is logged at debug level).
    #[error("Invalid or expired session; reopen the app")]
    Unauthenticated(RefusalReason),
    /// 403: the session's installation is not enabled (any more).
    #[error("This app is not enabled for this Zendesk account")]
    NotEnabled,
    /// 400: the body is not what the route takes.
    #[error("{0}")]
    BadRequest(&'static str),
    /// 404: no such route, or the API is off (no session key configured).
    #[error("{0}")]
    NotFound(&'static str),
    /// 405, with the methods the route allows.
    #[error("Method not allowed")]
    MethodNotAllowed(&'static str),
    /// 409: the note was saved by someone else since the version the request names.
    #[error("Someone else saved this note since you read it; read it again, then save")]
    Conflict,
    /// 409: a new note, and the installation keeps as many notes as it may (nothing written).
    #[error(
        "This Zendesk account already has {0} notes, the most this app keeps; ask the app's provider to remove old ones"
    )]
    NoteLimitReached(u64),
    /// 413: the body is over 16 KiB.
    #[error("{}", TOO_LARGE_MESSAGE)]
    TooLarge,
    /// 415: the body is not JSON.
    #[error("Send JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 503: the session key or the table cannot be reached (the cause is logged).
    #[error("The app's data is temporarily unavailable; try again shortly")]
    Unavailable,
}

impl ApiError {
    /// How the request counts in the metrics.
    pub fn outcome(&self) -> Outcome {
        match self {
            ApiError::Unauthenticated(reason) => Outcome::Refused(*reason),
            ApiError::Unavailable => Outcome::Unavailable,
            ApiError::NoteLimitReached(_) => Outcome::LimitReached,
            ApiError::NotEnabled
            | ApiError::BadRequest(_)
            | ApiError::NotFound(_)
            | ApiError::MethodNotAllowed(_)
            | ApiError::Conflict
            | ApiError::TooLarge
            | ApiError::UnsupportedMediaType => Outcome::ClientError,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotEnabled => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict | ApiError::NoteLimitReached(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// `{"message": …}` with the status, the challenge header of a 401 and the `Allow` of a 405.
    pub fn into_response(self) -> Response<Body> {
        let mut response = message_response(self.status(), &self.to_string());
        if let ApiError::MethodNotAllowed(allow) = self {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::WrongMediaType => ApiError::UnsupportedMediaType,
            BodyError::TooLarge => ApiError::TooLarge,
            BodyError::Malformed => {
                ApiError::BadRequest("Send a JSON object like {\"note\": \"…\", \"version\": 0}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_found_under_any_prefix() {
        assert_eq!(api_path("/sidebar/api/settings"), Some("settings"));
        assert_eq!(
            api_path("/prod/sidebar/api/tickets/1/note/"),
            Some("tickets/1/note")
        );
        assert_eq!(api_path("/sidebar/api"), Some(""));
        assert_eq!(api_path("/sidebar"), None);
        assert_eq!(api_path("/sidebar/apis/x"), None);
    }

    #[test]
    fn routes_and_their_methods() {
        let note = TicketId::parse("42").unwrap();
        assert_eq!(route(&Method::GET, "settings"), Ok(ApiRoute::Settings));
        assert_eq!(
            route(&Method::GET, "tickets/42/note"),
            Ok(ApiRoute::GetNote(note))
        );
        assert_eq!(
            route(&Method::PUT, "tickets/42/note"),
            Ok(ApiRoute::PutNote(note))
        );
        for (method, rest, status) in [
            (Method::PUT, "settings", 405),
            (Method::POST, "settings", 405),
            (Method::DELETE, "tickets/42/note", 405),
            (Method::GET, "tickets/0/note", 404),
            (Method::GET, "tickets/x/note", 404),
            (Method::GET, "tickets/42", 404),
            (Method::GET, "", 404),
            (Method::GET, "settings/x", 404),
        ] {
            let error = route(&method, rest).unwrap_err();
            assert_eq!(error.status().as_u16(), status, "{method} {rest}");
        }
        let response = ApiError::MethodNotAllowed("GET").into_response();
        assert_eq!(response.headers()[header::ALLOW], "GET");
        let response = ApiError::Unauthenticated(RefusalReason::Expired).into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
    }

    fn put(body: &str, content_type: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("PUT")
            .uri("/sidebar/api/tickets/1/note");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn a_note_update_is_a_string_and_the_version_it_replaces() {
        let json = Some("application/json");
        assert_eq!(
            note_update(&put(r#"{"note":"Call back","version":2}"#, json)),
            Ok(NoteUpdate {
                note: "Call back".into(),
                version: 2
            })
        );
        assert!(
            note_update(&put(
                &format!(r#"{{"note":"{}","version":0}}"#, "é".repeat(4000)),
                json
            ))
            .is_ok()
        );
        for (body, status) in [
            (r#"{"note":1,"version":0}"#, 400),
            (r#"{"version":0}"#, 400),
            (r#"{"note":"x"}"#, 400),
            (r#"{"note":"x","version":-1}"#, 400),
            (r#"{"note":"x","version":"1"}"#, 400),
            (r#"["x"]"#, 400),
        ] {
            assert_eq!(
                note_update(&put(body, json)).unwrap_err().status().as_u16(),
                status,
                "{body}"
            );
        }
        let long = format!(r#"{{"note":"{}","version":0}}"#, "a".repeat(4001));
        assert_eq!(note_update(&put(&long, json)).unwrap_err().status(), 400);
        assert_eq!(
            note_update(&put("note=x", Some("application/x-www-form-urlencoded")))
                .unwrap_err()
                .status(),
            415
        );
    }
}
