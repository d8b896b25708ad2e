//! The transactional outbox for webhook events (`webhooks.md`). Callers insert events with the
//! transaction that changes state, so a committed change always has its event and a rolled-back
//! one never does; the delivery worker takes them from here.

use serde_json::{json, Value};

use crate::{Exec, StoreError};

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The event id (lowercase UUID), also sent as `X-Kash-Event-Id`.
    pub id: &'a str,
    pub api_key_id: &'a str,
    /// `trade.confirmation-required`, `trade.completed`, `trade.failed`, `trade.rejected`.
    pub event_type: &'a str,
    /// Fixed at creation; the same on every retry and replay.
    pub api_version: &'a str,
    pub trade_id: Option<&'a str>,
    /// The event's `data` member.
    pub data: Value,
    pub created_at_ms: i64,
    /// Whether the key had an active webhook URL when the event was raised (else `none`).
    pub deliverable: bool,
}

/// The envelope exactly as delivered.
pub fn envelope(ev: &NewEvent<'_>) -> Value {
    json!({
        "id": ev.id,
        "type": ev.event_type,
        "apiVersion": ev.api_version,
        "createdAt": kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(ev.created_at_ms)),
        "data": ev.data,
    })
}

pub async fn insert_event<'c>(exec: impl Exec<'c>, ev: &NewEvent<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_events (id, api_key_id, event_type, api_version, trade_id, body, \
         created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ev.id)
    .bind(ev.api_key_id)
    .bind(ev.event_type)
    .bind(ev.api_version)
    .bind(ev.trade_id)
    .bind(envelope(ev).to_string())
    .bind(ev.created_at_ms)
    .bind(if ev.deliverable { "pending" } else { "none" })
    .execute(exec)
    .await?;
    Ok(())
}
