//! Portfolio (`api.md` §5): the owner's balance and positions with average cost, realised P&L
//! and mark value.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use kash_core::amm::{self, MarketState};
use kash_core::Problem;
use kash_service::trading::accounts::owner_account;
use kash_service::trading::chain;
use kash_store::markets::{self, MarketRecord};
use kash_store::positions::{self, PositionRecord};
use kash_store::{ledger, StoreError};
use ruint::aliases::U256;
use serde::Serialize;
use utoipa::ToSchema;

use super::markets::ts;
use crate::http::cursor;
use crate::http::envelope::{Ctx, List, Pagination, Single};
use crate::http::problem::ApiResult;
use crate::http::query::QueryParams;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortfolioView {
    pub smart_account_address: String,
    /// Atomic USDC.
    pub usdc_balance: String,
    /// Positions with shares > 0.
    pub active_positions: u64,
    pub total_cost_basis_atomic: String,
    /// Signed atomic USDC: Σ over sells and redemptions of proceeds − average cost given up.
    pub realized_pnl_atomic: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PositionView {
    pub market_id: String,
    pub outcome_index: u32,
    /// WAD.
    pub shares: String,
    pub cost_basis_atomic: String,
    pub trade_count: i64,
    pub first_trade_at: Option<String>,
    pub last_trade_at: Option<String>,
    /// What the holding would fetch now: the net payout of a sell of it (0 when none is
    /// possible), or its redemption payout in a settled market.
    pub mark_value_atomic: String,
    /// Ours: realised P&L of this holding, signed atomic USDC.
    pub realized_pnl_atomic: String,
}

/// Mark value of `shares` of outcome `k`.
fn mark_value(state: &MarketState, k: usize, shares: U256) -> u64 {
    if shares.is_zero() {
        return 0;
    }
    match state.settlement {
        amm::Settlement::Open => {
            let t = shares.min(state.sellable(k).unwrap_or_default());
            if t.is_zero() {
                return 0;
            }
            amm::sell(state, k, t)
                .map(|r| r.payout.atomic())
                .unwrap_or(0)
        }
        _ => amm::redeem(state, k, shares)
            .map(|r| r.payout.atomic())
            .unwrap_or(0),
    }
}

struct Marks<'a> {
    state: &'a AppState,
    cache: HashMap<String, Option<MarketRecord>>,
}

impl Marks<'_> {
    async fn view(&mut self, p: &PositionRecord) -> Result<PositionView, StoreError> {
        if !self.cache.contains_key(&p.market_id) {
            let m = markets::get(self.state.svc.db.reader(), &p.market_id).await?;
            self.cache.insert(p.market_id.clone(), m);
        }
        let shares = p.shares_wad()?;
        let mark = self
            .cache
            .get(&p.market_id)
            .and_then(|m| m.as_ref())
            .and_then(|m| m.state().ok())
            .map(|s| mark_value(&s, p.outcome_index as usize, shares))
            .unwrap_or(0);
        Ok(PositionView {
            market_id: p.market_id.clone(),
            outcome_index: p.outcome_index as u32,
            shares: p.shares.clone(),
            cost_basis_atomic: p.cost_basis_atomic.max(0).to_string(),
            trade_count: p.trade_count,
            first_trade_at: ts(p.first_trade_at),
            last_trade_at: ts(p.last_trade_at),
            mark_value_atomic: mark.to_string(),
            realized_pnl_atomic: p.realized_pnl_atomic.to_string(),
        })
    }
}

/// The caller's USDC account: read from committed data; created only for an owner that
/// predates its account (the writer is not taken for a read).
async fn holder(state: &AppState, ctx: &Ctx) -> ApiResult<String> {
    let key = &ctx.caller()?.key;
    let kind = match key.owner {
        kash_core::owner::Owner::User(_) => ledger::kind::USER,
        kash_core::owner::Owner::Org(_) => ledger::kind::ORG,
    };
    if let Some(id) = ledger::account_id(state.svc.db.reader(), kind, key.owner.id()).await? {
        return Ok(id);
    }
    let mut conn = state
        .svc
        .db
        .writer()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    Ok(owner_account(&mut conn, &key.owner, state.svc.now_ms()).await?)
}

/// The caller's balance and position totals.
#[utoipa::path(get, path = "/v1/portfolio", tag = "portfolio",
    security(("ApiKey" = [])),
    responses((status = 200, description = "The portfolio", body = PortfolioView)))]
pub async fn portfolio(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult<Json<Single<PortfolioView>>> {
    let account = holder(&state, &ctx).await?;
    let db = state.svc.db.reader();
    let balance = ledger::get_account(db, &account)
        .await?
        .map(|a| a.balance_atomic)
        .unwrap_or(0);
    let all = positions::of_holder(db, &account, None, false, None, i64::MAX).await?;
    let mut active = 0u64;
    let mut cost: i128 = 0;
    let mut pnl: i128 = 0;
    for p in &all {
        pnl += i128::from(p.realized_pnl_atomic);
        if !p.shares_wad()?.is_zero() {
            active += 1;
            cost += i128::from(p.cost_basis_atomic);
        }
    }
    Ok(Json(Single {
        name: "portfolio",
        value: PortfolioView {
            smart_account_address: chain::smart_account_address(&account),
            usdc_balance: balance.max(0).to_string(),
            active_positions: active,
            total_cost_basis_atomic: cost.max(0).to_string(),
            realized_pnl_atomic: pnl.to_string(),
        },
        meta: ctx.meta(),
    }))
}

/// The caller's open positions, by market.
#[utoipa::path(get, path = "/v1/portfolio/positions", tag = "portfolio",
    security(("ApiKey" = [])),
    params(
        ("marketId" = Option<String>, Query, description = "Only this market"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("limit" = Option<u32>, Query, description = "1–100, default 100"),
    ),
    responses((status = 200, description = "A page of positions", body = Vec<PositionView>)))]
pub async fn positions_list(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<List<PositionView>>> {
    let mut issues = Vec::new();
    let market = q.uuid("marketId", "a market", &mut issues);
    let limit = q.limit(100, &mut issues);
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let account = holder(&state, &ctx).await?;
    let scope = format!("positions|{account}|{}", market.clone().unwrap_or_default());
    let mac = &state.svc.secrets.cursor_key;
    let after = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(cursor::decode::<(String, i64)>(mac, &scope, c)?),
        None => None,
    };
    let rows = positions::of_holder(
        state.svc.db.reader(),
        &account,
        market.as_deref(),
        true,
        after,
        i64::from(limit) + 1,
    )
    .await?;
    let (rows, has_more) = cursor::split_page(rows, limit);
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => Some(cursor::encode(
            mac,
            &scope,
            &(&last.market_id, last.outcome_index),
        )),
        _ => None,
    };
    let mut marks = Marks {
        state: &state,
        cache: HashMap::new(),
    };
    let mut data = Vec::with_capacity(rows.len());
    for p in &rows {
        data.push(marks.view(p).await?);
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
