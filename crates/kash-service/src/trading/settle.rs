//! Redemptions (`amm.md` "Settlement"): a holder's whole holding of one outcome in a resolved
//! or cancelled market, priced by the market maker and paid from the market's balance in one
//! transaction; and the automatic run that redeems every holding after settlement.

use kash_core::amm;
use kash_core::ids::{id_text, new_id};
use kash_core::owner::Owner;
use kash_core::{ErrorCode, Problem};
use kash_store::ledger::{self, kind, Posting};
use kash_store::markets::{self, MarketRecord};
use kash_store::positions;
use kash_store::redemptions::{self, RedemptionRecord};
use kash_store::sqlx::AnyConnection;
use kash_store::{idempotency, StoreError};
use sha2::Digest;

use super::accounts::{owner_account, signed};
use super::amm_problem;
use super::execute::cost_share;
use crate::{ServiceError, Services};

/// A redemption and whether it was made just now.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub record: RedemptionRecord,
    pub created: bool,
}

fn not_claimable(detail: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::PositionNotClaimable, detail)
}

/// Redeems the holder's whole holding of `outcome` inside the caller's transaction (the market
/// row is locked here). `Ok(Err(_))`: not claimable.
#[allow(clippy::too_many_arguments)]
pub async fn redeem_in(
    svc: &Services,
    conn: &mut AnyConnection,
    holder: &str,
    owner_id: &str,
    market_id: &str,
    outcome: i64,
    automatic: bool,
    now: i64,
) -> Result<Result<Redeemed, Problem>, ServiceError> {
    let Some(mut market) = markets::lock(&mut *conn, market_id, svc.db.for_update()).await? else {
        return Ok(Err(Problem::new(
            ErrorCode::MarketNotFound,
            format!("no market {market_id}"),
        )));
    };
    if outcome < 0 || outcome >= market.outcome_count {
        return Ok(Err(Problem::new(
            ErrorCode::OutcomeIndexInvalid,
            format!(
                "outcomeIndex {outcome} is out of range: the market has {} outcomes",
                market.outcome_count
            ),
        )));
    }
    if let Some(existing) = redemptions::find(&mut *conn, holder, market_id, outcome).await? {
        return Ok(Ok(Redeemed {
            record: existing,
            created: false,
        }));
    }
    if market.phase != "RESOLVED" && market.phase != "CANCELLED" {
        return Ok(Err(not_claimable(
            "the market is neither resolved nor cancelled",
        )));
    }
    let Some(mut pos) = positions::get(&mut *conn, holder, market_id, outcome).await? else {
        return Ok(Err(not_claimable(
            "there is no holding of this outcome to redeem",
        )));
    };
    let shares = pos.shares_wad()?;
    if shares.is_zero() {
        return Ok(Err(not_claimable("the holding is zero")));
    }
    let state = market.state()?;
    let result = match amm::redeem(&state, outcome as usize, shares) {
        Ok(r) => r,
        Err(e) => return Ok(Err(amm_problem(&e, market_id))),
    };
    let payout = signed(result.payout)?;
    let redemption_id = id_text(&new_id());
    let ledger_tx_id = if payout > 0 {
        let market_account = ledger::ensure_account(conn, kind::MARKET, market_id, now).await?;
        let id = id_text(&new_id());
        ledger::post(
            conn,
            &Posting {
                id: &id,
                kind: "redemption",
                reference_id: Some(&redemption_id),
                memo: None,
                created_at: now,
                entries: vec![(market_account, -payout), (holder.to_string(), payout)],
            },
        )
        .await?;
        // An organization's own holdings (its genesis legs, its trades) paid back.
        crate::revenue::record_if_org(
            conn,
            holder,
            if market.phase == "CANCELLED" {
                "refund"
            } else {
                "redemption"
            },
            payout,
            Some(&id),
            Some(market_id),
            now,
        )
        .await?;
        Some(id)
    } else {
        None
    };
    let removed = cost_share(pos.cost_basis_atomic, shares, shares)?;
    pos.cost_basis_atomic -= removed;
    pos.realized_pnl_atomic += payout - removed;
    pos.shares = "0".into();
    pos.locked_shares = "0".into();
    pos.updated_at = now;
    positions::save(&mut *conn, &pos).await?;
    markets::save_state(&mut *conn, &market, &result.state_after, now).await?;
    market.balance_atomic = signed(result.state_after.balance)?;
    let record = RedemptionRecord {
        id: redemption_id,
        holder_account_id: holder.to_string(),
        owner_id: owner_id.to_string(),
        market_id: market_id.to_string(),
        outcome_index: outcome,
        kind: match result.kind {
            amm::RedemptionKind::Resolved => "resolved".into(),
            amm::RedemptionKind::Cancelled => "cancelled".into(),
        },
        shares: shares.to_string(),
        payout_atomic: payout,
        status: "completed".into(),
        automatic: i64::from(automatic),
        ledger_tx_id,
        created_at: now,
    };
    redemptions::insert(&mut *conn, &record).await?;
    Ok(Ok(Redeemed {
        record,
        created: true,
    }))
}

/// The route name idempotency records of redemptions are kept under.
pub const ROUTE: &str = "POST /v1/redemptions";

/// `POST /v1/redemptions`: the caller's whole holding of one outcome. With an
/// `Idempotency-Key` the answer is bound to the key for 24 h (identity: route, market,
/// outcome): a repeat returns the same redemption, another identity is
/// `IDEMPOTENCY_KEY_CONFLICT`, reuse after 24 h `IDEMPOTENCY_KEY_EXPIRED`.
pub async fn redeem(
    svc: &Services,
    owner: &Owner,
    market_id: &str,
    outcome: i64,
    idempotency_key: Option<&str>,
) -> Result<Result<Redeemed, Problem>, ServiceError> {
    let now = svc.now_ms();
    let identity = hex::encode(sha2::Sha256::digest(
        serde_json::json!([ROUTE, market_id, outcome])
            .to_string()
            .as_bytes(),
    ));
    let key_hash = idempotency_key.map(super::order::key_hash);
    let mut tx = svc.db.begin().await?;
    if let Some(h) = &key_hash {
        if let Some(rec) = idempotency::claim(&mut tx, owner.id(), h, ROUTE, &identity, now).await?
        {
            if rec.identity_hash != identity {
                return Ok(Err(Problem::new(
                    ErrorCode::IdempotencyKeyConflict,
                    "this Idempotency-Key was used with a different request",
                )));
            }
            if now >= rec.expires_at {
                return Ok(Err(Problem::new(
                    ErrorCode::IdempotencyKeyExpired,
                    "this Idempotency-Key's 24 h replay window has passed; use a new key",
                )));
            }
            if let Some(id) = &rec.trade_id {
                if let Some(record) = redemptions::get(&mut *tx, id).await? {
                    return Ok(Ok(Redeemed {
                        record,
                        created: false,
                    }));
                }
            }
            // The first use was refused: refuse the same way (the state may have moved on,
            // the answer under this key does not).
            return Ok(Err(not_claimable(
                "this Idempotency-Key's first use found nothing to claim",
            )));
        }
    }
    let holder = owner_account(&mut tx, owner, now).await?;
    let out = redeem_in(
        svc,
        &mut tx,
        &holder,
        owner.id(),
        market_id,
        outcome,
        false,
        now,
    )
    .await?;
    match (&out, &key_hash) {
        (Ok(r), Some(h)) => {
            let status = if r.created { 201 } else { 200 };
            idempotency::complete(&mut *tx, owner.id(), h, status, None, Some(&r.record.id))
                .await?;
            tx.commit().await?;
        }
        (Err(p), Some(h)) if p.code == ErrorCode::PositionNotClaimable => {
            idempotency::complete(
                &mut *tx,
                owner.id(),
                h,
                p.code.status(),
                Some(&p.detail),
                None,
            )
            .await?;
            tx.commit().await?;
        }
        (Ok(r), None) if r.created => tx.commit().await?,
        _ => {}
    }
    Ok(out)
}

/// The owner id of a holder account (a user, an organization, or `platform` for the treasury).
async fn owner_of(conn: &mut AnyConnection, account: &str) -> Result<String, StoreError> {
    Ok(ledger::get_account(&mut *conn, account)
        .await?
        .map(|a| a.owner_id)
        .unwrap_or_default())
}

/// Redeems every remaining holding of one settled market, one transaction per holding, then
/// marks the market settled. Returns how many holdings were redeemed.
pub async fn settle_market(svc: &Services, market_id: &str) -> Result<usize, ServiceError> {
    let holdings = positions::of_market(svc.db.reader(), market_id).await?;
    let mut n = 0;
    for p in holdings {
        if p.shares_wad()?.is_zero() {
            continue;
        }
        let now = svc.now_ms();
        let mut tx = svc.db.begin().await?;
        let owner = owner_of(&mut tx, &p.holder_account_id).await?;
        match redeem_in(
            svc,
            &mut tx,
            &p.holder_account_id,
            &owner,
            market_id,
            p.outcome_index,
            true,
            now,
        )
        .await?
        {
            Ok(r) if r.created => {
                tx.commit().await?;
                n += 1;
            }
            Ok(_) => {}
            Err(problem) => {
                tracing::warn!(market_id, detail = %problem.detail, "automatic redemption refused");
            }
        }
    }
    let remaining = positions::of_market(svc.db.reader(), market_id).await?;
    let mut done = true;
    for p in &remaining {
        if !p.shares_wad()?.is_zero() {
            done = false;
        }
    }
    if done {
        markets::mark_settled(svc.db.writer(), market_id, svc.now_ms()).await?;
    }
    Ok(n)
}

/// One pass of the automatic settlement over every unsettled market.
pub async fn settle_due(svc: &Services) -> Result<usize, ServiceError> {
    let mut n = 0;
    for id in markets::unsettled(svc.db.reader()).await? {
        n += settle_market(svc, &id).await?;
    }
    Ok(n)
}

/// The market a redemption refers to (for its resource).
pub async fn market_of(svc: &Services, id: &str) -> Result<Option<MarketRecord>, StoreError> {
    markets::get(svc.db.reader(), id).await
}
