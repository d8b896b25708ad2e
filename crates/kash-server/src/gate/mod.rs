//! The authentication gate of `api.md` §3, run on every authenticated `/v1` route in the
//! stated order, each step failing closed before the handler runs:
//!
//! 1. brute-force lockout of the source IP
//! 2. `X-API-Key` present and well-formed
//! 3. key lookup (unknown, other environment, revoked, expired)
//! 4. IP allowlist
//! 5. scope
//! 6. version negotiation
//! 7. rate limit (per owner; reads and writes are separate budgets)
//! 8. kill switches
//! 9. signed body, when `X-Kash-Signature` is sent on a POST

mod audit;
mod lookup;
mod quota;
mod signed_body;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use kash_core::route_policy::{self, RoutePolicy, TRADE_PROCESSING_FLAG};
use kash_core::scope::ScopeSet;
use kash_core::{ErrorCode, Problem};
use kash_store::keys::ApiKeyRecord;

use crate::http::problem::ApiError;
use crate::http::request_id::RequestContext;
use crate::http::version::{self, ServedVersion};
use crate::limiter::guarded::Guarded;
use crate::state::AppState;
use crate::usage;

/// The caller of a gated route, available to handlers through [`crate::http::envelope::Ctx`].
#[derive(Clone, Debug)]
pub struct Authed {
    pub key: Arc<ApiKeyRecord>,
    pub scopes: ScopeSet,
    pub client_ip: IpAddr,
    pub version: &'static str,
    /// Tiers and limit overrides of the owner's active keys, read with the key.
    pub(crate) owner_limits: Option<Vec<(String, Option<i64>)>>,
}

/// What a refusal needs to be audited.
pub(crate) struct Attempt {
    pub ip: IpAddr,
    pub method: String,
    pub path: String,
    pub request_id: String,
    pub now_ms: i64,
}

pub async fn gate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let Some(policy) = parts
        .extensions
        .get::<MatchedPath>()
        .and_then(|m| route_policy::find(parts.method.as_str(), m.as_str()))
    else {
        return ApiError::internal(format!(
            "no route policy for {} {}",
            parts.method,
            parts.uri.path()
        ))
        .into_response();
    };
    let attempt = Attempt {
        ip: crate::http::client_ip::resolve(
            peer,
            &parts.headers,
            &state.svc.settings.trusted_proxies,
        ),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        request_id: parts
            .extensions
            .get::<RequestContext>()
            .map(|c| c.request_id.clone())
            .unwrap_or_default(),
        now_ms: state.svc.now_ms(),
    };

    // Steps 1–5 and 9 decide who is calling; 6–8 whether the call is served now.
    let authed = match authenticate(&state, &attempt, policy, &parts).await {
        Ok(authed) => authed,
        Err(refusal) => return refusal,
    };
    let served = match version::negotiate(&parts.headers, state.svc.now()) {
        Ok(v) => v,
        Err(problem) => return ApiError::from(problem).into_response(),
    };
    let authed = Authed {
        version: served,
        ..authed
    };
    state
        .usage
        .count(&authed.key.id, usage::REQUESTS, attempt.now_ms);
    state.usage.used(&authed.key.id, attempt.now_ms);

    let decision = match quota::meter(&state, &authed, policy, attempt.now_ms).await {
        Ok(decision) => decision,
        Err(refusal) => return with_version(refusal, served),
    };
    let mut response = match kill_switch(&state, policy) {
        Some(problem) => ApiError::from(problem).into_response(),
        None => match signed_body::check(&state, &attempt, &parts, &authed).await {
            Err(refusal) => refusal,
            Ok(()) => match idempotency_key_format(&parts) {
                Some(problem) => ApiError::from(problem).into_response(),
                None => {
                    parts.extensions.insert(authed);
                    next.run(Request::from_parts(parts, body)).await
                }
            },
        },
    };
    response
        .headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("private, no-cache"));
    if let Some(decision) = decision {
        quota::apply_headers(response.headers_mut(), &decision, policy, attempt.now_ms);
    }
    with_version(response, served)
}

/// `Idempotency-Key` is format-checked on every `/v1` POST (`api.md` §5): 1–255 characters of
/// `[A-Za-z0-9_\-:.]`.
fn idempotency_key_format(parts: &Parts) -> Option<Problem> {
    if parts.method != axum::http::Method::POST {
        return None;
    }
    let value = parts.headers.get("idempotency-key")?;
    let text = value.to_str().unwrap_or("\u{0}");
    if text.len() > 255 {
        return Some(Problem::new(
            ErrorCode::IdempotencyKeyTooLong,
            format!(
                "Idempotency-Key is {} characters; at most 255 are allowed",
                text.len()
            ),
        ));
    }
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'));
    (!valid).then(|| {
        Problem::new(
            ErrorCode::IdempotencyKeyFormatInvalid,
            "Idempotency-Key must be 1 to 255 characters of [A-Za-z0-9_-:.]",
        )
    })
}

fn with_version(mut response: Response, served: &'static str) -> Response {
    response.extensions_mut().insert(ServedVersion(served));
    response
}

async fn authenticate(
    state: &AppState,
    attempt: &Attempt,
    policy: &RoutePolicy,
    parts: &Parts,
) -> Result<Authed, Response> {
    // 1. lockout
    let ip = attempt.ip.to_string();
    match state
        .limiter
        .call(attempt.now_ms, |s| s.locked_until(&ip, attempt.now_ms))
        .await
    {
        Err(_) => return Err(limiter_unavailable(state)),
        Ok(Guarded::Answer(Some(until))) => {
            audit::lockout_refusal(state, attempt).await;
            let secs = ((until - attempt.now_ms).max(1) as u64).div_ceil(1000);
            return Err(ApiError::from(
                Problem::new(
                    ErrorCode::IpLockedOut,
                    format!("too many failed authentications from this IP; retry in {secs} s"),
                )
                .retry_after(secs),
            )
            .into_response());
        }
        Ok(_) => {}
    }
    // 2–3
    let (key, owner_limits) = match lookup::find_key(state, &parts.headers, attempt.now_ms).await {
        Ok(found) => found,
        Err(lookup::Refused { problem, key_id }) => {
            return Err(audit::refuse(state, attempt, problem, key_id.as_deref()).await)
        }
    };
    let refuse = |problem: Problem| audit::refuse(state, attempt, problem, Some(&key.id));
    // 4
    if let Some(list) = &key.ip_allowlist {
        if !allowlist_admits(list, attempt.ip) {
            return Err(refuse(Problem::new(
                ErrorCode::IpNotAllowed,
                format!("{} is not in this key's IP allowlist", attempt.ip),
            ))
            .await);
        }
    }
    // 5
    let scopes = ScopeSet::parse_list(&key.scopes).unwrap_or_default();
    if !policy.scopes.iter().any(|s| scopes.contains(*s)) {
        let needed = policy
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(refuse(
            Problem::new(
                ErrorCode::InsufficientScope,
                format!("this route needs the {needed} scope"),
            )
            .with(
                "requiredScopes",
                policy.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ),
        )
        .await);
    }
    Ok(Authed {
        key: Arc::new(key),
        scopes,
        client_ip: attempt.ip,
        version: version::CURRENT,
        owner_limits,
    })
}

fn allowlist_admits(list: &str, ip: IpAddr) -> bool {
    list.split(',')
        .filter_map(|item| {
            let item = item.trim();
            item.parse::<IpNet>()
                .ok()
                .or_else(|| item.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .any(|net| net.contains(&ip))
}

fn kill_switch(state: &AppState, policy: &RoutePolicy) -> Option<Problem> {
    if state.kill_switches.is_on(policy.flag) {
        return Some(
            Problem::new(
                ErrorCode::RouteDisabled,
                format!(
                    "this route is disabled by the operator (flag {})",
                    policy.flag
                ),
            )
            .with("flag", policy.flag),
        );
    }
    if policy.trade_processing && state.kill_switches.is_on(TRADE_PROCESSING_FLAG) {
        return Some(
            Problem::new(
                ErrorCode::ApiTradeProcessingHalted,
                "trade processing is halted by the operator; reads keep working",
            )
            .with("flag", TRADE_PROCESSING_FLAG),
        );
    }
    None
}

pub(crate) fn limiter_unavailable(state: &AppState) -> Response {
    state.metrics.limiter_decision("unavailable");
    ApiError::new(
        ErrorCode::RateLimitUnavailable,
        "the rate-limit subsystem is unavailable; retry shortly",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists() {
        let list = "203.0.113.7,10.0.0.0/8,2001:db8::/32";
        for ip in ["203.0.113.7", "10.9.9.9", "2001:db8::42"] {
            assert!(allowlist_admits(list, ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.8", "11.0.0.1", "2001:db9::1", "::1"] {
            assert!(!allowlist_admits(list, ip.parse().unwrap()), "{ip}");
        }
    }
}
