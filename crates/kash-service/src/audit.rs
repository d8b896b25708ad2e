//! Audit entries for lifecycle events (auth failures are written by the gate).

use kash_store::audit::{self, AuditRecord};
use kash_store::{Exec, StoreError};
use serde_json::Value;

/// Appends a lifecycle event (`key_issued`, `key_revoked`, `kill_switch_set`, …).
pub async fn lifecycle<'c>(
    exec: impl Exec<'c>,
    now_ms: i64,
    kind: &str,
    actor: &str,
    api_key_id: Option<&str>,
    details: Value,
) -> Result<(), StoreError> {
    audit::insert(
        exec,
        &AuditRecord {
            occurred_at: now_ms,
            kind: kind.to_string(),
            actor: Some(actor.to_string()),
            api_key_id: api_key_id.map(str::to_string),
            details: (!details.is_null()).then(|| details.to_string()),
            ..AuditRecord::default()
        },
    )
    .await
}
