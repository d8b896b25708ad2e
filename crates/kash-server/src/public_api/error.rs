//! Errors of the anonymous API: JSON `{error, message, code}` (not problem details), with the
//! codes of §4. Internal causes are logged on the request's span and never returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kash_core::ErrorCode;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicError {
    pub status: u16,
    pub error: &'static str,
    pub message: String,
    pub code: &'static str,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl PublicError {
    fn new(
        status: u16,
        error: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        PublicError {
            status,
            error,
            message: message.into(),
            code,
            retry_after: None,
        }
    }

    /// `400 INVALID_REQUEST`; the message names the parameter and its bound.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "Invalid request", "INVALID_REQUEST", message)
    }

    /// `404 NOT_FOUND` (organizations, partners, routes).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "Not found", "NOT_FOUND", message)
    }

    pub fn thread_not_found() -> Self {
        Self::new(
            404,
            "Thread not found",
            "THREAD_NOT_FOUND",
            "no such thread",
        )
    }

    pub fn market_not_found() -> Self {
        Self::new(
            404,
            "Market not found",
            "MARKET_NOT_FOUND",
            "no such market",
        )
    }

    /// The limiter store could not answer (fail closed, as `/v1` does).
    pub fn limiter_unavailable() -> Self {
        PublicError {
            retry_after: Some(1),
            ..Self::new(
                503,
                "Service unavailable",
                "RATE_LIMIT_UNAVAILABLE",
                "rate limiting is unavailable; retry shortly",
            )
        }
    }

    /// A bug or a failing dependency; the cause goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "public API request failed");
        Self::new(
            500,
            "Internal server error",
            "INTERNAL_ERROR",
            "an unexpected error occurred; quote the X-Request-ID header when reporting it",
        )
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(cause = %cause, "public API dependency unavailable");
        PublicError {
            retry_after: Some(30),
            ..Self::new(
                503,
                "Service unavailable",
                "SERVICE_UNAVAILABLE",
                "a service this request depends on is unavailable; retry shortly",
            )
        }
    }

    /// The anonymous API's form of a problem raised outside its handlers (wrong method, body
    /// too large, deadline, unknown route) or by a shared service operation. Handlers that
    /// know a more specific code (`THREAD_NOT_FOUND`, `MARKET_NOT_FOUND`) return it directly.
    pub fn from_problem(code: ErrorCode, detail: &str) -> Self {
        let mut e = match code.status() {
            400 => Self::invalid(detail),
            404 => Self::not_found(detail),
            405 => Self::new(405, "Method not allowed", "METHOD_NOT_ALLOWED", detail),
            413 => Self::new(413, "Payload too large", "PAYLOAD_TOO_LARGE", detail),
            504 => Self::new(504, "Gateway timeout", "REQUEST_TIMEOUT", detail),
            503 => Self::unavailable(detail),
            _ => Self::new(
                500,
                "Internal server error",
                "INTERNAL_ERROR",
                "an unexpected error occurred; quote the X-Request-ID header when reporting it",
            ),
        };
        if let Some(s) = code.fixed_retry_after() {
            e.retry_after = Some(s);
        }
        e
    }
}

impl From<kash_store::StoreError> for PublicError {
    fn from(err: kash_store::StoreError) -> Self {
        if err.is_unavailable() {
            PublicError::unavailable(err)
        } else {
            PublicError::internal(err)
        }
    }
}

impl From<kash_service::ServiceError> for PublicError {
    fn from(err: kash_service::ServiceError) -> Self {
        match err {
            kash_service::ServiceError::Store(e) => e.into(),
            kash_service::ServiceError::Problem(p) => PublicError::from_problem(p.code, &p.detail),
        }
    }
}

impl IntoResponse for PublicError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({ "error": self.error, "message": self.message, "code": self.code });
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type PublicResult<T> = Result<T, PublicError>;
