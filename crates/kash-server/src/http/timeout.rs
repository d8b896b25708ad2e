//! The 30 s request deadline → `504 REQUEST_TIMEOUT` (with `Retry-After: 5`).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kash_core::ErrorCode;

use crate::http::problem::ApiError;
use crate::state::AppState;

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    deadline(state.request_timeout, req, next).await
}

pub async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request did not complete within {} s",
                limit.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::problem::PendingProblem;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    #[tokio::test]
    async fn slow_requests_get_504_with_retry_after() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(|req, next| {
                deadline(Duration::from_millis(20), req, next)
            }));
        let slow = app
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(slow.status(), 504);
        let pending = slow.extensions().get::<PendingProblem>().unwrap();
        assert_eq!(pending.problem.code, ErrorCode::RequestTimeout);
        assert_eq!(pending.problem.retry_after, Some(5));
        let fast = app
            .oneshot(Request::get("/fast").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fast.status(), 200);
    }
}
