//! Revenue share after accrual (`organizations-embeds-portal.md` §2): the settlement job that
//! moves held accruals from *accrued* to *payable*, payouts into the organization's USDC
//! balance, the revenue-events ledger and the organization's earnings.
//!
//! Lock order on PostgreSQL (shared with the trade path): the organization's row first, then
//! ledger accounts (in id order, by [`ledger::post`]). Every movement, its accrual rows and
//! its revenue event commit in one transaction.

use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::revenue::Brackets;
use kash_core::{ErrorCode, Problem};
use kash_store::ledger::{self, kind, Posting};
use kash_store::revenue_events::{self, NewRevenueEvent};
use kash_store::sqlx::AnyConnection;
use kash_store::{accruals, orgs, StoreError};
use serde::Serialize;

use crate::trading::execute::BRACKET_WINDOW_MS;
use crate::{audit, ServiceError, Services};

const DAY_MS: i64 = 86_400_000;

/// What one organization's settlement moved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Settled {
    pub organization_id: String,
    pub amount_atomic: i64,
    pub accruals: i64,
    pub event_id: String,
    pub payable_after_atomic: i64,
}

/// Records one revenue event in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut AnyConnection,
    org_id: &str,
    kind_name: &str,
    account: &str,
    amount_atomic: i64,
    balance_after_atomic: i64,
    ledger_tx_id: Option<&str>,
    reference_id: Option<&str>,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = id_text(&new_id());
    revenue_events::insert(
        &mut *conn,
        &NewRevenueEvent {
            id: &id,
            org_id,
            kind: kind_name,
            account,
            amount_atomic,
            balance_after_atomic,
            ledger_tx_id,
            reference_id,
            memo: None,
            occurred_at: now_ms,
        },
    )
    .await?;
    Ok(id)
}

/// The organization owning a ledger account, when it is an organization's USDC account.
pub async fn org_of_account(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(ledger::get_account(&mut *conn, account_id)
        .await?
        .filter(|a| a.kind == kind::ORG)
        .map(|a| a.owner_id))
}

/// Records a movement of an organization's USDC account (`amount_atomic` signed, already
/// posted in this transaction) as a revenue event, if `account_id` is an organization's.
pub async fn record_if_org(
    conn: &mut AnyConnection,
    account_id: &str,
    kind_name: &str,
    amount_atomic: i64,
    ledger_tx_id: Option<&str>,
    reference_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some(org) = org_of_account(&mut *conn, account_id).await? else {
        return Ok(());
    };
    let after = ledger::lock_balance(&mut *conn, account_id, "").await?;
    record(
        conn,
        &org,
        kind_name,
        revenue_events::BALANCE,
        amount_atomic,
        after,
        ledger_tx_id,
        reference_id,
        now_ms,
    )
    .await?;
    Ok(())
}

/// The cut-off of the hold at `now_ms`: accruals at or before it are due.
pub fn cutoff(svc: &Services, now_ms: i64) -> i64 {
    now_ms - i64::from(svc.settings.revenue_hold_days) * DAY_MS
}

/// Runs the settlement job: for `org` or every organization with due accruals, each in its
/// own transaction. Idempotent, and safe with several workers: an accrual is settled by the
/// one run whose `UPDATE … WHERE settled_at IS NULL` marks it, under the organization's lock.
pub async fn settle(svc: &Services, org: Option<&str>) -> Result<Vec<Settled>, ServiceError> {
    let now = svc.now_ms();
    let cutoff = cutoff(svc, now);
    let targets = match org {
        Some(id) => {
            if orgs::get(svc.db.reader(), id).await?.is_none() {
                return Err(Problem::not_found(format!("no organization {id}")).into());
            }
            vec![id.to_string()]
        }
        None => accruals::orgs_with_due(svc.db.reader(), cutoff).await?,
    };
    let mut out = Vec::new();
    for org_id in targets {
        if let Some(s) = settle_one(svc, &org_id, cutoff, now).await? {
            out.push(s);
        }
    }
    Ok(out)
}

async fn settle_one(
    svc: &Services,
    org_id: &str,
    cutoff: i64,
    now: i64,
) -> Result<Option<Settled>, ServiceError> {
    let mut tx = svc.db.begin().await?;
    if orgs::lock(&mut *tx, org_id, svc.db.for_update())
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let (total, count) = accruals::settle_due(&mut *tx, org_id, cutoff, now).await?;
    if total == 0 {
        // Zero-share accruals (a 0 bps rate) are marked settled; nothing moves, no event.
        tx.commit().await?;
        return Ok(None);
    }
    let accrual = ledger::ensure_account(&mut tx, kind::ORG_ACCRUAL, org_id, now).await?;
    let payable = ledger::ensure_account(&mut tx, kind::ORG_PAYABLE, org_id, now).await?;
    let posting = id_text(&new_id());
    ledger::post(
        &mut tx,
        &Posting {
            id: &posting,
            kind: "revenue_share_settlement",
            reference_id: Some(org_id),
            memo: None,
            created_at: now,
            entries: vec![(accrual, -total), (payable.clone(), total)],
        },
    )
    .await?;
    let after = ledger::lock_balance(&mut *tx, &payable, "").await?;
    let event = record(
        &mut tx,
        org_id,
        "revenue_share_settled",
        revenue_events::PAYABLE,
        total,
        after,
        Some(&posting),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Settled {
        organization_id: org_id.to_string(),
        amount_atomic: total,
        accruals: count,
        event_id: event,
        payable_after_atomic: after,
    }))
}

/// What a payout did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payout {
    pub organization_id: String,
    pub amount_atomic: i64,
    pub payable_after_atomic: i64,
    pub balance_after_atomic: i64,
    pub event_id: String,
    pub ledger_tx_id: String,
}

/// Moves `amount` (default: everything payable) of the organization's payable earnings into
/// its USDC balance, with a `payout` revenue event.
pub async fn payout(
    svc: &Services,
    org_id: &str,
    amount: Option<Usdc>,
    actor: &str,
) -> Result<Payout, ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    if orgs::lock(&mut *tx, org_id, svc.db.for_update())
        .await?
        .is_none()
    {
        return Err(Problem::not_found(format!("no organization {org_id}")).into());
    }
    let payable = ledger::ensure_account(&mut tx, kind::ORG_PAYABLE, org_id, now).await?;
    let fund = ledger::ensure_account(&mut tx, kind::ORG, org_id, now).await?;
    let available = ledger::lock_balance(&mut *tx, &payable, svc.db.for_update()).await?;
    let value = match amount {
        Some(a) => {
            i64::try_from(a.atomic()).map_err(|_| Problem::invalid("usdc", "is too large"))?
        }
        None => available,
    };
    if value <= 0 {
        return Err(Problem::invalid(
            "usdc",
            if amount.is_some() {
                "must be greater than zero"
            } else {
                "nothing is payable"
            },
        )
        .into());
    }
    if value > available {
        return Err(Problem::new(
            ErrorCode::InsufficientBalance,
            format!(
                "payable earnings are {} USDC; cannot pay out {} USDC",
                Usdc::from_atomic(available.max(0) as u64).to_human_string(),
                Usdc::from_atomic(value as u64).to_human_string()
            ),
        )
        .into());
    }
    let posting = id_text(&new_id());
    ledger::post(
        &mut tx,
        &Posting {
            id: &posting,
            kind: "revenue_share_payout",
            reference_id: Some(org_id),
            memo: Some(actor),
            created_at: now,
            entries: vec![(payable.clone(), -value), (fund.clone(), value)],
        },
    )
    .await?;
    let payable_after = ledger::lock_balance(&mut *tx, &payable, "").await?;
    let balance_after = ledger::lock_balance(&mut *tx, &fund, "").await?;
    let event = record(
        &mut tx,
        org_id,
        "payout",
        revenue_events::BALANCE,
        value,
        balance_after,
        Some(&posting),
        None,
        now,
    )
    .await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "org_payout",
        actor,
        None,
        serde_json::json!({ "organizationId": org_id, "amountAtomic": value.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Payout {
        organization_id: org_id.to_string(),
        amount_atomic: value,
        payable_after_atomic: payable_after,
        balance_after_atomic: balance_after,
        event_id: event,
        ledger_tx_id: posting,
    })
}

/// `GET /v1/organizations/me/earnings`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Earnings {
    pub accrued_atomic: i64,
    pub payable_atomic: i64,
    pub paid_atomic: i64,
    /// The rate the organization's next trade would accrue at.
    pub share_bps: i64,
    pub hold_days: u32,
}

async fn balance_of(svc: &Services, k: &str, org_id: &str) -> Result<i64, StoreError> {
    let db = svc.db.reader();
    Ok(match ledger::account_id(db, k, org_id).await? {
        Some(id) => ledger::get_account(db, &id)
            .await?
            .map_or(0, |a| a.balance_atomic),
        None => 0,
    })
}

pub async fn earnings(svc: &Services, org: &orgs::OrgRecord) -> Result<Earnings, ServiceError> {
    let db = svc.db.reader();
    let share_bps = match org.revenue_brackets.as_deref() {
        Some(text) => {
            let brackets = Brackets::from_json(text).map_err(StoreError::Corrupt)?;
            let volume =
                accruals::volume_since(db, &org.id, svc.now_ms() - BRACKET_WINDOW_MS).await?;
            i64::from(brackets.rate_for(Usdc::from_atomic(u64::try_from(volume).unwrap_or(0))))
        }
        None => org.revenue_share_bps,
    };
    Ok(Earnings {
        accrued_atomic: balance_of(svc, kind::ORG_ACCRUAL, &org.id).await?,
        payable_atomic: balance_of(svc, kind::ORG_PAYABLE, &org.id).await?,
        paid_atomic: revenue_events::sum_of_kind(db, &org.id, "payout").await?,
        share_bps,
        hold_days: svc.settings.revenue_hold_days,
    })
}
