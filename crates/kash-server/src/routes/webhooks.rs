//! Webhook management (`webhooks.md`, "API"): the event log, replays, and secret rotation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kash_core::time::{from_unix_ms, parse_rfc3339, rfc3339_ms};
use kash_core::{Issue, Problem};
use kash_store::webhooks::{self as store, EventRow, ListFilter};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::cursor;
use crate::http::envelope::{Ctx, List, Pagination, Single};
use crate::http::problem::ApiResult;
use crate::http::query::QueryParams;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 25;

fn ts(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| rfc3339_ms(from_unix_ms(ms)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub attempts: i64,
    pub last_attempted_at: Option<String>,
    pub last_delivered_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_failure_code: Option<String>,
    pub last_error_message: Option<String>,
    pub terminal_failure_at: Option<String>,
}

/// One item of `GET /v1/webhooks/events`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventView {
    pub id: String,
    pub event_type: String,
    pub trade_request_id: Option<String>,
    /// When the event was created.
    pub emitted_at: String,
    /// When the delivery worker took it from the outbox; null before.
    pub outbox_emitted_at: Option<String>,
    pub replay_count: i64,
    /// `none`, `pending`, `retrying`, `delivered` or `failed`.
    pub status: String,
    pub delivery: DeliveryView,
    /// Ours: the event's fixed `apiVersion`.
    pub api_version: String,
    /// Ours: when the next attempt is due (queue head only).
    pub next_attempt_at: Option<String>,
}

impl From<&EventRow> for WebhookEventView {
    fn from(e: &EventRow) -> Self {
        WebhookEventView {
            id: e.id.clone(),
            event_type: e.event_type.clone(),
            trade_request_id: e.trade_id.clone(),
            emitted_at: rfc3339_ms(from_unix_ms(e.created_at)),
            outbox_emitted_at: ts(e.outbox_emitted_at),
            replay_count: e.replay_count,
            status: e.status.clone(),
            delivery: DeliveryView {
                attempts: e.attempts,
                last_attempted_at: ts(e.last_attempted_at),
                last_delivered_at: ts(e.last_delivered_at),
                last_status_code: e.last_status_code,
                last_failure_code: e.last_failure_code.clone(),
                last_error_message: e.last_error_message.clone(),
                terminal_failure_at: ts(e.terminal_failure_at),
            },
            api_version: e.api_version.clone(),
            next_attempt_at: ts(e.next_attempt_at),
        }
    }
}

fn parse_time(q: &QueryParams, name: &str, issues: &mut Vec<Issue>) -> Option<i64> {
    let text = q.get(name)?.trim();
    if text.is_empty() {
        return None;
    }
    match parse_rfc3339(text) {
        Some(t) => Some(t.timestamp_millis()),
        None => {
            issues.push(Issue::new(name, "must be an RFC 3339 time"));
            None
        }
    }
}

/// The key's webhook events, newest first.
#[utoipa::path(get, path = "/v1/webhooks/events", tag = "webhooks",
    security(("ApiKey" = [])),
    params(
        ("status" = Option<String>, Query, description = "Comma list of none, pending, retrying, delivered, failed"),
        ("from" = Option<String>, Query, description = "Events created at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "Events created at or before (RFC 3339)"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("limit" = Option<u32>, Query, description = "1–100, default 25"),
    ),
    responses((status = 200, description = "A page of events", body = Vec<WebhookEventView>)))]
pub async fn list_events(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<List<WebhookEventView>>> {
    let key = &ctx.caller()?.key;
    let mut issues = Vec::new();
    let mut statuses: Vec<String> = Vec::new();
    for s in q.list("status") {
        if store::STATUSES.contains(&s) {
            if !statuses.iter().any(|x| x == s) {
                statuses.push(s.to_string());
            }
        } else {
            issues.push(Issue::new(
                "status",
                format!("`{s}` is not one of none, pending, retrying, delivered, failed"),
            ));
        }
    }
    statuses.sort();
    let from_ms = parse_time(&q, "from", &mut issues);
    let to_ms = parse_time(&q, "to", &mut issues);
    let limit = q.limit(DEFAULT_LIMIT, &mut issues);
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    // The cursor is bound to the caller and the filters (not the limit).
    let scope = format!(
        "webhooks.events|{}|{}|{}|{}",
        key.id,
        statuses.join(","),
        from_ms.map(|v| v.to_string()).unwrap_or_default(),
        to_ms.map(|v| v.to_string()).unwrap_or_default()
    );
    let mac_key = &state.svc.secrets.cursor_key;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(cursor::decode::<(i64, i64)>(mac_key, &scope, c)?),
        None => None,
    };
    let filter = ListFilter {
        statuses,
        from_ms,
        to_ms,
        before,
    };
    let rows = store::list_events(
        state.svc.db.reader(),
        &key.id,
        &filter,
        i64::from(limit) + 1,
    )
    .await?;
    let (rows, has_more) = cursor::split_page(rows, limit);
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => Some(cursor::encode(
            mac_key,
            &scope,
            &(last.created_at, last.seq),
        )),
        _ => None,
    };
    Ok(Json(List {
        data: rows.iter().map(WebhookEventView::from).collect(),
        pagination: Pagination {
            cursor: next,
            has_more,
            limit,
        },
        meta: ctx.meta(),
    }))
}

/// `event` of the redeliver answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedeliveredEvent {
    pub id: String,
    pub event_type: String,
    pub api_key_id: String,
    pub trade_request_id: Option<String>,
    pub emitted_at: String,
    pub last_delivered_at: Option<String>,
    pub delivery_attempts: i64,
    /// Ours.
    pub replay_count: i64,
    /// Ours.
    pub status: String,
}

/// Queues one more delivery of an event (any status), with the same event id.
#[utoipa::path(post, path = "/v1/webhooks/events/{id}/redeliver", tag = "webhooks",
    security(("ApiKey" = [])),
    params(("id" = String, Path, description = "Webhook event id")),
    responses(
        (status = 202, description = "Replay queued", body = RedeliveredEvent),
        (status = 409, description = "WEBHOOK_NOT_CONFIGURED"),
        (status = 429, description = "WEBHOOK_REPLAY_LIMIT_REACHED"),
    ))]
pub async fn redeliver(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Single<RedeliveredEvent>>)> {
    let key = &ctx.caller()?.key;
    let event = kash_service::webhooks::redeliver(&state.svc, &key.id, &id).await?;
    let mut meta = ctx.meta();
    meta.message = Some(format!(
        "Event {} queued for redelivery ({} of {} replays used); it follows the retry schedule from now.",
        event.id,
        event.replay_count,
        kash_service::webhooks::MAX_REPLAYS
    ));
    Ok((
        StatusCode::ACCEPTED,
        Json(Single {
            name: "event",
            value: RedeliveredEvent {
                id: event.id.clone(),
                event_type: event.event_type.clone(),
                api_key_id: event.api_key_id.clone(),
                trade_request_id: event.trade_id.clone(),
                emitted_at: rfc3339_ms(from_unix_ms(event.created_at)),
                last_delivered_at: ts(event.last_delivered_at),
                delivery_attempts: event.attempts,
                replay_count: event.replay_count,
                status: event.status.clone(),
            },
            meta,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecretView {
    /// The new secret, shown only in this response.
    pub secret: String,
    pub rotated_at: String,
    /// Until then deliveries carry a second `v1=` made with the previous secret.
    pub previous_retained_until: String,
}

/// Replaces the calling key's webhook secret; the previous one keeps signing for 7 days.
/// Never replayed through `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/auth/api-keys/me/webhook-secret/rotate", tag = "webhooks",
    security(("ApiKey" = [])),
    responses(
        (status = 200, description = "Rotated", body = WebhookSecretView),
        (status = 409, description = "WEBHOOK_NOT_CONFIGURED"),
        (status = 429, description = "WEBHOOK_SECRET_ROTATION_COOLDOWN"),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult<Json<Single<WebhookSecretView>>> {
    let key = &ctx.caller()?.key;
    let rotation =
        kash_service::webhooks::rotate(&state.svc, &key.id, &format!("api-key:{}", key.id)).await?;
    let mut meta = ctx.meta();
    meta.message = Some(format!(
        "Webhook secret rotated. Deliveries are signed with both secrets until {}; switch your receiver to the new secret before then.",
        rotation.previous_retained_until
    ));
    Ok(Json(Single {
        name: "webhookSecret",
        value: WebhookSecretView {
            secret: rotation.secret,
            rotated_at: rotation.rotated_at,
            previous_retained_until: rotation.previous_retained_until,
        },
        meta,
    }))
}

/// The `data` of a `trade.*` webhook event (`webhooks.md`, "Events"); members not part of an
/// event type are absent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TradeEventData {
    pub trade_id: String,
    pub market_id: String,
    pub outcome_index: u32,
    /// Human USDC decimal (`"12.5"`).
    pub amount: String,
    /// `buy` or `sell`.
    pub side: String,
    pub metadata: std::collections::BTreeMap<String, String>,
    /// `pending_confirmation`, `completed`, `failed` or `rejected`.
    pub status: String,
    /// `trade.confirmation-required` only.
    pub confirmation_expires_at: Option<String>,
    /// `trade.completed` only.
    pub tx_hash: Option<String>,
    /// `trade.completed` only (`"0"` for a sell).
    pub tokens_out: Option<String>,
    /// `trade.completed` sells only.
    pub tokens_in: Option<String>,
    /// `trade.completed` sells only.
    pub usdc_out: Option<String>,
    /// `trade.failed`, `trade.rejected` only.
    pub error_code: Option<String>,
    /// `trade.failed`, `trade.rejected` only.
    pub error_message: Option<String>,
}

/// The body of every webhook delivery, signed in `X-Kash-Signature`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventPayload {
    pub id: String,
    /// `trade.confirmation-required`, `trade.completed`, `trade.failed`, `trade.rejected`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub api_version: String,
    pub created_at: String,
    pub data: TradeEventData,
}

/// The webhook payloads, described as components of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(WebhookEventPayload, TradeEventData)))]
pub struct WebhookPayloads;
