//! Trades (`api.md` §5): place, confirm, list and read. The rules live in
//! `kash_service::trading`; this module maps them to the wire.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kash_core::ids::{id_text, parse_uuid};
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_core::{Issue, Problem};
use kash_service::trading::confirm::{self, Confirmed};
use kash_service::trading::place::Placed;
use kash_service::trading::{chain, events};
use kash_store::trades::{self as store, OwnerFilter, TradeRecord};
use kash_store::{keys, webhooks};
use serde::Serialize;
use utoipa::ToSchema;

use super::markets::ts;
use crate::http::body::RawBody;
use crate::http::cursor;
use crate::http::envelope::{Ctx, List, Meta, Pagination};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::query::QueryParams;
use crate::state::AppState;

#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryView {
    /// `none`, `pending`, `retrying`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_attempted_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_failure_code: Option<String>,
    pub terminal_failure_at: Option<String>,
}

/// TradeResource.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TradeView {
    pub id: String,
    pub market_id: String,
    pub outcome_index: u32,
    /// Human USDC decimal (`"12.5"`).
    pub amount: String,
    pub side: String,
    /// `pending_confirmation`, `pending`, `validating`, `executing`, `completed`, `failed`,
    /// `rejected`.
    pub status: String,
    pub correlation_id: String,
    pub client_request_id: Option<String>,
    pub tx_hash: Option<String>,
    pub tokens_out: Option<String>,
    pub tokens_in: Option<String>,
    /// Atomic USDC the seller received.
    pub usdc_out: Option<String>,
    /// Atomic USDC.
    pub protocol_fee: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Null while the placing key has no active webhook URL.
    pub webhook_delivery: Option<WebhookDeliveryView>,
    pub metadata: BTreeMap<String, String>,
    pub channel: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Renders trades, looking up each placing key's webhook state once.
pub struct Renderer<'a> {
    state: &'a AppState,
    hooks: HashMap<String, bool>,
}

impl<'a> Renderer<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Renderer {
            state,
            hooks: HashMap::new(),
        }
    }

    async fn has_hook(&mut self, key_id: &str) -> Result<bool, ApiError> {
        if let Some(v) = self.hooks.get(key_id) {
            return Ok(*v);
        }
        let now = self.state.svc.now_ms();
        let v = keys::get(self.state.svc.db.reader(), key_id)
            .await?
            .is_some_and(|k| k.webhook_url.is_some() && k.is_active(now));
        self.hooks.insert(key_id.to_string(), v);
        Ok(v)
    }

    pub async fn view(&mut self, t: &TradeRecord) -> Result<TradeView, ApiError> {
        let delivery = if self.has_hook(&t.api_key_id).await? {
            webhooks::delivery_summary(self.state.svc.db.reader(), &t.id)
                .await?
                .map(|d| WebhookDeliveryView {
                    status: d.status,
                    attempts: d.attempts,
                    last_attempted_at: ts(d.last_attempted_at),
                    last_status_code: d.last_status_code,
                    last_failure_code: d.last_failure_code,
                    terminal_failure_at: ts(d.terminal_failure_at),
                })
        } else {
            None
        };
        Ok(TradeView {
            id: t.id.clone(),
            market_id: t.market_id.clone(),
            outcome_index: t.outcome_index as u32,
            amount: t.amount.clone(),
            side: t.side.clone(),
            status: t.status.clone(),
            correlation_id: t.correlation_id.clone(),
            client_request_id: t.client_request_id.clone(),
            tx_hash: match t.status.as_str() {
                "completed" => t.ledger_tx_id.as_deref().map(chain::tx_hash),
                _ => None,
            },
            tokens_out: t.tokens_out.clone(),
            tokens_in: t.tokens_in.clone(),
            usdc_out: t.usdc_out_atomic.map(|v| v.max(0).to_string()),
            protocol_fee: t.protocol_fee_atomic.map(|v| v.max(0).to_string()),
            error_code: t.error_code.clone(),
            error_message: t.error_message.clone(),
            webhook_delivery: delivery,
            metadata: events::metadata(t),
            channel: t.channel.clone(),
            created_at: rfc3339_ms(from_unix_ms(t.created_at)),
            updated_at: rfc3339_ms(from_unix_ms(t.updated_at)),
        })
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationView {
    /// One-time token (43 characters of base64url).
    pub token: String,
    pub expires_at: String,
}

/// `{trade, data, confirmation?, confirmationToken?, _meta}`.
#[derive(Serialize)]
pub struct TradeEnvelope {
    pub trade: TradeView,
    pub data: TradeView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<ConfirmationView>,
    #[serde(rename = "confirmationToken", skip_serializing_if = "Option::is_none")]
    pub confirmation_token: Option<String>,
    #[serde(rename = "_meta")]
    pub meta: Meta,
}

fn envelope(view: TradeView, confirmation: Option<ConfirmationView>, meta: Meta) -> TradeEnvelope {
    let data = TradeView {
        webhook_delivery: view.webhook_delivery.clone(),
        metadata: view.metadata.clone(),
        ..clone_view(&view)
    };
    TradeEnvelope {
        confirmation_token: confirmation.as_ref().map(|c| c.token.clone()),
        trade: view,
        data,
        confirmation,
        meta,
    }
}

fn clone_view(v: &TradeView) -> TradeView {
    TradeView {
        id: v.id.clone(),
        market_id: v.market_id.clone(),
        outcome_index: v.outcome_index,
        amount: v.amount.clone(),
        side: v.side.clone(),
        status: v.status.clone(),
        correlation_id: v.correlation_id.clone(),
        client_request_id: v.client_request_id.clone(),
        tx_hash: v.tx_hash.clone(),
        tokens_out: v.tokens_out.clone(),
        tokens_in: v.tokens_in.clone(),
        usdc_out: v.usdc_out.clone(),
        protocol_fee: v.protocol_fee.clone(),
        error_code: v.error_code.clone(),
        error_message: v.error_message.clone(),
        webhook_delivery: v.webhook_delivery.clone(),
        metadata: v.metadata.clone(),
        channel: v.channel.clone(),
        created_at: v.created_at.clone(),
        updated_at: v.updated_at.clone(),
    }
}

const REPLAY_HEADER: &str = "idempotent-replay";

fn replay_marked(mut response: Response, replay: bool) -> Response {
    if replay {
        response
            .headers_mut()
            .insert(REPLAY_HEADER, HeaderValue::from_static("true"));
    }
    response
}

/// Places a trade: `201` executed, `202` held for confirmation, `200` an idempotent replay of
/// a trade that has moved on.
#[utoipa::path(post, path = "/v1/trades", tag = "trades",
    security(("ApiKey" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 of [A-Za-z0-9_-:.]; replays for 24 h")),
    responses(
        (status = 201, description = "Executed", body = TradeView),
        (status = 202, description = "High-value: held for confirmation (confirmation.token)", body = TradeView),
        (status = 200, description = "Idempotent replay", body = TradeView),
        (status = 400, description = "VALIDATION_FAILED, AMOUNT_TOO_LARGE, OUTCOME_INDEX_INVALID"),
        (status = 404, description = "MARKET_NOT_FOUND"),
        (status = 409, description = "MARKET_NOT_TRADEABLE, SPENDING_LIMIT_EXCEEDED, INSUFFICIENT_BALANCE, INSUFFICIENT_POSITION, IDEMPOTENCY_KEY_CONFLICT, CLIENT_REQUEST_ID_CONFLICT"),
        (status = 410, description = "IDEMPOTENCY_KEY_EXPIRED"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: axum::Extension<RawBody>,
) -> ApiResult<Response> {
    let authed = ctx.caller()?;
    let idem = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let placed = state
        .trades
        .place(
            &state.svc,
            authed.key.clone(),
            authed.version,
            idem.as_deref(),
            &body.0 .0,
        )
        .await?;
    match placed {
        Placed::Refused { problem, replay } => Ok(replay_marked(
            ApiError::from(problem).into_response(),
            replay,
        )),
        Placed::Trade {
            trade,
            status,
            token,
            replay,
        } => {
            state.metrics.count_trade(&trade.status);
            let view = Renderer::new(&state).view(&trade).await?;
            let confirmation = token.map(|token| ConfirmationView {
                token,
                expires_at: ts(trade.confirm_expires_at).unwrap_or_default(),
            });
            let mut meta = ctx.meta();
            meta.idempotent = Some(replay);
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
            Ok(replay_marked(
                (code, Json(envelope(view, confirmation, meta))).into_response(),
                replay,
            ))
        }
    }
}

fn trade_path_id(raw: &str) -> Result<String, ApiError> {
    parse_uuid(raw)
        .map(|id| id_text(&id))
        .ok_or_else(|| Problem::not_found(format!("no trade {raw}")).into())
}

/// Confirms a high-value trade with its one-time token; exactly one confirm can win.
#[utoipa::path(post, path = "/v1/trades/{id}/confirm", tag = "trades",
    security(("ApiKey" = [])),
    params(("id" = String, Path, description = "Trade id")),
    responses(
        (status = 200, description = "Confirmed and executed", body = TradeView),
        (status = 404, description = "RESOURCE_NOT_FOUND"),
        (status = 409, description = "CONFIRMATION_TOKEN_INVALID, CONFIRMATION_TOKEN_USED, CONFIRMATION_EXPIRED, TRADE_NOT_AWAITING_CONFIRMATION, or a failed re-check"),
    ))]
pub async fn confirm_trade(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::Extension<RawBody>,
) -> ApiResult<Response> {
    let authed = ctx.caller()?;
    let parsed: serde_json::Value = crate::http::body::parse_json(&body.0 .0)?;
    let Some(token) = parsed.get("token").and_then(|t| t.as_str()) else {
        return Err(
            Problem::validation(vec![Issue::new("token", "is required (a string)")]).into(),
        );
    };
    let id = trade_path_id(&id)?;
    match confirm::confirm(&state.svc, &authed.key, &id, token).await? {
        Confirmed::Refused(problem) => Err(problem.into()),
        Confirmed::Done(trade) => {
            state.metrics.count_trade(&trade.status);
            let view = Renderer::new(&state).view(&trade).await?;
            Ok(Json(envelope(view, None, ctx.meta())).into_response())
        }
    }
}

/// The owner's trades, newest first (whichever of its keys placed them).
#[utoipa::path(get, path = "/v1/trades", tag = "trades",
    security(("ApiKey" = [])),
    params(
        ("status" = Option<String>, Query, description = "Comma list of statuses"),
        ("marketId" = Option<String>, Query, description = "Only this market"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
    ),
    responses((status = 200, description = "A page of trades", body = Vec<TradeView>)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<List<TradeView>>> {
    let key = &ctx.caller()?.key;
    let mut issues = Vec::new();
    let mut statuses = Vec::new();
    for s in q.list("status") {
        if store::STATUSES.contains(&s) {
            if !statuses.iter().any(|x: &String| x == s) {
                statuses.push(s.to_string());
            }
        } else {
            issues.push(Issue::new("status", format!("`{s}` is not a trade status")));
        }
    }
    statuses.sort();
    let market_id = q.uuid("marketId", "a market", &mut issues);
    let limit = q.limit(20, &mut issues);
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let scope = format!(
        "trades|{}|{}|{}",
        key.owner,
        statuses.join(","),
        market_id.clone().unwrap_or_default()
    );
    let mac = &state.svc.secrets.cursor_key;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(cursor::decode::<(i64, String)>(mac, &scope, c)?),
        None => None,
    };
    let filter = OwnerFilter {
        statuses,
        market_id,
        before,
    };
    let rows = store::of_owner(
        state.svc.db.reader(),
        key.owner.id(),
        &filter,
        i64::from(limit) + 1,
    )
    .await?;
    let (rows, has_more) = cursor::split_page(rows, limit);
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => Some(cursor::encode(mac, &scope, &(last.created_at, &last.id))),
        _ => None,
    };
    let mut renderer = Renderer::new(&state);
    let mut data = Vec::with_capacity(rows.len());
    for t in &rows {
        data.push(renderer.view(t).await?);
    }
    Ok(Json(List {
        data,
        pagination: Pagination {
            cursor: next,
            has_more,
            limit,
        },
        meta: ctx.meta(),
    }))
}

/// One of the owner's trades.
#[utoipa::path(get, path = "/v1/trades/{id}", tag = "trades",
    security(("ApiKey" = [])),
    params(("id" = String, Path, description = "Trade id")),
    responses((status = 200, description = "The trade", body = TradeView),
        (status = 404, description = "RESOURCE_NOT_FOUND")))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<TradeEnvelope>> {
    let key = &ctx.caller()?.key;
    let id = trade_path_id(&id)?;
    let trade = store::get(state.svc.db.reader(), &id)
        .await?
        .filter(|t| t.owner_id == key.owner.id())
        .ok_or_else(|| ApiError::from(Problem::not_found(format!("no trade {id}"))))?;
    let view = Renderer::new(&state).view(&trade).await?;
    Ok(Json(envelope(view, None, ctx.meta())))
}
