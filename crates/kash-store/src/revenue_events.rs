//! The revenue-events ledger of an organization (`organizations-embeds-portal.md` §2):
//! everything that moves its money, written in the same transaction as the movement.

use sqlx::FromRow;

use crate::{Exec, StoreError};

pub const KINDS: [&str; 9] = [
    "revenue_share_settled",
    "payout",
    "market_creation_fee",
    "trading_fee",
    "redemption",
    "refund",
    "deposit",
    "withdrawal",
    "adjustment",
];

/// `account` of an event whose amount moved the organization's USDC balance (the Fund).
pub const BALANCE: &str = "balance";
/// `account` of an event whose amount moved its payable earnings.
pub const PAYABLE: &str = "payable";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RevenueEventRecord {
    pub seq: i64,
    pub id: String,
    pub org_id: String,
    pub kind: String,
    pub account: String,
    pub amount_atomic: i64,
    pub balance_after_atomic: i64,
    pub ledger_tx_id: Option<String>,
    pub reference_id: Option<String>,
    pub memo: Option<String>,
    pub occurred_at: i64,
}

/// What to record (the sequence number is assigned).
#[derive(Debug, Clone)]
pub struct NewRevenueEvent<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub kind: &'a str,
    pub account: &'a str,
    pub amount_atomic: i64,
    pub balance_after_atomic: i64,
    pub ledger_tx_id: Option<&'a str>,
    pub reference_id: Option<&'a str>,
    pub memo: Option<&'a str>,
    pub occurred_at: i64,
}

const COLUMNS: &str = "seq, id, org_id, kind, account, amount_atomic, balance_after_atomic, \
    ledger_tx_id, reference_id, memo, occurred_at";

pub async fn insert<'c>(exec: impl Exec<'c>, e: &NewRevenueEvent<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO revenue_events (id, org_id, kind, account, amount_atomic, \
         balance_after_atomic, ledger_tx_id, reference_id, memo, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.id)
    .bind(e.org_id)
    .bind(e.kind)
    .bind(e.account)
    .bind(e.amount_atomic)
    .bind(e.balance_after_atomic)
    .bind(e.ledger_tx_id)
    .bind(e.reference_id)
    .bind(e.memo)
    .bind(e.occurred_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// A page of the organization's events, newest first: those strictly before `before`
/// (`(occurred_at, seq)`), optionally of one kind.
pub async fn list<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    kind: Option<&str>,
    before: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<RevenueEventRecord>, StoreError> {
    let (t, s) = before.unwrap_or((i64::MAX, i64::MAX));
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM revenue_events WHERE org_id = $1 \
         AND ($2 = '' OR kind = $2) \
         AND (occurred_at < $3 OR (occurred_at = $3 AND seq < $4)) \
         ORDER BY occurred_at DESC, seq DESC LIMIT $5"
    ))
    .bind(org_id)
    .bind(kind.unwrap_or(""))
    .bind(t)
    .bind(s)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// Σ of the organization's events of `kind`.
pub async fn sum_of_kind<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    kind: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_atomic), 0) AS BIGINT) FROM revenue_events \
         WHERE org_id = $1 AND kind = $2",
    )
    .bind(org_id)
    .bind(kind)
    .fetch_one(exec)
    .await?)
}
