//! The high-value gate (`api.md` §5): `POST /v1/trades/{id}/confirm` and the expiry of
//! unconfirmed trades. Each runs in one transaction holding the trade's row lock, so of any
//! number of concurrent confirms exactly one can win.

use std::time::Instant;

use kash_core::{ErrorCode, Problem};
use kash_store::keys::{self, ApiKeyRecord};
use kash_store::sqlx::AnyConnection;
use kash_store::trades::{self, TradeRecord};
use kash_store::{accruals, ledger, positions, StoreError};

use super::events::{self, trace_type};
use super::order::Spec;
use super::place::{lock_key, tradeable_market};
use super::plan::{plan, Inputs, Limits};
use super::{ceiling_atomic, execute};
use crate::secrets::{ct_eq, hmac_hex};
use crate::{ServiceError, Services};

/// The outcome of a confirm.
#[derive(Debug)]
pub enum Confirmed {
    /// Executed (status `completed`).
    Done(Box<TradeRecord>),
    /// Refused; when the refusal changed the trade (expired, failed re-check) that change is
    /// committed.
    Refused(Problem),
}

/// The order a stored trade carries.
pub fn spec_of(t: &TradeRecord) -> Result<Spec, StoreError> {
    let bad = || StoreError::Corrupt(format!("trade {} has an unreadable order", t.id));
    Ok(match (t.side.as_str(), t.sell_mode.as_deref()) {
        ("buy", _) => Spec::Buy(events::usdc(t.measure_atomic)),
        ("sell", Some("amount")) => Spec::SellForAmount(events::usdc(t.measure_atomic)),
        ("sell", Some("tokens")) => Spec::SellTokens(
            t.tokens_requested
                .as_deref()
                .and_then(|v| v.parse().ok())
                .ok_or_else(bad)?,
        ),
        ("sell", Some("close")) => Spec::Close,
        _ => return Err(bad()),
    })
}

/// Ends a trade unsuccessfully (`failed` with a REST code, or `rejected` with a snake_case
/// code), erasing its confirmation copy, with its webhook and trace events.
pub async fn end(
    svc: &Services,
    conn: &mut AnyConnection,
    t: &mut TradeRecord,
    status: &str,
    code: &str,
    message: &str,
    now: i64,
) -> Result<(), StoreError> {
    t.status = status.to_string();
    t.error_code = Some(code.to_string());
    t.error_message = Some(message.to_string());
    t.confirm_token_enc = None;
    t.updated_at = now;
    trades::update(&mut *conn, t).await?;
    let trace = if status == "failed" {
        trace_type::FAILED
    } else {
        trace_type::REJECTED
    };
    events::trace(conn, t, trace, svc.settings.chain_id, Some(code), now).await?;
    events::webhook(conn, t, None, now).await
}

pub async fn confirm(
    svc: &Services,
    caller: &ApiKeyRecord,
    trade_id: &str,
    token: &str,
) -> Result<Confirmed, ServiceError> {
    let started = Instant::now();
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let found = trades::lock(&mut *tx, trade_id, svc.db.for_update()).await?;
    let Some(mut t) = found.filter(|t| t.owner_id == caller.owner.id()) else {
        return Err(Problem::not_found(format!("no trade {trade_id}")).into());
    };
    let refuse = |code: ErrorCode, detail: &str| Ok(Confirmed::Refused(Problem::new(code, detail)));
    let Some(stored) = t.confirm_token_hash.clone() else {
        return refuse(
            ErrorCode::TradeNotAwaitingConfirmation,
            "this trade was never held for confirmation",
        );
    };
    let offered = hmac_hex(&svc.secrets.confirm_key, token.as_bytes());
    if !ct_eq(offered.as_bytes(), stored.as_bytes()) {
        return refuse(
            ErrorCode::ConfirmationTokenInvalid,
            "the token does not match this trade's confirmation token",
        );
    }
    if t.confirmed_at.is_some() {
        return refuse(
            ErrorCode::ConfirmationTokenUsed,
            "this confirmation token was already used",
        );
    }
    if t.confirm_expires_at.is_some_and(|at| now >= at) {
        if t.status == "pending_confirmation" {
            end(
                svc,
                &mut tx,
                &mut t,
                "rejected",
                "confirmation_expired",
                "the confirmation window lapsed",
                now,
            )
            .await?;
            tx.commit().await?;
        }
        return refuse(
            ErrorCode::ConfirmationExpired,
            "the confirmation window has lapsed",
        );
    }
    if t.status != "pending_confirmation" {
        return refuse(
            ErrorCode::TradeNotAwaitingConfirmation,
            &format!("the trade is {}", t.status),
        );
    }
    t.confirmed_at = Some(now);
    match recheck_and_execute(svc, &mut tx, &mut t, now, started).await? {
        Ok(()) => {
            tx.commit().await?;
            Ok(Confirmed::Done(Box::new(t)))
        }
        Err(problem) => {
            end(
                svc,
                &mut tx,
                &mut t,
                "failed",
                problem.code.as_str(),
                &problem.detail,
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(Confirmed::Refused(problem))
        }
    }
}

async fn recheck_and_execute(
    svc: &Services,
    conn: &mut AnyConnection,
    t: &mut TradeRecord,
    now: i64,
    started: Instant,
) -> Result<Result<(), Problem>, ServiceError> {
    let chain_id = svc.settings.chain_id;
    events::trace(conn, t, trace_type::CONFIRMED, chain_id, None, now).await?;
    lock_key(conn, &t.api_key_id, svc.db.for_update()).await?;
    let key = keys::get(&mut *conn, &t.api_key_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("trade {} has no key", t.id)))?;
    if trade_halted(conn).await? {
        return Ok(Err(Problem::new(
            ErrorCode::ApiTradeProcessingHalted,
            "trade processing is halted",
        )));
    }
    let mut market =
        match tradeable_market(svc, conn, &t.market_id, t.outcome_index as u64, now).await? {
            Ok(m) => m,
            Err(p) => return Ok(Err(p)),
        };
    let state = match market.state() {
        Ok(s) => s,
        Err(_) => {
            return Ok(Err(Problem::new(
                ErrorCode::MarketNotTradeable,
                "this market cannot take trades right now",
            )))
        }
    };
    let spec = spec_of(t)?;
    let balance =
        ledger::lock_balance(&mut *conn, &t.holder_account_id, svc.db.for_update()).await?;
    let position = positions::get(
        &mut *conn,
        &t.holder_account_id,
        &t.market_id,
        t.outcome_index,
    )
    .await?;
    let sellable = match &position {
        Some(p) => p.sellable()?,
        None => Default::default(),
    };
    let daily_used =
        trades::daily_sum(&mut *conn, &t.api_key_id, now - 86_400_000, Some(&t.id)).await?;
    let planned = match plan(&Inputs {
        market_id: &market.id,
        state: &state,
        outcome: t.outcome_index as usize,
        spec: &spec,
        balance: events::usdc(balance),
        sellable,
        limits: Limits::of(&key, ceiling_atomic(svc.settings.max_trade_usdc)),
        daily_used: events::usdc(daily_used),
    }) {
        Ok(p) => p,
        Err(p) => return Ok(Err(p)),
    };
    let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let accrual = execute::apply(
        &svc.db,
        conn,
        &mut market,
        t,
        &planned,
        position,
        now,
        latency,
        match &key.owner {
            kash_core::owner::Owner::Org(org) => Some(org.as_str()),
            kash_core::owner::Owner::User(_) => None,
        },
    )
    .await?;
    trades::update(&mut *conn, t).await?;
    if let Some(a) = &accrual {
        accruals::insert(&mut *conn, a).await?;
    }
    events::trace(conn, t, trace_type::EXECUTED, chain_id, None, now).await?;
    events::webhook(conn, t, None, now).await?;
    Ok(Ok(()))
}

/// Whether the global trade kill switch is on (read in the confirming transaction).
async fn trade_halted(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    Ok(kash_store::killswitch::list(&mut *conn)
        .await?
        .iter()
        .any(|s| s.flag == kash_core::route_policy::TRADE_PROCESSING_FLAG))
}

/// Ends every trade whose confirmation window has lapsed (`rejected`,
/// `confirmation_expired`); returns how many.
pub async fn expire_due(svc: &Services) -> Result<usize, ServiceError> {
    let now = svc.now_ms();
    let due = trades::expired_confirmations(svc.db.reader(), now, 100).await?;
    let mut n = 0;
    for id in due {
        let mut tx = svc.db.begin().await?;
        let Some(mut t) = trades::lock(&mut *tx, &id, svc.db.for_update()).await? else {
            continue;
        };
        if t.status != "pending_confirmation" || t.confirm_expires_at.is_none_or(|at| at > now) {
            continue;
        }
        end(
            svc,
            &mut tx,
            &mut t,
            "rejected",
            "confirmation_expired",
            "the confirmation window lapsed",
            now,
        )
        .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
