//! Every answer of the sidebar function other than the start page: one variant per case, each
//! with its status and the text of the error page the agent sees.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use zendesk_jwt::lambda::http::{BodyError, TOO_LARGE_MESSAGE};
use zendesk_jwt::lambda::metrics::Outcome;
use zendesk_jwt::{AuthError, RefusalReason, ZafInstallation};

use crate::pages;

/// Why the start page is not served. Unlike the JSON APIs, the sidebar answers an agent's
/// browser inside Zendesk, so every failure is a small HTML page that says what to do.
#[derive(Debug, PartialEq, Eq)]
pub enum SidebarError {
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
