//! Refusals of the gate: the audit entry, the lockout count and the problem response.

use axum::response::{IntoResponse, Response};
use kash_core::Problem;
use kash_store::audit::{self, AuditRecord};

use super::{limiter_unavailable, Attempt};
use crate::http::problem::ApiError;
use crate::limiter::guarded::Guarded;
use crate::state::AppState;

/// Audits an auth failure, counts credential failures toward the IP's lockout, and answers
/// with the problem.
pub(crate) async fn refuse(
    state: &AppState,
    attempt: &Attempt,
    problem: Problem,
    key_id: Option<&str>,
) -> Response {
    let code = problem.code;
    let record = AuditRecord {
        occurred_at: attempt.now_ms,
        kind: "auth_failure".into(),
        code: Some(code.as_str().into()),
        ip: Some(attempt.ip.to_string()),
        method: Some(attempt.method.clone()),
        route: Some(attempt.path.clone()),
        api_key_id: key_id.map(str::to_string),
        request_id: Some(attempt.request_id.clone()),
        ..AuditRecord::default()
    };
    if let Err(err) = audit::insert(state.svc.db.writer(), &record).await {
        tracing::error!(error = %err, code = %code, "audit entry for an auth failure not written");
    }
    if code.is_credential_failure() {
        let ip = attempt.ip.to_string();
        let policy = state.lockout_policy();
        match state
            .limiter
            .call(attempt.now_ms, |s| {
                s.record_failure(&ip, policy, attempt.now_ms)
            })
            .await
        {
            Ok(Guarded::Answer(Some(until))) => {
                tracing::warn!(ip = %ip, until_ms = until, "IP locked out after repeated credential failures");
            }
            Ok(_) => {}
            Err(_) => return limiter_unavailable(state),
        }
    }
    ApiError::from(problem).into_response()
}

/// Lockout refusals are not audited one by one: one entry per IP and minute, with a count.
pub(crate) async fn lockout_refusal(state: &AppState, attempt: &Attempt) {
    if let Err(err) = audit::count_lockout_refusal(
        state.svc.db.writer(),
        &attempt.ip.to_string(),
        attempt.now_ms,
        &attempt.path,
    )
    .await
    {
        tracing::error!(error = %err, "lockout refusal not audited");
    }
}
