//! Markets (`api.md` §5): listing, one market, its recent trades (predictions), and the
//! grace-period cancellation.

use axum::extract::{Path, State};
use axum::Json;
use kash_core::amm::derive;
use kash_core::ids::{id_text, parse_uuid};
use kash_core::numbers::Micro;
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_core::{ErrorCode, Issue, Problem};
use kash_service::trading::chain;
use kash_store::markets::{self, MarketRecord};
use kash_store::trades::{self, TradeRecord};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::cursor;
use crate::http::envelope::{Ctx, List, Pagination, Single};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::query::QueryParams;
use crate::state::AppState;

pub fn ts(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| rfc3339_ms(from_unix_ms(ms)))
}

/// A path market id: anything that is not a UUID is simply an unknown market.
pub fn market_id(raw: &str) -> Result<String, ApiError> {
    parse_uuid(raw)
        .map(|id| id_text(&id))
        .ok_or_else(|| ApiError::new(ErrorCode::MarketNotFound, format!("no market {raw}")))
}

pub async fn load(state: &AppState, raw: &str) -> Result<MarketRecord, ApiError> {
    let id = market_id(raw)?;
    markets::get(state.svc.db.reader(), &id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::MarketNotFound, format!("no market {id}")))
}

#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeView {
    pub outcome_index: u32,
    /// Repeats `outcomeIndex` (Kash's SDK reads `index`).
    pub index: u32,
    pub label: String,
    /// π_i: normalised marginal price, a number on the micro-unit grid.
    #[schema(value_type = f64)]
    pub probability: Micro,
    /// q_i: capital share, a number on the micro-unit grid.
    #[schema(value_type = f64)]
    pub capital_share: Micro,
}

/// The outcomes of a market as of now.
pub fn outcomes(m: &MarketRecord) -> Vec<OutcomeView> {
    let derived = m.state().ok().and_then(|s| derive(&s).ok());
    if derived.is_none() {
        tracing::error!(market_id = %m.id, "market state cannot be derived");
    }
    m.labels()
        .into_iter()
        .enumerate()
        .map(|(i, label)| {
            let micro = |list: Option<&Vec<_>>| {
                list.and_then(|l| l.get(i).copied())
                    .and_then(Micro::from_wad)
                    .unwrap_or(Micro::ZERO)
            };
            OutcomeView {
                outcome_index: i as u32,
                index: i as u32,
                label,
                probability: micro(derived.as_ref().map(|d| &d.probabilities)),
                capital_share: micro(derived.as_ref().map(|d| &d.capital_shares)),
            }
        })
        .collect()
}

/// Kash's wire vocabulary: a frozen market is `ACTIVE` (not tradeable), a cancelled one
/// `ABANDONED`.
pub fn wire_status(phase: &str) -> &'static str {
    match phase {
        "UNSEEDED" => "UNSEEDED",
        "RESOLVED" => "RESOLVED",
        "CANCELLED" => "ABANDONED",
        _ => "ACTIVE",
    }
}

/// MarketResource.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketView {
    pub id: String,
    pub contract_address: String,
    pub chain_id: u64,
    pub title: String,
    pub description: Option<String>,
    /// `UNSEEDED`, `ACTIVE`, `RESOLVED` or `ABANDONED`.
    pub status: &'static str,
    /// Ours: whether a trade would be accepted now.
    pub tradeable: bool,
    /// Ours: `UNSEEDED`, `ACTIVE`, `FROZEN`, `RESOLVED` or `CANCELLED`.
    pub phase: String,
    pub outcome_count: u32,
    pub outcomes: Vec<OutcomeView>,
    pub image_url: Option<String>,
    pub created_at: String,
    /// = `resolveAt`.
    pub expires_at: Option<String>,
    pub freeze_at: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_outcome_index: Option<u32>,
    pub resolve_at: Option<String>,
    pub organization_id: Option<String>,
    pub winning_outcomes: Vec<u32>,
    /// Atomic USDC.
    pub volume_usdc: String,
    /// The market's USDC balance, atomic.
    pub liquidity_usdc: String,
}

impl MarketView {
    pub fn new(m: &MarketRecord, chain_id: u64, now_ms: i64) -> Self {
        let winners: Vec<u32> = m.winner_list().into_iter().map(|w| w as u32).collect();
        MarketView {
            id: m.id.clone(),
            contract_address: chain::contract_address(&m.id),
            chain_id,
            title: m.title.clone(),
            description: m.description.clone(),
            status: wire_status(&m.phase),
            tradeable: m.tradeable(now_ms),
            phase: m.phase_at(now_ms).to_string(),
            outcome_count: m.outcome_count as u32,
            outcomes: outcomes(m),
            image_url: m.image_url.clone(),
            created_at: rfc3339_ms(from_unix_ms(m.created_at)),
            expires_at: ts(m.resolve_at),
            freeze_at: ts(m.freeze_at),
            resolved_at: ts(m.resolved_at),
            resolved_outcome_index: winners.first().copied(),
            resolve_at: ts(m.resolve_at),
            organization_id: m.organization_id.clone(),
            winning_outcomes: winners,
            volume_usdc: m.volume_atomic.max(0).to_string(),
            liquidity_usdc: m.balance_atomic.max(0).to_string(),
        }
    }
}

const STATUS_VALUES: &str = "UNSEEDED, ACTIVE, RESOLVED, ABANDONED, FROZEN, CANCELLED";

/// Markets, newest first.
#[utoipa::path(get, path = "/v1/markets", tag = "markets",
    security(("ApiKey" = [])),
    params(
        ("status" = Option<String>, Query, description = "Comma list of UNSEEDED, ACTIVE (includes frozen), RESOLVED, ABANDONED, FROZEN, CANCELLED; case-insensitive"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
    ),
    responses((status = 200, description = "A page of markets", body = Vec<MarketView>)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<List<MarketView>>> {
    let key = &ctx.caller()?.key;
    let mut issues = Vec::new();
    let mut phases: Vec<String> = Vec::new();
    for s in q.list("status") {
        let add: &[&str] = match s.to_ascii_uppercase().as_str() {
            "UNSEEDED" => &["UNSEEDED"],
            "ACTIVE" => &["ACTIVE", "FROZEN"],
            "FROZEN" => &["FROZEN"],
            "RESOLVED" => &["RESOLVED"],
            "ABANDONED" | "CANCELLED" => &["CANCELLED"],
            _ => {
                issues.push(Issue::new(
                    "status",
                    format!("`{s}` is not one of {STATUS_VALUES}"),
                ));
                &[]
            }
        };
        for p in add {
            if !phases.iter().any(|x| x == p) {
                phases.push(p.to_string());
            }
        }
    }
    phases.sort();
    let limit = q.limit(20, &mut issues);
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let scope = format!("markets|{}|{}", key.id, phases.join(","));
    let mac = &state.svc.secrets.cursor_key;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(cursor::decode::<(i64, String)>(mac, &scope, c)?),
        None => None,
    };
    let rows = markets::list(state.svc.db.reader(), &phases, before, i64::from(limit) + 1).await?;
    let (rows, has_more) = cursor::split_page(rows, limit);
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => Some(cursor::encode(mac, &scope, &(last.created_at, &last.id))),
        _ => None,
    };
    let now = state.svc.now_ms();
    let chain_id = state.svc.settings.chain_id;
    Ok(Json(List {
        data: rows
            .iter()
            .map(|m| MarketView::new(m, chain_id, now))
            .collect(),
        pagination: Pagination {
            cursor: next,
            has_more,
            limit,
        },
        meta: ctx.meta(),
    }))
}

/// One market.
#[utoipa::path(get, path = "/v1/markets/{id}", tag = "markets",
    security(("ApiKey" = [])),
    params(("id" = String, Path, description = "Market id")),
    responses((status = 200, description = "The market", body = MarketView),
        (status = 404, description = "MARKET_NOT_FOUND")))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<Single<MarketView>>> {
    let m = load(&state, &id).await?;
    Ok(Json(Single {
        name: "market",
        value: MarketView::new(&m, state.svc.settings.chain_id, state.svc.now_ms()),
        meta: ctx.meta(),
    }))
}

/// One of a market's recent trades, trader identity omitted.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictionView {
    pub id: String,
    pub market_id: String,
    pub outcome_index: u32,
    pub side: String,
    /// Buys (null on sells; the key is always present, as Kash's SDK requires).
    pub usdc_in: Option<String>,
    pub usdc_out: Option<String>,
    pub tokens_in: Option<String>,
    pub tokens_out: Option<String>,
    /// Marginal price of the outcome after the trade, WAD.
    pub price: Option<String>,
    /// Probability after the trade, a decimal string on the micro-unit grid.
    pub probability: Option<String>,
    pub timestamp: String,
    /// Our ledger sequence number.
    pub block_number: Option<String>,
    pub transaction_hash: Option<String>,
    pub log_index: i64,
}

impl From<&TradeRecord> for PredictionView {
    fn from(t: &TradeRecord) -> Self {
        let buy = t.side == "buy";
        PredictionView {
            id: t.id.clone(),
            market_id: t.market_id.clone(),
            outcome_index: t.outcome_index as u32,
            side: t.side.clone(),
            usdc_in: buy.then(|| t.measure_atomic.to_string()),
            usdc_out: if buy {
                None
            } else {
                t.usdc_out_atomic.map(|v| v.to_string())
            },
            tokens_in: if buy { None } else { t.tokens_in.clone() },
            tokens_out: if buy { t.tokens_out.clone() } else { None },
            price: t.price_after.clone(),
            probability: t
                .probability_after_micro
                .and_then(|m| u64::try_from(m).ok())
                .map(|m| Micro::new(m).to_decimal_string()),
            timestamp: rfc3339_ms(from_unix_ms(t.completed_at.unwrap_or(t.created_at))),
            block_number: t.block_number.map(|b| b.to_string()),
            transaction_hash: t.ledger_tx_id.as_deref().map(chain::tx_hash),
            log_index: t.log_index.unwrap_or(0),
        }
    }
}

/// A market's recent trades, newest first.
#[utoipa::path(get, path = "/v1/markets/{id}/predictions", tag = "markets",
    security(("ApiKey" = [])),
    params(
        ("id" = String, Path, description = "Market id"),
        ("side" = Option<String>, Query, description = "buy or sell"),
        ("outcomeIndex" = Option<u32>, Query, description = "Only this outcome"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("limit" = Option<u32>, Query, description = "1–100, default 50"),
    ),
    responses((status = 200, description = "A page of trades", body = Vec<PredictionView>)))]
pub async fn predictions(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<Json<List<PredictionView>>> {
    let key = &ctx.caller()?.key;
    let m = load(&state, &id).await?;
    let mut issues = Vec::new();
    let side = match q.get("side").map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("buy" | "sell")) => Some(s.to_string()),
        Some(_) => {
            issues.push(Issue::new("side", "must be buy or sell"));
            None
        }
    };
    let outcome = match q
        .get("outcomeIndex")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => {
                issues.push(Issue::new(
                    "outcomeIndex",
                    "must be an integer of at least 0",
                ));
                None
            }
        },
    };
    let limit = q.limit(50, &mut issues);
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let scope = format!(
        "predictions|{}|{}|{}|{}",
        key.id,
        m.id,
        side.clone().unwrap_or_default(),
        outcome.map(|o| o.to_string()).unwrap_or_default()
    );
    let mac = &state.svc.secrets.cursor_key;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(cursor::decode::<(i64, String)>(mac, &scope, c)?),
        None => None,
    };
    let rows = trades::of_market(
        state.svc.db.reader(),
        &m.id,
        side.as_deref(),
        outcome,
        before,
        i64::from(limit) + 1,
    )
    .await?;
    let (rows, has_more) = cursor::split_page(rows, limit);
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => Some(cursor::encode(
            mac,
            &scope,
            &(last.completed_at.unwrap_or(last.created_at), &last.id),
        )),
        _ => None,
    };
    Ok(Json(List {
        data: rows.iter().map(PredictionView::from).collect(),
        pagination: Pagination {
            cursor: next,
            has_more,
            limit,
        },
        meta: ctx.meta(),
    }))
}

/// Cancels a market whose resolution is overdue by the grace period (anyone with
/// `trades:write`); a repeat is a `200` no-op.
#[utoipa::path(post, path = "/v1/markets/{id}/cancel", tag = "markets",
    security(("ApiKey" = [])),
    params(("id" = String, Path, description = "Market id")),
    responses((status = 200, description = "Cancelled (or already)", body = MarketView),
        (status = 404, description = "MARKET_NOT_FOUND"),
        (status = 409, description = "MARKET_NOT_CANCELLABLE")))]
pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<Single<MarketView>>> {
    let key = &ctx.caller()?.key;
    let id = market_id(&id)?;
    let done = kash_service::trading::markets::cancel(
        &state.svc,
        &id,
        true,
        &format!("api-key:{}", key.id),
    )
    .await?;
    let mut meta = ctx.meta();
    if done.already {
        meta.idempotent = Some(true);
    }
    Ok(Json(Single {
        name: "market",
        value: MarketView::new(
            &done.market,
            state.svc.settings.chain_id,
            state.svc.now_ms(),
        ),
        meta,
    }))
}
