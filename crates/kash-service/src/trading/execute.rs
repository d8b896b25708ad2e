//! Applies a planned trade: the market's new state, one balanced ledger posting (trader,
//! market, fees, and the creator organization's revenue share), the trader's position and the
//! trade's execution fields. The caller holds the market's row lock and commits.

use kash_core::amm::{derive, mul_div};
use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::numbers::micro_from_wad;
use kash_core::revenue::Brackets;
use kash_store::accruals::{self, AccrualRecord};
use kash_store::ledger::{self, kind, Posting, PLATFORM};
use kash_store::markets::{self, MarketRecord};
use kash_store::positions::{self, PositionRecord};
use kash_store::sqlx::AnyConnection;
use kash_store::trades::TradeRecord;
use kash_store::{orgs, Db, StoreError};
use ruint::aliases::U256;

use super::accounts::signed;
use super::plan::{Fill, Planned};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// `mulDiv(cost, t, shares)` on a BIGINT cost basis.
pub fn cost_share(cost: i64, t: U256, shares: U256) -> Result<i64, StoreError> {
    if shares.is_zero() {
        return Ok(0);
    }
    let cost = U256::from(u64::try_from(cost).map_err(|_| corrupt("negative cost basis"))?);
    let part = mul_div(cost, t.min(shares), shares).map_err(|_| corrupt("cost basis range"))?;
    i64::try_from(u64::try_from(&part).map_err(|_| corrupt("cost basis range"))?)
        .map_err(|_| corrupt("cost basis range"))
}

/// The rolling window of completed volume that picks an organization's bracket.
pub const BRACKET_WINDOW_MS: i64 = 30 * 86_400_000;

/// The protocol fee's revenue share for the creator organization, if any:
/// `(org id, share bps, share)`. The organization's row is locked (by
/// [`tradeable_market`](super::place::tradeable_market), right after the market's), so its
/// rolling volume read here and extended by this trade's accrual row is serialised with every
/// other trade in its markets: which trade crosses a bracket threshold is deterministic.
async fn revenue_share(
    db: &Db,
    conn: &mut AnyConnection,
    market: &MarketRecord,
    fee: Usdc,
    now_ms: i64,
) -> Result<Option<(String, i64, i64)>, StoreError> {
    let Some(org_id) = &market.organization_id else {
        return Ok(None);
    };
    let org = orgs::lock(&mut *conn, org_id, db.for_update())
        .await?
        .ok_or_else(|| corrupt("market's organization is missing"))?;
    let bps = match org.revenue_brackets.as_deref() {
        Some(text) => {
            let brackets = Brackets::from_json(text).map_err(|e| corrupt(&e))?;
            let volume =
                accruals::volume_since(&mut *conn, org_id, now_ms - BRACKET_WINDOW_MS).await?;
            i64::from(brackets.rate_for(Usdc::from_atomic(u64::try_from(volume).unwrap_or(0))))
        }
        None => org.revenue_share_bps,
    }
    .clamp(0, 10_000);
    let share = mul_div(
        U256::from(fee.atomic()),
        U256::from(bps as u64),
        U256::from(10_000u64),
    )
    .map_err(|_| corrupt("revenue share range"))?;
    let share = i64::try_from(u64::try_from(&share).map_err(|_| corrupt("revenue share range"))?)
        .map_err(|_| corrupt("revenue share range"))?;
    Ok(Some((org_id.clone(), bps, share)))
}

/// Writes the fill (`holder_org`: the organization trading with its own key, whose fee is a
/// `trading_fee` revenue event). On return `trade` carries its execution fields (status `completed`); the
/// accrual row, if any, is for the caller to insert once the trade row exists.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    db: &Db,
    conn: &mut AnyConnection,
    market: &mut MarketRecord,
    trade: &mut TradeRecord,
    planned: &Planned,
    position: Option<PositionRecord>,
    now_ms: i64,
    latency_ms: i64,
    holder_org: Option<&str>,
) -> Result<Option<AccrualRecord>, StoreError> {
    let market_account =
        ledger::committed_account(db, conn, kind::MARKET, &market.id, now_ms).await?;
    let fees = ledger::committed_account(db, conn, kind::PLATFORM_FEES, PLATFORM, now_ms).await?;
    let holder = trade.holder_account_id.clone();
    let outcome = trade.outcome_index;
    let k = usize::try_from(outcome).map_err(|_| corrupt("outcome index"))?;
    let (fee, mut entries) = match &planned.fill {
        Fill::Buy(b) => {
            let g = signed(b.amount_in)?;
            let net = signed(b.net_to_market)?;
            (
                b.fee,
                vec![(holder.clone(), -g), (market_account.clone(), net)],
            )
        }
        Fill::Sell(s) => {
            let gross = signed(s.gross)?;
            let payout = signed(s.payout)?;
            (
                s.fee,
                vec![(market_account.clone(), -gross), (holder.clone(), payout)],
            )
        }
    };
    let fee_i = signed(fee)?;
    let volume = match &planned.fill {
        Fill::Buy(b) => signed(b.amount_in)?,
        Fill::Sell(s) => signed(s.payout)?,
    };
    let share = revenue_share(db, conn, market, fee, now_ms).await?;
    match &share {
        Some((org_id, _, amount)) => {
            let accrual = ledger::ensure_account(conn, kind::ORG_ACCRUAL, org_id, now_ms).await?;
            entries.push((fees.clone(), fee_i - amount));
            entries.push((accrual, *amount));
        }
        None => entries.push((fees.clone(), fee_i)),
    }
    let tx_id = id_text(&new_id());
    let seq = ledger::post(
        conn,
        &Posting {
            id: &tx_id,
            kind: "trade",
            reference_id: Some(&trade.id),
            memo: None,
            created_at: now_ms,
            entries,
        },
    )
    .await?;
    // An organization trading with its own key: the fee it paid is one of its revenue events
    // (its balance after the whole trade as `balanceAfterUsdc`).
    if let (Some(org), true) = (holder_org, fee_i > 0) {
        let after = ledger::lock_balance(&mut *conn, &holder, "").await?;
        crate::revenue::record(
            conn,
            org,
            "trading_fee",
            kash_store::revenue_events::BALANCE,
            -fee_i,
            after,
            Some(&tx_id),
            Some(&trade.id),
            now_ms,
        )
        .await?;
    }

    let mut pos =
        position.unwrap_or_else(|| PositionRecord::empty(&holder, &market.id, outcome, now_ms));
    let shares = pos.shares_wad()?;
    match &planned.fill {
        Fill::Buy(b) => {
            pos.shares = (shares + b.tokens_out).to_string();
            pos.cost_basis_atomic = pos
                .cost_basis_atomic
                .checked_add(signed(b.amount_in)?)
                .ok_or_else(|| corrupt("cost basis range"))?;
            trade.tokens_out = Some(b.tokens_out.to_string());
            trade.protocol_fee_atomic = Some(fee_i);
            market.volume_atomic = market.volume_atomic.saturating_add(signed(b.amount_in)?);
        }
        Fill::Sell(s) => {
            let removed = cost_share(pos.cost_basis_atomic, s.tokens_in, shares)?;
            let remaining = shares
                .checked_sub(s.tokens_in)
                .ok_or_else(|| corrupt("sell exceeds the holding"))?;
            pos.shares = remaining.to_string();
            pos.cost_basis_atomic -= removed;
            pos.realized_pnl_atomic += signed(s.payout)? - removed;
            trade.tokens_in = Some(s.tokens_in.to_string());
            trade.tokens_out = Some("0".into());
            trade.usdc_out_atomic = Some(signed(s.payout)?);
            trade.protocol_fee_atomic = Some(fee_i);
            if trade.sell_mode.as_deref() != Some("amount") {
                trade.amount = s.payout.to_human_string();
            }
            trade.measure_atomic = signed(s.payout)?;
            market.volume_atomic = market.volume_atomic.saturating_add(signed(s.payout)?);
        }
    }
    pos.trade_count += 1;
    pos.first_trade_at = pos.first_trade_at.or(Some(now_ms));
    pos.last_trade_at = Some(now_ms);
    pos.updated_at = now_ms;
    positions::save(&mut *conn, &pos).await?;

    let after = planned.fill.state_after();
    market.trade_count += 1;
    markets::save_state(&mut *conn, market, after, now_ms).await?;
    market.balance_atomic = signed(after.balance)?;
    market.supplies = markets::wads_json(&after.supplies);
    market.reserve = after.reserve.to_string();
    market.aggregate = after.a.to_string();
    if let Ok(d) = derive(after) {
        trade.price_after = d.prices.get(k).map(|p| p.to_string());
        trade.probability_after_micro = d
            .probabilities
            .get(k)
            .and_then(|p| micro_from_wad(*p))
            .and_then(|m| i64::try_from(m).ok());
    }
    trade.status = "completed".into();
    trade.ledger_tx_id = Some(tx_id);
    trade.block_number = Some(seq);
    trade.log_index = Some(0);
    trade.completed_at = Some(now_ms);
    trade.updated_at = now_ms;
    trade.latency_ms = Some(latency_ms);
    trade.confirm_token_enc = None;
    Ok(share.map(|(org_id, bps, amount)| AccrualRecord {
        trade_id: trade.id.clone(),
        organization_id: org_id,
        market_id: market.id.clone(),
        partner_id: None,
        channel: trade.channel.clone(),
        fee_atomic: fee_i,
        share_bps: bps,
        share_atomic: amount,
        accrued_at: now_ms,
        settled_at: None,
        volume_atomic: volume,
    }))
}
