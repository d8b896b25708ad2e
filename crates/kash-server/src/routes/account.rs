//! `GET /v1/account/usage`.

use axum::extract::State;
use axum::Json;
use chrono::Duration;
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_store::{audit, usage as counters};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::envelope::{Ctx, Data};
use crate::http::problem::ApiResult;
use crate::state::AppState;
use crate::usage;

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub p50: Option<u64>,
    pub p99: Option<u64>,
}

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TradeWindow {
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
    /// `completed / (completed + failed)`; null before any trade ended.
    pub success_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
}

#[derive(Serialize, ToSchema)]
pub struct TradeWindows {
    #[serde(rename = "24h")]
    pub day: TradeWindow,
    #[serde(rename = "7d")]
    pub week: TradeWindow,
    #[serde(rename = "30d")]
    pub month: TradeWindow,
}

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWindow {
    pub emitted: u64,
    pub delivered: u64,
    pub failed: u64,
    pub success_rate: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookWindows {
    #[serde(rename = "7d")]
    pub week: WebhookWindow,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthDay {
    pub failures: u64,
    pub rate_limit_rejections: u64,
}

#[derive(Serialize, ToSchema)]
pub struct AuthWindows {
    #[serde(rename = "24h")]
    pub day: AuthDay,
}

#[derive(Serialize, ToSchema)]
pub struct RequestWindows {
    #[serde(rename = "24h")]
    pub day: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub api_key_id: String,
    pub generated_at: String,
    pub trades: TradeWindows,
    pub webhooks: WebhookWindows,
    pub auth: AuthWindows,
    /// Ours: requests authenticated as this key in the last 24 h.
    pub requests: RequestWindows,
    /// Ours: last use of the key (recorded at most once a minute).
    pub last_used_at: Option<String>,
}

/// Events raised in the window, and how many of them are delivered and terminally failed;
/// `successRate = delivered / (delivered + failed)`, null while none has settled.
fn webhook_window(c: kash_store::webhooks::UsageCounts) -> WebhookWindow {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let settled = n(c.delivered) + n(c.failed);
    WebhookWindow {
        emitted: n(c.emitted),
        delivered: n(c.delivered),
        failed: n(c.failed),
        success_rate: (settled > 0).then(|| n(c.delivered) as f64 / settled as f64),
    }
}

/// Nearest-rank percentile of ascending values.
fn percentile(sorted: &[i64], pct: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    u64::try_from(sorted[rank - 1]).ok()
}

/// Trades the key placed in the window: total, completed, ended unsuccessfully (failed or
/// rejected), `successRate = completed / (completed + failed)` and execution latency.
async fn trade_window(
    db: &kash_store::sqlx::AnyPool,
    key_id: &str,
    since: i64,
) -> ApiResult<TradeWindow> {
    let w = kash_store::trades::usage_since(db, key_id, since).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let settled = n(w.completed) + n(w.failed);
    Ok(TradeWindow {
        total: n(w.total),
        completed: n(w.completed),
        failed: n(w.failed),
        success_rate: (settled > 0).then(|| n(w.completed) as f64 / settled as f64),
        latency_ms: Some(Latency {
            p50: percentile(&w.latencies_ms, 50),
            p99: percentile(&w.latencies_ms, 99),
        }),
    })
}

/// Usage of the calling key.
#[utoipa::path(get, path = "/v1/account/usage", tag = "account",
    security(("ApiKey" = [])),
    responses((status = 200, description = "Usage of the calling key")))]
pub async fn usage(State(state): State<AppState>, ctx: Ctx) -> ApiResult<Json<Data<Usage>>> {
    let key = &ctx.caller()?.key;
    let data = usage_of(&state, &key.id, ctx.now).await?;
    Ok(Json(Data {
        data,
        meta: ctx.meta(),
    }))
}

/// The usage numbers of one key, as `/v1/account/usage` reports them (the console shows the
/// same numbers per key).
pub async fn usage_of(
    state: &AppState,
    key_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Usage> {
    // Counts still aggregated in this instance's memory belong in the answer.
    state.usage.flush(&state.svc.db).await?;
    let db = state.svc.db.reader();
    let day_ago = (now - Duration::hours(24)).timestamp_millis();
    let requests = counters::sum_since(db, key_id, usage::REQUESTS, day_ago).await?;
    let limited = counters::sum_since(db, key_id, usage::RATE_LIMITED, day_ago).await?;
    let failures = audit::count_key_failures(db, key_id, day_ago).await?;
    let week_ago = (now - Duration::days(7)).timestamp_millis();
    let hooks = kash_store::webhooks::usage_since(db, key_id, week_ago).await?;
    let last_used = kash_store::keys::get(db, key_id)
        .await?
        .and_then(|k| k.last_used_at);
    let non_negative = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Usage {
        api_key_id: key_id.to_string(),
        generated_at: rfc3339_ms(now),
        trades: TradeWindows {
            day: trade_window(db, key_id, day_ago).await?,
            week: trade_window(db, key_id, week_ago).await?,
            month: trade_window(db, key_id, (now - Duration::days(30)).timestamp_millis()).await?,
        },
        webhooks: WebhookWindows {
            week: webhook_window(hooks),
        },
        auth: AuthWindows {
            day: AuthDay {
                failures: non_negative(failures),
                rate_limit_rejections: non_negative(limited),
            },
        },
        requests: RequestWindows {
            day: non_negative(requests),
        },
        last_used_at: last_used.map(|ms| rfc3339_ms(from_unix_ms(ms))),
    })
}
