//! Every failure the function answers, on both routes (`POST /sdk/jwt`, `POST /messaging/jwt`):
//! one variant per case, each with its status. The display text is the `message` the caller
//! receives (Zendesk's servers log it; a page may show it).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use zendesk_jwt::RefusalReason;
use zendesk_jwt::lambda::http::{BodyError, TOO_LARGE_MESSAGE, message_response};
use zendesk_jwt::lambda::metrics::Outcome;

/// An expected failure of the exchange.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// 401: unknown, empty, expired or revoked user token, or none usable as a token (a form
    /// without `user_token`, with it repeated or as `user_token[]`, and on the messaging route no
    /// bearer token either): whatever Zendesk's servers sent, they get the answer their SDK JWT
    /// contract expects for a token that is no good. On the messaging route also a known user
    /// without an `external_id`. The reason is logged at debug level.
    #[error("Unknown or expired user token")]
    Refused(RefusalReason),
    /// 400: a messaging request with a bearer token and a `user_token` field: which one speaks
    /// for the user would be a guess.
    #[error(
        "Send the user token once: as a bearer token or as the user_token form field, not both"
    )]
    TwoCredentials,
    /// 403: a messaging request from a browser origin that is not in
    /// `MESSAGING_ALLOWED_ORIGINS` (the CORS policy adds `Vary: Origin`).
    #[error("Requests from this origin are not allowed")]
    OriginNotAllowed,
    /// 405.
    #[error("Use POST")]
    MethodNotAllowed,
    /// 413.
    #[error("{}", TOO_LARGE_MESSAGE)]
    TooLarge,
    /// 415: not a form. The caller is Zendesk's server, for which the precise status is the
    /// useful answer (the sidebar, which answers an agent's browser, says 400 with a page).
    #[error("Send a form (application/x-www-form-urlencoded) with a user_token field")]
    UnsupportedMediaType,
    /// 503: the user store or identity provider keys are unreachable.
    #[error("User lookup is temporarily unavailable")]
    LookupUnavailable,
    /// 503: the shared secret is missing, unreadable or a redacted copy (the cause is logged).
    #[error("JWT signing is not available: the shared secret is missing or unusable")]
    SigningUnavailable,
    /// 503: the messaging signing key is not configured, unreadable, or not a Zendesk key (the
    /// cause is logged).
    #[error("Messaging sign-in is not available: the signing key is missing or unusable")]
    MessagingUnavailable,
}

impl ExchangeError {
    /// The HTTP status this failure answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ExchangeError::Refused(_) => StatusCode::UNAUTHORIZED,
            ExchangeError::TwoCredentials => StatusCode::BAD_REQUEST,
            ExchangeError::OriginNotAllowed => StatusCode::FORBIDDEN,
            ExchangeError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ExchangeError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ExchangeError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ExchangeError::LookupUnavailable
            | ExchangeError::SigningUnavailable
            | ExchangeError::MessagingUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// How the request counts in the metrics.
    pub fn outcome(&self) -> Outcome {
        match self {
            ExchangeError::Refused(reason) => Outcome::Refused(*reason),
            ExchangeError::LookupUnavailable
            | ExchangeError::SigningUnavailable
            | ExchangeError::MessagingUnavailable => Outcome::Unavailable,
            ExchangeError::TwoCredentials
            | ExchangeError::OriginNotAllowed
            | ExchangeError::MethodNotAllowed
            | ExchangeError::TooLarge
            | ExchangeError::UnsupportedMediaType => Outcome::ClientError,
        }
    }

    /// The response: `{"message": …}` with the status.
    pub fn into_response(self) -> Response<Body> {
        message_response(self.status(), &self.to_string())
    }
}

impl From<BodyError> for ExchangeError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::WrongMediaType => ExchangeError::UnsupportedMediaType,
            BodyError::TooLarge => ExchangeError::TooLarge,
            BodyError::Malformed => {
                tracing::debug!("SDK exchange form could not be read (a repeated field?)");
                ExchangeError::Refused(RefusalReason::Malformed)
            }
        }
    }
}

impl zendesk_jwt::lambda::metrics::Answer for ExchangeError {
    fn outcome(&self) -> Outcome {
        ExchangeError::outcome(self)
    }

    fn into_response(self) -> Response<Body> {
        ExchangeError::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_problems_answer_415_413_and_401() {
        assert_eq!(ExchangeError::from(BodyError::WrongMediaType).status(), 415);
        assert_eq!(ExchangeError::from(BodyError::TooLarge).status(), 413);
        assert_eq!(ExchangeError::from(BodyError::Malformed).status(), 401);
    }

    #[test]
    fn every_answer_is_a_json_message() {
        let response = ExchangeError::Refused(RefusalReason::UnknownUserToken).into_response();
        assert_eq!(response.status(), 401);
        assert!(matches!(
            response.body(),
            Body::Text(text) if text == r#"{"message":"Unknown or expired user token"}"#
        ));
    }
}
