//! `GET /v1/traces/{correlationId}`: the real timeline of a trade — what the trade code
//! recorded in its own transactions, plus the webhook deliveries of its events.

use axum::extract::{Path, State};
use axum::Json;
use kash_core::ids::{id_text, parse_uuid};
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_core::Problem;
use kash_service::trading::events::trace_type;
use kash_store::trades;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::http::envelope::{Ctx, Single};
use crate::http::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The only `data` keys Kash's SDK accepts.
pub const DATA_KEYS: [&str; 11] = [
    "tradeId",
    "marketId",
    "outcomeIndex",
    "side",
    "amount",
    "chainId",
    "txHash",
    "tokensOut",
    "errorCode",
    "errorMessage",
    "reason",
];

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceEventView {
    /// CloudEvents-style, e.g. `com.kash.trade.executed.v1`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: String,
    pub sequence_number: u64,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceView {
    pub correlation_id: String,
    pub events: Vec<TraceEventView>,
}

fn restrict(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| DATA_KEYS.contains(&k.as_str()))
                .collect::<Map<String, Value>>(),
        ),
        _ => json!({}),
    }
}

/// A trade's timeline.
#[utoipa::path(get, path = "/v1/traces/{id}", tag = "trades",
    security(("ApiKey" = [])),
    params(("id" = String, Path, description = "Correlation id (a trade's correlationId)")),
    responses((status = 200, description = "The timeline", body = TraceView),
        (status = 404, description = "RESOURCE_NOT_FOUND")))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<Single<TraceView>>> {
    let key = &ctx.caller()?.key;
    let not_found = || ApiError::from(Problem::not_found(format!("no trace {id}")));
    let correlation = parse_uuid(&id).map(|u| id_text(&u)).ok_or_else(not_found)?;
    let db = state.svc.db.reader();
    let owned = trades::by_correlation(db, &correlation).await?;
    if owned.is_empty() || owned.iter().any(|t| t.owner_id != key.owner.id()) {
        return Err(not_found());
    }
    // (time, order within the source, type, data)
    let mut items: Vec<(i64, i64, String, Value)> = Vec::new();
    for e in trades::events_of(db, &correlation).await? {
        let data: Value = serde_json::from_str(&e.data).unwrap_or_else(|_| json!({}));
        items.push((e.occurred_at, e.seq, e.event_type, restrict(data)));
    }
    for t in &owned {
        for ev in kash_store::webhooks::events_of_trade(db, &t.id).await? {
            let base = json!({ "tradeId": t.id, "marketId": t.market_id });
            if let Some(at) = ev.last_delivered_at {
                items.push((
                    at,
                    i64::MAX - 1,
                    trace_type::WEBHOOK_DELIVERED.into(),
                    base.clone(),
                ));
            }
            if let Some(at) = ev.terminal_failure_at {
                let mut data = base.clone();
                if let Some(obj) = data.as_object_mut() {
                    obj.insert("reason".into(), json!(ev.last_failure_code));
                }
                items.push((at, i64::MAX, trace_type::WEBHOOK_FAILED.into(), data));
            }
        }
    }
    items.sort_by_key(|a| (a.0, a.1));
    let events = items
        .into_iter()
        .enumerate()
        .map(|(i, (at, _, event_type, data))| TraceEventView {
            event_type,
            occurred_at: rfc3339_ms(from_unix_ms(at)),
            sequence_number: i as u64 + 1,
            data,
        })
        .collect();
    Ok(Json(Single {
        name: "trace",
        value: TraceView {
            correlation_id: correlation,
            events,
        },
        meta: ctx.meta(),
    }))
}
