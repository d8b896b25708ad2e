//! Client errors: an API problem (with everything the server said), or a failure to talk to it.

use serde_json::Value;

/// A problem response (`application/problem+json`), as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiProblem {
    pub status: u16,
    /// The catalogue code (`API_KEY_REVOKED`); `HTTP_<status>` if the body had none.
    pub code: String,
    pub title: String,
    pub detail: String,
    /// The problem's `type` URL (documentation of the code).
    pub docs_url: Option<String>,
    pub request_id: Option<String>,
    /// `Retry-After`, in seconds.
    pub retry_after_secs: Option<u64>,
    /// The whole body, for extension members (`issues`, `cap`, `flag`, …).
    pub body: Value,
}

impl ApiProblem {
    /// 401 and 403: the credential or its rights are the problem.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self.status, 401 | 403)
    }

    /// Whether retrying the same request later can succeed (timeouts, rate limits, lockouts and
    /// server-side failures); a 4xx about the request itself never can.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 408 | 429 | 500..=599)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} {}: {}", .0.status, .0.code, .0.detail)]
    Api(Box<ApiProblem>),
    #[error("cannot reach the server: {0}")]
    Network(String),
    #[error("unexpected response (HTTP {status}): {message}")]
    Decode { status: u16, message: String },
    #[error("{0}")]
    Config(String),
}

impl Error {
    pub fn problem(&self) -> Option<&ApiProblem> {
        match self {
            Error::Api(p) => Some(p),
            _ => None,
        }
    }
}
