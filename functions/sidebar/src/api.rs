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

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::{HeaderName, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::http::{bearer_token, json_response};
use zendesk_jwt::lambda::metrics::Outcome;
use zendesk_jwt::lambda::secrets::SecretCache;
use zendesk_jwt::verify::encode_uri_component;
use zendesk_jwt::{RefusalReason, Session, SessionKey};

use crate::error::ApiError;
use crate::installations::{Admission, InstallationGate};
use crate::store::{self, MAX_NOTE_CHARS, MAX_NOTE_VERSION, SaveError, SidebarStore, TicketId};

/// The header the page sends its `app_guid` in, as `encodeURIComponent` writes it.
pub(crate) const APP_GUID_HEADER: HeaderName = HeaderName::from_static("x-app-guid");

/// The API: the sessions it takes and the data behind them.
pub(crate) struct Api {
    pub(crate) clock: Clock,
    pub(crate) key: SecretCache<SessionKey>,
    pub(crate) ttl: Duration,
    pub(crate) store: Arc<SidebarStore>,
}

impl Api {
    /// Answer one API request (the path after `/sidebar/api/` is `rest`), admitting the
    /// session's installation through `gate`.
    pub(crate) async fn respond(
        &self,
        req: &Request,
        rest: &str,
        gate: &InstallationGate,
    ) -> Result<Response<Body>, ApiError> {
        let route = route(req.method(), rest)?;
        let session = self.authenticate(req).await?;
        let api = self;
        let installation = &session.installation;
        let admitted = match route {
            // The settings are the installation's record: read it fresh, which is also the check.
            ApiRoute::Settings => gate.admit_fresh(installation).await,
            _ => gate.admit(installation).await,
        };
        let record = match admitted {
            Ok(Admission::Enabled(record)) => record,
            Ok(Admission::NotEnabled) => {
                tracing::info!(%installation, "API call of an installation that is not enabled");
                return Err(ApiError::NotEnabled);
            }
            Err(error) => {
                tracing::error!(%error, "the installation's record is unavailable");
                return Err(ApiError::Unavailable);
            }
        };
        let store_unavailable = |error: store::Unavailable| {
            tracing::error!(%error, "the sidebar table is unavailable");
            ApiError::Unavailable
        };
        let answer = match route {
            ApiRoute::Settings => json!({
                "installation": {
                    "subdomain": installation.subdomain(),
                    "installation_id": installation.installation_id(),
                    "name": record.as_ref().map(|r| r.name.as_str()).unwrap_or(""),
                },
                "settings": record.as_ref().map(|r| r.settings.clone()).unwrap_or_default(),
            }),
            ApiRoute::GetNote(ticket) => json!(
                api.store
                    .note(installation, ticket)
                    .await
                    .map_err(store_unavailable)?
            ),
            ApiRoute::PutNote(ticket) => {
                let update = note_update(req)?;
                let saved = api
                    .store
                    .save_note(
                        installation,
                        ticket,
                        &update.note,
                        update.version,
                        session.user.as_deref(),
                    )
                    .await;
                match saved {
                    Ok(note) => json!(note),
                    Err(SaveError::Conflict(_)) => return Err(ApiError::Conflict),
                    Err(SaveError::LimitReached(max)) => {
                        tracing::info!(%installation, max, "a new note refused: the installation has as many as it may keep");
                        return Err(ApiError::NoteLimitReached(max));
                    }
                    Err(SaveError::Unavailable(error)) => return Err(store_unavailable(error)),
                }
            }
        };
        Ok(json_response(StatusCode::OK, &answer))
    }

    /// The session a request presents, with the page's `app_guid` it was made for.
    async fn authenticate(&self, req: &Request) -> Result<Session, ApiError> {
        let Some(token) = bearer_token(req) else {
            tracing::debug!("API call without a session");
            return Err(ApiError::Unauthenticated(RefusalReason::Missing));
        };
        let key = self.key.get().await.map_err(|error| {
            tracing::error!(%error, "the session key is unavailable");
            ApiError::Unavailable
        })?;
        let session = Session::verify(token, &key, &self.clock).map_err(|reason| {
            tracing::debug!(%reason, "session refused");
            match reason.outcome() {
                Outcome::Refused(class) => ApiError::Unauthenticated(class),
                // A session is checked with a key in hand: no key lookup can fail here.
                _ => ApiError::Unauthenticated(RefusalReason::Malformed),
            }
        })?;
        let app_guid = req
            .headers()
            .get(APP_GUID_HEADER)
            .and_then(|v| v.to_str().ok());
        if app_guid != Some(encode_uri_component(&session.app_guid).as_str()) {
            tracing::debug!(installation = %session.installation, "session presented without its app_guid");
            // The session is for another app frame: as a token for someone else.
            return Err(ApiError::Unauthenticated(RefusalReason::WrongAudience));
        }
        Ok(session)
    }
}

/// Where a request to the API goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ApiRoute {
    /// `GET settings`.
    Settings,
    /// `GET tickets/{id}/note`.
    GetNote(TicketId),
    /// `PUT tickets/{id}/note`.
    PutNote(TicketId),
}

/// The part of `path` after `/sidebar/api/`, if it is an API path (under any stage or prefix).
pub(crate) fn api_path(path: &str) -> Option<&str> {
    let path = path.trim_end_matches('/');
    if let Some(at) = path.find("/sidebar/api/") {
        return Some(&path[at + "/sidebar/api/".len()..]);
    }
    path.ends_with("/sidebar/api").then_some("")
}

/// The route of `method` on the API path `rest`.
pub(crate) fn route(method: &Method, rest: &str) -> Result<ApiRoute, ApiError> {
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
pub(crate) struct NoteUpdate {
    /// The new text.
    pub note: String,
    /// The version it replaces.
    pub version: u64,
}

/// The note and version of a `PUT` body.
pub(crate) fn note_update(req: &Request) -> Result<NoteUpdate, ApiError> {
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
        assert_eq!(response.headers()[lambda_http::http::header::ALLOW], "GET");
        let response = ApiError::Unauthenticated(RefusalReason::Expired).into_response();
        assert_eq!(
            response.headers()[lambda_http::http::header::WWW_AUTHENTICATE],
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
