//! Every answer of the sidebar function other than the start page: one variant per case, each
//! with its status and the text of the error page the agent sees.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use zendesk_jwt::lambda::http::{BodyError, TOO_LARGE_MESSAGE, message_response};
use zendesk_jwt::lambda::metrics::Outcome;
use zendesk_jwt::{AuthError, RefusalReason, ZafInstallation};

use crate::pages;

/// Why the start page is not served. Unlike the JSON APIs, the sidebar answers an agent's
/// browser inside Zendesk, so every failure is a small HTML page that says what to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SidebarError {
    /// 405: anything but POST.
    MethodNotAllowed,
    /// 400: the body is not a form. Zendesk always POSTs a form, so this is not Zendesk (the
    /// SDK exchange answers 415 for the same thing: there the caller is a server that can act
    /// on a precise status; here it is a page in an agent's browser).
    NotAForm,
    /// 413: the body is over 16 KiB.
    TooLarge,
    /// 400: the form cannot be read (a repeated field).
    MalformedForm,
    /// 400: no `token` field, or an empty one.
    MissingToken,
    /// 400: the page URL lacks `origin` or `app_guid` (or one is empty).
    MissingPageParameters,
    /// 400: the `app_guid` is longer than any Zendesk makes (checked when sessions are on: the
    /// session is bound to it).
    AppGuidTooLong,
    /// 401: the token is invalid, whatever the reason (the reason is logged at debug level; its
    /// class is counted in the metrics).
    NotSignedIn(RefusalReason),
    /// 403: the token is valid, but its installation is not one this deployment serves (table
    /// mode: unknown or disabled in the table; single mode never gets here, another
    /// installation's token is a 401 there).
    NotEnabled(ZafInstallation),
    /// 503: the app's public key, the session key or the installation's record cannot be had
    /// (the cause is logged).
    KeyUnavailable,
}

impl SidebarError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            SidebarError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            SidebarError::NotAForm
            | SidebarError::MalformedForm
            | SidebarError::MissingToken
            | SidebarError::MissingPageParameters
            | SidebarError::AppGuidTooLong => StatusCode::BAD_REQUEST,
            SidebarError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            SidebarError::NotSignedIn(_) => StatusCode::UNAUTHORIZED,
            SidebarError::NotEnabled(_) => StatusCode::FORBIDDEN,
            SidebarError::KeyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error page's title and explanation.
    pub fn text(&self) -> (&'static str, String) {
        let (title, detail) = match self {
            SidebarError::MethodNotAllowed => (
                "This page is opened by Zendesk",
                "Zendesk opens this app with a signed POST request.",
            ),
            SidebarError::NotAForm => (
                "Bad request",
                "Expected a form (application/x-www-form-urlencoded) with a token field.",
            ),
            SidebarError::TooLarge => ("Bad request", TOO_LARGE_MESSAGE),
            SidebarError::MalformedForm => (
                "Bad request",
                "The form could not be read (a field may be repeated).",
            ),
            SidebarError::MissingToken => (
                "Missing token",
                "Zendesk did not send a signed token. Check that the app's manifest has \"signedUrls\": true.",
            ),
            SidebarError::MissingPageParameters => (
                "Bad request",
                "The page address lacks the origin and app_guid parameters Zendesk adds.",
            ),
            SidebarError::AppGuidTooLong => (
                "Bad request",
                "The page address's app_guid is longer than any Zendesk makes (256 characters at most).",
            ),
            SidebarError::NotSignedIn(_) => (
                "Not signed in",
                "Zendesk's signature on this request could not be verified. Reload the ticket; if it persists, ask an admin to check the app's public key and installation id.",
            ),
            SidebarError::NotEnabled(installation) => {
                return (
                    "App not enabled",
                    format!(
                        "This app is not enabled for the Zendesk account {}.zendesk.com (app installation {}). Ask the app's provider to enable it; it works a minute after that.",
                        installation.subdomain(),
                        installation.installation_id()
                    ),
                );
            }
            SidebarError::KeyUnavailable => (
                "Temporarily unavailable",
                "The app could not check its sign-in right now. Reload the ticket in a minute.",
            ),
        };
        (title, detail.to_owned())
    }

    /// How the request counts in the metrics.
    pub fn outcome(&self) -> Outcome {
        match self {
            SidebarError::MissingToken => Outcome::Refused(RefusalReason::Missing),
            SidebarError::NotSignedIn(reason) => Outcome::Refused(*reason),
            SidebarError::KeyUnavailable => Outcome::Unavailable,
            SidebarError::MethodNotAllowed
            | SidebarError::NotAForm
            | SidebarError::TooLarge
            | SidebarError::MalformedForm
            | SidebarError::MissingPageParameters
            | SidebarError::AppGuidTooLong
            | SidebarError::NotEnabled(_) => Outcome::ClientError,
        }
    }

    /// The error page.
    pub fn into_response(self) -> Response<Body> {
        let (title, detail) = self.text();
        pages::error_page(self.status(), title, &detail)
    }
}

impl From<BodyError> for SidebarError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::WrongMediaType => SidebarError::NotAForm,
            BodyError::TooLarge => SidebarError::TooLarge,
            BodyError::Malformed => SidebarError::MalformedForm,
        }
    }
}

impl From<AuthError> for SidebarError {
    fn from(error: AuthError) -> Self {
        match error.outcome() {
            Outcome::Refused(RefusalReason::Missing) => SidebarError::MissingToken,
            Outcome::Refused(reason) => SidebarError::NotSignedIn(reason),
            // The app's key is a PEM given to the verifier: no key lookup can fail here.
            _ => SidebarError::KeyUnavailable,
        }
    }
}

/// An expected failure of the API. The display text is the `message` the page sees.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
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

impl zendesk_jwt::lambda::metrics::Answer for ApiError {
    fn outcome(&self) -> Outcome {
        ApiError::outcome(self)
    }

    fn into_response(self) -> Response<Body> {
        ApiError::into_response(self)
    }
}

impl zendesk_jwt::lambda::metrics::Answer for SidebarError {
    fn outcome(&self) -> Outcome {
        SidebarError::outcome(self)
    }

    fn into_response(self) -> Response<Body> {
        SidebarError::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_problems_answer_400_or_413() {
        assert_eq!(SidebarError::from(BodyError::WrongMediaType).status(), 400);
        assert_eq!(SidebarError::from(BodyError::Malformed).status(), 400);
        assert_eq!(SidebarError::from(BodyError::TooLarge).status(), 413);
    }

    #[test]
    fn an_installation_that_is_not_enabled_is_a_403_that_names_it() {
        let error = SidebarError::NotEnabled(ZafInstallation::new("acme", 360_001).unwrap());
        assert_eq!(error.status(), 403);
        let (title, detail) = error.text();
        assert_eq!(title, "App not enabled");
        assert!(
            detail.contains("acme.zendesk.com (app installation 360001)"),
            "{detail}"
        );
    }

    #[test]
    fn every_refused_token_is_the_same_401_but_a_missing_one_is_a_400() {
        assert_eq!(SidebarError::from(AuthError::Missing).status(), 400);
        for error in [
            AuthError::Oversized,
            AuthError::KeyInHeader("jku"),
            AuthError::IssuedInTheFuture,
            AuthError::Invalid(jsonwebtoken::errors::ErrorKind::ExpiredSignature.into()),
        ] {
            let class = error.reason_class().unwrap();
            assert_eq!(SidebarError::from(error), SidebarError::NotSignedIn(class));
        }
    }
}
