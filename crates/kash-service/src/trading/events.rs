//! What a trade tells the outside: webhook events through the outbox and its trace timeline,
//! both written in the trade's own transaction.

use std::collections::BTreeMap;

use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_store::outbox::{insert_event, NewEvent};
use kash_store::sqlx::AnyConnection;
use kash_store::trades::{self, TradeRecord};
use kash_store::{keys, StoreError};
use serde_json::{json, Map, Value};

use super::chain;

/// The trade's metadata map.
pub fn metadata(t: &TradeRecord) -> BTreeMap<String, String> {
    serde_json::from_str(&t.metadata).unwrap_or_default()
}

/// The `data` of a `trade.*` webhook event (`webhooks.md` "Events").
pub fn webhook_data(t: &TradeRecord) -> Value {
    let mut data = json!({
        "tradeId": t.id,
        "marketId": t.market_id,
        "outcomeIndex": t.outcome_index,
        "amount": t.amount,
        "side": t.side,
        "metadata": metadata(t),
        "status": t.status,
    });
    let Some(obj) = data.as_object_mut() else {
        return data;
    };
    match t.status.as_str() {
        "pending_confirmation" => {
            obj.insert(
                "confirmationExpiresAt".into(),
                json!(t.confirm_expires_at.map(|ms| rfc3339_ms(from_unix_ms(ms)))),
            );
        }
        "completed" => {
            obj.insert(
                "txHash".into(),
                json!(t.ledger_tx_id.as_deref().map(chain::tx_hash)),
            );
            if t.side == "sell" {
                obj.insert("tokensOut".into(), json!("0"));
                obj.insert("tokensIn".into(), json!(t.tokens_in));
                obj.insert(
                    "usdcOut".into(),
                    json!(t.usdc_out_atomic.map(|v| v.max(0).to_string())),
                );
            } else {
                obj.insert("tokensOut".into(), json!(t.tokens_out));
            }
        }
        "failed" | "rejected" => {
            obj.insert("errorCode".into(), json!(t.error_code));
            obj.insert("errorMessage".into(), json!(t.error_message));
        }
        _ => {}
    }
    data
}

fn webhook_type(status: &str) -> Option<&'static str> {
    match status {
        "pending_confirmation" => Some("trade.confirmation-required"),
        "completed" => Some("trade.completed"),
        "failed" => Some("trade.failed"),
        "rejected" => Some("trade.rejected"),
        _ => None,
    }
}

/// Records the webhook event of the trade's current status for the key that placed it
/// (status `none` while that key has no active webhook URL).
pub async fn webhook(
    conn: &mut AnyConnection,
    t: &TradeRecord,
    deliverable: Option<bool>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some(event_type) = webhook_type(&t.status) else {
        return Ok(());
    };
    let deliverable = match deliverable {
        Some(d) => d,
        None => keys::get(&mut *conn, &t.api_key_id)
            .await?
            .is_some_and(|k| k.webhook_url.is_some() && k.is_active(now_ms)),
    };
    let id = id_text(&new_id());
    insert_event(
        &mut *conn,
        &NewEvent {
            id: &id,
            api_key_id: &t.api_key_id,
            event_type,
            api_version: &t.api_version,
            trade_id: Some(&t.id),
            data: webhook_data(t),
            created_at_ms: now_ms,
            deliverable,
        },
    )
    .await
}

/// Trace event types (CloudEvents-style).
pub mod trace_type {
    pub const ACCEPTED: &str = "com.kash.trade.accepted.v1";
    pub const CONFIRMATION_REQUIRED: &str = "com.kash.trade.confirmation-required.v1";
    pub const CONFIRMED: &str = "com.kash.trade.confirmed.v1";
    pub const EXECUTED: &str = "com.kash.trade.executed.v1";
    pub const FAILED: &str = "com.kash.trade.failed.v1";
    pub const REJECTED: &str = "com.kash.trade.rejected.v1";
    pub const WEBHOOK_DELIVERED: &str = "com.kash.trade.webhook.delivered.v1";
    pub const WEBHOOK_FAILED: &str = "com.kash.trade.webhook.failed.v1";
}

/// Appends a trace event; `data` holds only keys of the allowed set (`api.md` §5 Traces).
pub async fn trace(
    conn: &mut AnyConnection,
    t: &TradeRecord,
    event_type: &str,
    chain_id: u64,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    traces(conn, t, &[(event_type, reason)], chain_id, now_ms).await
}

/// Appends several trace events in one statement, in order.
pub async fn traces(
    conn: &mut AnyConnection,
    t: &TradeRecord,
    events: &[(&str, Option<&str>)],
    chain_id: u64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let rows: Vec<(&str, Value)> = events
        .iter()
        .map(|(event_type, reason)| (*event_type, trace_data(t, event_type, chain_id, *reason)))
        .collect();
    trades::add_events(&mut *conn, &t.correlation_id, &t.id, &rows, now_ms).await
}

fn trace_data(t: &TradeRecord, event_type: &str, chain_id: u64, reason: Option<&str>) -> Value {
    let mut data = Map::new();
    data.insert("tradeId".into(), json!(t.id));
    data.insert("marketId".into(), json!(t.market_id));
    data.insert("outcomeIndex".into(), json!(t.outcome_index));
    data.insert("side".into(), json!(t.side));
    data.insert("amount".into(), json!(t.amount));
    if event_type == trace_type::EXECUTED {
        data.insert("chainId".into(), json!(chain_id));
        if let Some(tx) = &t.ledger_tx_id {
            data.insert("txHash".into(), json!(chain::tx_hash(tx)));
        }
        data.insert(
            "tokensOut".into(),
            json!(t.tokens_out.clone().unwrap_or_else(|| "0".into())),
        );
    }
    if let Some(code) = &t.error_code {
        if event_type == trace_type::FAILED || event_type == trace_type::REJECTED {
            data.insert("errorCode".into(), json!(code));
            data.insert("errorMessage".into(), json!(t.error_message));
        }
    }
    if let Some(r) = reason {
        data.insert("reason".into(), json!(r));
    }
    Value::Object(data)
}

/// Atomic USDC as a non-negative amount.
pub fn usdc(v: i64) -> Usdc {
    Usdc::from_atomic(u64::try_from(v).unwrap_or(0))
}
