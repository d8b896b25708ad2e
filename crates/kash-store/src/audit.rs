//! The audit log: every auth failure and every key lifecycle event.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, Default, FromRow, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub occurred_at: i64,
    pub kind: String,
    pub code: Option<String>,
    pub ip: Option<String>,
    pub method: Option<String>,
    pub route: Option<String>,
    pub api_key_id: Option<String>,
    pub actor: Option<String>,
    pub request_id: Option<String>,
    pub count: i64,
    pub details: Option<String>,
}

const COLUMNS: &str = "id, occurred_at, kind, code, ip, method, route, api_key_id, actor, \
    request_id, count, details";

/// Appends one event (`id` and `count` of the argument are ignored).
pub async fn insert<'c>(exec: impl Exec<'c>, e: &AuditRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (occurred_at, kind, code, ip, method, route, api_key_id, \
         actor, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.occurred_at)
    .bind(&e.kind)
    .bind(&e.code)
    .bind(&e.ip)
    .bind(&e.method)
    .bind(&e.route)
    .bind(&e.api_key_id)
    .bind(&e.actor)
    .bind(&e.request_id)
    .bind(&e.details)
    .execute(exec)
    .await?;
    Ok(())
}

/// Counts a lockout refusal into the one row kept per IP and minute.
pub async fn count_lockout_refusal<'c>(
    exec: impl Exec<'c>,
    ip: &str,
    now_ms: i64,
    route: &str,
) -> Result<(), StoreError> {
    let minute = now_ms - now_ms.rem_euclid(60_000);
    sqlx::query(
        "INSERT INTO audit_events (occurred_at, kind, code, ip, route, minute_bucket, count) \
         VALUES ($1, 'ip_locked_out', 'IP_LOCKED_OUT', $2, $3, $4, 1) \
         ON CONFLICT (ip, minute_bucket) WHERE kind = 'ip_locked_out' \
         DO UPDATE SET count = audit_events.count + 1",
    )
    .bind(now_ms)
    .bind(ip)
    .bind(route)
    .bind(minute)
    .execute(exec)
    .await?;
    Ok(())
}

/// Filters of `kash-admin audit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub api_key_id: Option<String>,
    pub ip: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: i64,
}

/// Matching events, oldest first.
pub async fn list<'c>(
    exec: impl Exec<'c>,
    f: &AuditFilter,
) -> Result<Vec<AuditRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_events \
         WHERE ($1 IS NULL OR api_key_id = $1) AND ($2 IS NULL OR ip = $2) \
         AND occurred_at >= $3 ORDER BY occurred_at, id LIMIT $4"
    ))
    .bind(&f.api_key_id)
    .bind(&f.ip)
    .bind(f.since_ms.unwrap_or(0))
    .bind(f.limit)
    .fetch_all(exec)
    .await?)
}

/// Auth failures attributed to a key since a time (for `/v1/account/usage`).
pub async fn count_key_failures<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE api_key_id = $1 AND kind = 'auth_failure' \
         AND occurred_at >= $2",
    )
    .bind(api_key_id)
    .bind(since_ms)
    .fetch_one(exec)
    .await?)
}
