//! Problem details (RFC 9457). Handlers, extractors and the gate return [`ApiError`]; it leaves
//! the problem in the response's extensions and [`render`] — the one place that knows the
//! request id and path — writes the body, so every problem has the same complete shape.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kash_core::{ErrorCode, Problem};
use kash_service::ServiceError;
use kash_store::StoreError;
use serde_json::{json, Map, Value};

use crate::http::request_id::RequestContext;
use crate::state::AppState;

/// An error on its way to the client: the problem it shows, and an internal cause that is
/// logged with the request id and never returned.
#[derive(Debug)]
pub struct ApiError {
    pub problem: Problem,
    pub cause: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Problem::new(code, detail).into()
    }

    /// A bug or an unexpected failure: `500 INTERNAL_ERROR` with a generic detail.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            problem: Problem::new(
                ErrorCode::InternalError,
                "An unexpected error occurred; quote the requestId when reporting it.",
            ),
            cause: Some(cause.to_string()),
        }
    }

    /// A dependency (database, Redis) did not answer: `503 DEPENDENCY_UNAVAILABLE`.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        ApiError {
            problem: Problem::new(
                ErrorCode::DependencyUnavailable,
                "A service this request depends on is unavailable; retry shortly.",
            ),
            cause: Some(cause.to_string()),
        }
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        ApiError {
            problem,
            cause: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            ApiError::unavailable(err)
        } else {
            ApiError::internal(err)
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Problem(p) => p.into(),
            ServiceError::Store(s) => s.into(),
        }
    }
}

/// Marker left in a response for [`render`].
#[derive(Clone, Debug)]
pub struct PendingProblem {
    pub problem: Problem,
    pub cause: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.problem.code.status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(PendingProblem {
            problem: self.problem,
            cause: self.cause,
        });
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Builds the body of a problem response.
pub fn problem_body(problem: &Problem, docs_base: &str, instance: &str, request_id: &str) -> Value {
    let code = problem.code;
    let mut body = Map::new();
    body.insert(
        "type".into(),
        json!(format!("{docs_base}{}", code.as_str())),
    );
    body.insert("title".into(), json!(code.title()));
    body.insert("status".into(), json!(code.status()));
    body.insert("code".into(), json!(code.as_str()));
    body.insert("detail".into(), json!(problem.detail));
    body.insert("instance".into(), json!(instance));
    body.insert("requestId".into(), json!(request_id));
    for (key, value) in &problem.extensions {
        body.entry(key.clone()).or_insert_with(|| value.clone());
    }
    if !problem.issues.is_empty() {
        body.insert("issues".into(), json!(problem.issues));
    }
    // Kash documents some members nested as well; send both so either reader finds them.
    let nested: Map<String, Value> = ["cap", "flag"]
        .iter()
        .filter_map(|k| {
            problem
                .extensions
                .get(*k)
                .map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    if !nested.is_empty() {
        body.insert("extensions".into(), Value::Object(nested));
    }
    if code == ErrorCode::ApiVersionUnsupported {
        let metadata: Map<String, Value> = ["requested", "supported", "current"]
            .iter()
            .filter_map(|k| {
                problem
                    .extensions
                    .get(*k)
                    .map(|v| (k.to_string(), v.clone()))
            })
            .collect();
        body.insert("metadata".into(), Value::Object(metadata));
    }
    Value::Object(body)
}

/// Writes the body of every pending problem (outer middleware).
pub async fn render(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let instance = req.uri().path().to_string();
    let request_id = req
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let response = next.run(req).await;
    let Some(pending) = response.extensions().get::<PendingProblem>().cloned() else {
        return response;
    };
    if let Some(cause) = &pending.cause {
        tracing::error!(
            request_id = %request_id,
            code = %pending.problem.code,
            cause = %kash_core::apikey::redact_keys(cause),
            "request failed"
        );
    }
    let body = problem_body(
        &pending.problem,
        &state.svc.settings.error_docs_url,
        &instance,
        &request_id,
    );
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Ok(code) = HeaderValue::from_str(pending.problem.code.as_str()) {
        parts.headers.insert("x-kash-error-code", code);
    }
    if let Some(secs) = pending.problem.retry_after {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}
