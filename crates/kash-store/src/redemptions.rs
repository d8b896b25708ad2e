//! Redemption records: one per holding of a settled market, whoever made the claim.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RedemptionRecord {
    pub id: String,
    pub holder_account_id: String,
    pub owner_id: String,
    pub market_id: String,
    pub outcome_index: i64,
    /// `resolved` or `cancelled`.
    pub kind: String,
    pub shares: String,
    pub payout_atomic: i64,
    pub status: String,
    /// 1 when the automatic settlement run made the claim.
    pub automatic: i64,
    pub ledger_tx_id: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, holder_account_id, owner_id, market_id, outcome_index, kind, shares, \
    payout_atomic, status, automatic, ledger_tx_id, created_at";

pub async fn insert<'c>(exec: impl Exec<'c>, r: &RedemptionRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO redemptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&r.id)
    .bind(&r.holder_account_id)
    .bind(&r.owner_id)
    .bind(&r.market_id)
    .bind(r.outcome_index)
    .bind(&r.kind)
    .bind(&r.shares)
    .bind(r.payout_atomic)
    .bind(&r.status)
    .bind(r.automatic)
    .bind(&r.ledger_tx_id)
    .bind(r.created_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn find<'c>(
    exec: impl Exec<'c>,
    holder: &str,
    market: &str,
    outcome: i64,
) -> Result<Option<RedemptionRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM redemptions WHERE holder_account_id = $1 AND market_id = $2 \
         AND outcome_index = $3"
    ))
    .bind(holder)
    .bind(market)
    .bind(outcome)
    .fetch_optional(exec)
    .await?)
}

pub async fn get<'c>(
    exec: impl Exec<'c>,
    id: &str,
) -> Result<Option<RedemptionRecord>, StoreError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM redemptions WHERE id = $1"))
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}
