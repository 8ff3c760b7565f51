//! Every failure the to-do API answers: one variant per case, each with its status. The display
//! text is the `message` the client sees.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use zendesk_jwt::RefusalReason;
use zendesk_jwt::lambda::http::{BodyError, TOO_LARGE_MESSAGE, message_response};
use zendesk_jwt::lambda::metrics::Outcome;

use crate::store::StoreError;

/// An expected failure of the to-do API.
#[derive(Debug, thiserror::Error)]
pub enum TodoError {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`, whatever the precise reason
    /// (logged at debug level; its class is counted in the metrics).
    #[error("Invalid authentication")]
    Unauthenticated(RefusalReason),
    /// 400: the body is not a valid item, or the `Idempotency-Key` is malformed.
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
    /// 413: the body is larger than 16 KiB.
    #[error("{}", TOO_LARGE_MESSAGE)]
    TooLarge,
    /// 415: the body is not JSON (a request without a `Content-Type` is read as JSON).
    #[error("Send the item as JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 422: the `Idempotency-Key` was used for another item within the last hour.
    #[error("This Idempotency-Key was already used for a different item; send a new key")]
    KeyReused,
    /// 403: the request comes from a browser origin that is not in `ALLOWED_ORIGINS` (the CORS
    /// policy adds `Vary: Origin`).
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
            TodoError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            TodoError::BadRequest(_) => StatusCode::BAD_REQUEST,
            TodoError::NotFound(_) => StatusCode::NOT_FOUND,
            TodoError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            TodoError::LimitReached | TodoError::StorageFull => StatusCode::CONFLICT,
            TodoError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            TodoError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TodoError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            TodoError::OriginNotAllowed => StatusCode::FORBIDDEN,
            TodoError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// How the request counts in the metrics.
    pub fn outcome(&self) -> Outcome {
        match self {
            TodoError::Unauthenticated(reason) => Outcome::Refused(*reason),
            TodoError::LimitReached | TodoError::StorageFull => Outcome::LimitReached,
            TodoError::Unavailable => Outcome::Unavailable,
            TodoError::BadRequest(_)
            | TodoError::NotFound(_)
            | TodoError::MethodNotAllowed
            | TodoError::TooLarge
            | TodoError::UnsupportedMediaType
            | TodoError::KeyReused
            | TodoError::OriginNotAllowed => Outcome::ClientError,
        }
    }

    /// The response: `{"message": …}` with the status (and the challenge header for 401).
    pub fn into_response(self) -> Response<Body> {
        message_response(self.status(), &self.to_string())
    }
}

impl From<BodyError> for TodoError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::WrongMediaType => TodoError::UnsupportedMediaType,
            BodyError::TooLarge => TodoError::TooLarge,
            BodyError::Malformed => {
                TodoError::BadRequest("Send a JSON object like {\"value\": \"Buy milk\"}")
            }
        }
    }
}

impl From<StoreError> for TodoError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::LimitReached => TodoError::LimitReached,
            StoreError::BudgetExhausted | StoreError::ItemFull => TodoError::StorageFull,
            StoreError::KeyReused => TodoError::KeyReused,
            StoreError::Unavailable(reason) => {
                tracing::error!(%reason, "the to-do store is unavailable");
                TodoError::Unavailable
            }
        }
    }
}

impl zendesk_jwt::lambda::metrics::Answer for TodoError {
    fn outcome(&self) -> Outcome {
        TodoError::outcome(self)
    }

    fn into_response(self) -> Response<Body> {
        TodoError::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_carries_the_bearer_challenge_and_a_403_its_message() {
        let response = TodoError::Unauthenticated(RefusalReason::Expired).into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()[lambda_http::http::header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        assert!(
            matches!(response.body(), Body::Text(t) if t == r#"{"message":"Invalid authentication"}"#)
        );
        let response = TodoError::OriginNotAllowed.into_response();
        assert_eq!(response.status(), 403);
        assert!(
            matches!(response.body(), Body::Text(t) if t == r#"{"message":"Requests from this origin are not allowed"}"#)
        );
    }

    #[test]
    fn body_problems_answer_415_413_and_400() {
        assert_eq!(TodoError::from(BodyError::WrongMediaType).status(), 415);
        assert_eq!(TodoError::from(BodyError::TooLarge).status(), 413);
        assert_eq!(TodoError::from(BodyError::Malformed).status(), 400);
    }
}
