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
}

pub async fn insert<'c>(exec: impl Exec<'c>, a: &AccrualRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO revenue_accruals (trade_id, organization_id, market_id, partner_id, channel, \
         fee_atomic, share_bps, share_atomic, accrued_at, settled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
         share_atomic, accrued_at, settled_at FROM revenue_accruals WHERE trade_id = $1",
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
