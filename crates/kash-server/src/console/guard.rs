//! The guard of the console's JSON routes (`/api/account/*`): a live session (401
//! `SESSION_REQUIRED`), 60 requests a minute per session in the shared limiter store (429
//! `RATE_LIMIT_EXCEEDED`), and on every state change both CSRF checks (403
//! `CSRF_CHECK_FAILED`). Errors are problem details like everywhere else; no CORS headers are
//! ever sent, so other origins cannot read these responses.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kash_core::{ErrorCode, Problem};

use super::session::{self, CSRF_HEADER};
use crate::http::problem::ApiError;
use crate::limiter::guarded::Guarded;
use crate::state::AppState;

/// Requests per minute per session.
pub const PER_SESSION_PER_MINUTE: u32 = 60;
const WINDOW_MS: i64 = 60_000;

pub async fn api_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let signed_in = match session::current(&state, &parts.headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return ApiError::new(
                ErrorCode::SessionRequired,
                "sign in to the console first (no live session cookie)",
            )
            .into_response()
        }
        Err(e) => return e.into_response(),
    };

    let now = state.svc.now_ms();
    let key = format!("console-session:{}", signed_in.session.record.id_hash);
    let decision = match state
        .limiter
        .call(now, |s| {
            s.sliding_window(&key, PER_SESSION_PER_MINUTE, WINDOW_MS, now)
        })
        .await
    {
        Err(_) => return crate::gate::limiter_unavailable(&state),
        Ok(Guarded::Answer(d)) => Some(d),
        Ok(Guarded::Unmetered) => None,
    };
    let mut response = match decision {
        Some(d) if !d.allowed => {
            let secs = (d.retry_after_ms.max(1) as u64).div_ceil(1000);
            ApiError::from(
                Problem::new(
                    ErrorCode::RateLimitExceeded,
                    format!(
                        "the console allows {PER_SESSION_PER_MINUTE} requests per minute per session; retry in {secs} s"
                    ),
                )
                .retry_after(secs),
            )
            .into_response()
        }
        _ => {
            let changes_state = !matches!(parts.method, Method::GET | Method::HEAD);
            let submitted = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match changes_state
                .then(|| {
                    session::check_csrf(&state, &parts.headers, &signed_in, submitted.as_deref())
                })
                .transpose()
            {
                Err(refusal) => {
                    ApiError::new(ErrorCode::CsrfCheckFailed, refusal.detail()).into_response()
                }
                Ok(_) => {
                    parts.extensions.insert(signed_in);
                    next.run(Request::from_parts(parts, body)).await
                }
            }
        }
    };
    if let Some(d) = decision {
        let h = response.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
        // Unix milliseconds, as on the rest of `/api` (`/v1` uses seconds).
        h.insert("x-ratelimit-reset", HeaderValue::from(d.reset_at_ms));
    }
    response
}
