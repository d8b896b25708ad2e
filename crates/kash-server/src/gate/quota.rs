//! Step 7: the per-owner request quota and its headers (`api.md` §4).

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use kash_core::route_policy::{Budget, RoutePolicy};
use kash_core::{ErrorCode, Problem};
use kash_service::keys::key_rate_limit;
use kash_store::keys;

use super::{limiter_unavailable, Authed};
use crate::http::problem::ApiError;
use crate::limiter::guarded::Guarded;
use crate::limiter::Decision;
use crate::state::AppState;
use crate::usage;

const WINDOW_MS: i64 = 60_000;

/// The owner's quota: the highest requests/min among its active keys.
async fn owner_limit(state: &AppState, authed: &Authed, now_ms: i64) -> Result<u32, ApiError> {
    let tiers = state.svc.settings.tier_rate_limits();
    let own = key_rate_limit(&authed.key.tier, authed.key.rate_limit_per_minute, tiers);
    let fetched;
    let others = match &authed.owner_limits {
        Some(limits) => limits,
        None => {
            fetched =
                keys::owner_rate_limits(state.svc.db.reader(), &authed.key.owner, now_ms).await?;
            &fetched
        }
    };
    Ok(others
        .iter()
        .map(|(tier, overridden)| key_rate_limit(tier, *overridden, tiers))
        .fold(own, u32::max))
}

/// Meters the request. `Ok(None)`: served unmetered (breaker open).
pub(crate) async fn meter(
    state: &AppState,
    authed: &Authed,
    policy: &RoutePolicy,
    now_ms: i64,
) -> Result<Option<Decision>, Response> {
    let limit = owner_limit(state, authed, now_ms)
        .await
        .map_err(IntoResponse::into_response)?;
    let owner = authed.key.owner.to_string();
    let result = match policy.budget() {
        Budget::Read => {
            let key = format!("q:{owner}:read");
            state
                .limiter
                .call(now_ms, |s| async move {
                    s.sliding_window(&key, limit, WINDOW_MS, now_ms).await
                })
                .await
        }
        Budget::Write => {
            let key = format!("q:{owner}:write");
            state
                .limiter
                .call(now_ms, |s| async move {
                    s.token_bucket(&key, limit, WINDOW_MS, now_ms).await
                })
                .await
        }
    };
    let decision = match result {
        Err(_) => return Err(limiter_unavailable(state)),
        Ok(Guarded::Unmetered) => {
            state.metrics.limiter_decision("unmetered");
            return Ok(None);
        }
        Ok(Guarded::Answer(decision)) => decision,
    };
    if decision.allowed {
        state.metrics.limiter_decision("allowed");
        return Ok(Some(decision));
    }
    state.metrics.limiter_decision("limited");
    state
        .usage
        .count(&authed.key.id, usage::RATE_LIMITED, now_ms);
    let retry = retry_after_secs(&decision);
    let mut response = ApiError::from(
        Problem::new(
            ErrorCode::RateLimitExceeded,
            format!(
                "the {} quota of {} requests per minute is used up; retry in {retry} s",
                budget_name(policy),
                decision.limit
            ),
        )
        .retry_after(retry),
    )
    .into_response();
    apply_headers(response.headers_mut(), &decision, policy, now_ms);
    Err(response)
}

fn retry_after_secs(d: &Decision) -> u64 {
    (d.retry_after_ms.max(1) as u64).div_ceil(1000)
}

fn budget_name(policy: &RoutePolicy) -> &'static str {
    match policy.budget() {
        Budget::Read => "read",
        Budget::Write => "write",
    }
}

/// `X-RateLimit-*` (reset in Unix seconds) and the IETF `RateLimit-Policy` / `RateLimit`
/// fields, for the budget that applied.
pub(crate) fn apply_headers(
    headers: &mut HeaderMap,
    d: &Decision,
    policy: &RoutePolicy,
    now_ms: i64,
) {
    let reset_secs = (d.reset_at_ms.max(0) as u64).div_ceil(1000);
    let until_reset = ((d.reset_at_ms - now_ms).max(0) as u64).div_ceil(1000);
    let name = budget_name(policy);
    let pairs = [
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", reset_secs.to_string()),
        ("ratelimit-policy", format!("\"{name}\";q={};w=60", d.limit)),
        (
            "ratelimit",
            format!("\"{name}\";r={};t={until_reset}", d.remaining),
        ),
    ];
    for (header, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header, value);
        }
    }
}
