//! Per-client-IP, per-route limits of the anonymous API (§4), one-minute sliding window, in the
//! limiter store `/v1` uses (so a fleet with Redis shares the counts). Every metered response
//! carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` — Reset in Unix **milliseconds**
//! here, unlike `/v1`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::PublicError;
use crate::limiter::guarded::Guarded;
use crate::limiter::Decision;
use crate::state::AppState;

const WINDOW_MS: i64 = 60_000;

/// The per-minute limit of a route (§4's table), before the operator's scale factor.
pub fn base_limit(method: &Method, route: &str) -> u32 {
    if method == Method::GET && route == "/api/threads" {
        50
    } else if method == Method::POST && route.starts_with("/api/embeds/") {
        200
    } else {
        100
    }
}

fn apply_headers(headers: &mut HeaderMap, d: &Decision) {
    for (name, value) in [
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", d.reset_at_ms.max(0).to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

fn exceeded(d: &Decision) -> Response {
    let retry = (d.retry_after_ms.max(1) as u64).div_ceil(1000);
    let body = json!({
        "error": "Too many requests",
        "message": format!("Rate limit of {} requests per minute exceeded", d.limit),
        "code": "RATE_LIMIT_EXCEEDED",
        "retryAfter": retry,
    });
    let mut response =
        (axum::http::StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(retry));
    response
}

pub async fn layer(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "/api/{*rest}".to_string());
    let ip =
        crate::http::client_ip::resolve(peer, req.headers(), &state.svc.settings.trusted_proxies);
    let limit = base_limit(req.method(), &route)
        .saturating_mul(state.svc.settings.public_api_rate_scale.max(1));
    let key = format!("api:{ip}:{} {route}", req.method());
    let now_ms = state.svc.now_ms();
    let decision = match state
        .limiter
        .call(now_ms, |s| async move {
            s.sliding_window(&key, limit, WINDOW_MS, now_ms).await
        })
        .await
    {
        Err(_) => {
            state.metrics.limiter_decision("unavailable");
            return PublicError::limiter_unavailable().into_response();
        }
        Ok(Guarded::Unmetered) => {
            state.metrics.limiter_decision("unmetered");
            return next.run(req).await;
        }
        Ok(Guarded::Answer(d)) => d,
    };
    let mut response = if decision.allowed {
        state.metrics.limiter_decision("allowed");
        next.run(req).await
    } else {
        state.metrics.limiter_decision("limited");
        exceeded(&decision)
    };
    apply_headers(response.headers_mut(), &decision);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_table() {
        assert_eq!(base_limit(&Method::GET, "/api/threads"), 50);
        assert_eq!(base_limit(&Method::GET, "/api/threads/{id}"), 100);
        assert_eq!(base_limit(&Method::GET, "/api/organizations/{id}"), 100);
        assert_eq!(base_limit(&Method::POST, "/api/twitter-links"), 100);
        assert_eq!(base_limit(&Method::POST, "/api/embeds/renders"), 200);
        assert_eq!(base_limit(&Method::POST, "/api/embeds/clicks"), 200);
    }
}
