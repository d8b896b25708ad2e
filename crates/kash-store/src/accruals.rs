//! Trade-level revenue-share accruals (`organizations-embeds-portal.md` §2), written in the
//! trade's own transaction together with their ledger movement.

use sqlx::{FromRow, Row};

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AccrualRecord {
    pub trade_id: String,
    pub organization_id: String,
    pub market_id: String,
    pub partner_id: Option<String>,
    pub channel: String,
    pub fee_atomic: i64,
    pub share_bps: i64,
    pub share_atomic: i64,
    pub accrued_at: i64,
    pub settled_at: Option<i64>,
    /// The trade's volume (buy amount or sell payout): what the organization's rolling 30-day
    /// volume, and so its bracket, is summed from.
    pub volume_atomic: i64,
}

pub async fn insert<'c>(exec: impl Exec<'c>, a: &AccrualRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO revenue_accruals (trade_id, organization_id, market_id, partner_id, channel, \
         fee_atomic, share_bps, share_atomic, accrued_at, settled_at, volume_atomic) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&a.trade_id)
    .bind(&a.organization_id)
    .bind(&a.market_id)
    .bind(&a.partner_id)
    .bind(&a.channel)
    .bind(a.fee_atomic)
    .bind(a.share_bps)
    .bind(a.share_atomic)
    .bind(a.accrued_at)
    .bind(a.settled_at)
    .bind(a.volume_atomic)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn of_trade<'c>(
    exec: impl Exec<'c>,
    trade_id: &str,
) -> Result<Vec<AccrualRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT trade_id, organization_id, market_id, partner_id, channel, fee_atomic, share_bps, \
         share_atomic, accrued_at, settled_at, volume_atomic FROM revenue_accruals WHERE trade_id = $1",
    )
    .bind(trade_id)
    .fetch_all(exec)
    .await?)
}

/// Σ of unsettled accruals per organization: `(org id, total)`.
pub async fn unsettled_totals<'c>(exec: impl Exec<'c>) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT organization_id, CAST(SUM(share_atomic) AS BIGINT) AS total FROM revenue_accruals \
         WHERE settled_at IS NULL GROUP BY organization_id",
    )
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("organization_id")?, r.try_get("total")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The organization's completed volume accrued at or after `since_ms` (the trades of its
/// markets; every such trade has an accrual row, whatever its rate).
pub async fn volume_since<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(volume_atomic), 0) AS BIGINT) FROM revenue_accruals \
         WHERE organization_id = $1 AND accrued_at >= $2",
    )
    .bind(org_id)
    .bind(since_ms)
    .fetch_one(exec)
    .await?)
}

/// Organizations with unsettled accruals accrued at or before `cutoff_ms`, in id order.
pub async fn orgs_with_due<'c>(
    exec: impl Exec<'c>,
    cutoff_ms: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT organization_id FROM revenue_accruals \
         WHERE settled_at IS NULL AND accrued_at <= $1 ORDER BY organization_id",
    )
    .bind(cutoff_ms)
    .fetch_all(exec)
    .await?)
}

/// Marks the organization's unsettled accruals accrued at or before `cutoff_ms` settled at
/// `now_ms`; returns the Σ of the shares it marked (rows another run marked first are not
/// matched again).
pub async fn settle_due<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    cutoff_ms: i64,
    now_ms: i64,
) -> Result<(i64, i64), StoreError> {
    let shares: Vec<i64> = sqlx::query_scalar(
        "UPDATE revenue_accruals SET settled_at = $3 \
         WHERE organization_id = $1 AND settled_at IS NULL AND accrued_at <= $2 \
         RETURNING share_atomic",
    )
    .bind(org_id)
    .bind(cutoff_ms)
    .bind(now_ms)
    .fetch_all(exec)
    .await?;
    let total = shares
        .iter()
        .try_fold(0i64, |acc, s| acc.checked_add(*s))
        .ok_or_else(|| StoreError::Corrupt("settled revenue share overflows 64 bits".into()))?;
    Ok((total, shares.len() as i64))
}

/// Per organization: `(org id, Σ all shares, Σ unsettled shares, Σ settled shares)`.
pub async fn totals<'c>(exec: impl Exec<'c>) -> Result<Vec<(String, i64, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT organization_id, CAST(SUM(share_atomic) AS BIGINT) AS total, \
         CAST(COALESCE(SUM(CASE WHEN settled_at IS NULL THEN share_atomic ELSE 0 END), 0) AS BIGINT) AS unsettled, \
         CAST(COALESCE(SUM(CASE WHEN settled_at IS NULL THEN 0 ELSE share_atomic END), 0) AS BIGINT) AS settled \
         FROM revenue_accruals GROUP BY organization_id ORDER BY organization_id",
    )
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("organization_id")?,
                r.try_get("total")?,
                r.try_get("unsettled")?,
                r.try_get("settled")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
