//! The outer layer of the anonymous API: answers `OPTIONS` preflights, adds
//! `Access-Control-Allow-Origin: *` to every response, and rewrites problems raised outside its
//! handlers (405, 413, 504) into its `{error, message, code}` shape.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{is_public_path, PublicError};
use crate::http::problem::PendingProblem;

/// Response headers a browser script may read (rate-limit state, retry hints, request id).
const EXPOSED: &str =
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-ID";

fn allow_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
}

fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    allow_origin(h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

pub async fn layer(req: Request, next: Next) -> Response {
    if !is_public_path(req.uri().path()) {
        return next.run(req).await;
    }
    // Preflights are answered before routing and are not metered: a browser sends one per
    // origin and route, and refusing it would only break the real request that follows.
    if req.method() == Method::OPTIONS {
        return preflight();
    }
    let mut response = next.run(req).await;
    if let Some(pending) = response.extensions_mut().remove::<PendingProblem>() {
        let allow = response.headers().get(header::ALLOW).cloned();
        let limits: Vec<(header::HeaderName, HeaderValue)> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("x-ratelimit-"))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if let Some(cause) = &pending.cause {
            tracing::error!(cause = %cause, "public API request failed");
        }
        response = PublicError::from_problem(pending.problem.code, &pending.problem.detail)
            .into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response.headers_mut().extend(limits);
    }
    allow_origin(response.headers_mut());
    response
}
