//! Holdings: a holder's tokens of one outcome, with the average-cost bookkeeping of the
//! portfolio (`api.md` §5 Portfolio).

use ruint::aliases::U256;
use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PositionRecord {
    pub holder_account_id: String,
    pub market_id: String,
    pub outcome_index: i64,
    pub shares: String,
    pub locked_shares: String,
    pub cost_basis_atomic: i64,
    pub realized_pnl_atomic: i64,
    pub trade_count: i64,
    pub first_trade_at: Option<i64>,
    pub last_trade_at: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str = "holder_account_id, market_id, outcome_index, shares, locked_shares, \
    cost_basis_atomic, realized_pnl_atomic, trade_count, first_trade_at, last_trade_at, updated_at";

impl PositionRecord {
    /// An empty holding.
    pub fn empty(holder: &str, market: &str, outcome: i64, now_ms: i64) -> Self {
        PositionRecord {
            holder_account_id: holder.to_string(),
            market_id: market.to_string(),
            outcome_index: outcome,
            shares: "0".into(),
            locked_shares: "0".into(),
            cost_basis_atomic: 0,
            realized_pnl_atomic: 0,
            trade_count: 0,
            first_trade_at: None,
            last_trade_at: None,
            updated_at: now_ms,
        }
    }

    pub fn shares_wad(&self) -> Result<U256, StoreError> {
        self.shares
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("position shares `{}`", self.shares)))
    }

    pub fn locked_wad(&self) -> Result<U256, StoreError> {
        self.locked_shares
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("locked shares `{}`", self.locked_shares)))
    }

    /// Tokens the holder may sell: the holding minus its genesis leg.
    pub fn sellable(&self) -> Result<U256, StoreError> {
        Ok(self.shares_wad()?.saturating_sub(self.locked_wad()?))
    }
}

pub async fn get<'c>(
    exec: impl Exec<'c>,
    holder: &str,
    market: &str,
    outcome: i64,
) -> Result<Option<PositionRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM positions WHERE holder_account_id = $1 AND market_id = $2 \
         AND outcome_index = $3"
    ))
    .bind(holder)
    .bind(market)
    .bind(outcome)
    .fetch_optional(exec)
    .await?)
}

/// Inserts or replaces a holding.
pub async fn save<'c>(exec: impl Exec<'c>, p: &PositionRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO positions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (holder_account_id, market_id, outcome_index) DO UPDATE SET \
         shares = excluded.shares, locked_shares = excluded.locked_shares, \
         cost_basis_atomic = excluded.cost_basis_atomic, \
         realized_pnl_atomic = excluded.realized_pnl_atomic, trade_count = excluded.trade_count, \
         first_trade_at = excluded.first_trade_at, last_trade_at = excluded.last_trade_at, \
         updated_at = excluded.updated_at"
    ))
    .bind(&p.holder_account_id)
    .bind(&p.market_id)
    .bind(p.outcome_index)
    .bind(&p.shares)
    .bind(&p.locked_shares)
    .bind(p.cost_basis_atomic)
    .bind(p.realized_pnl_atomic)
    .bind(p.trade_count)
    .bind(p.first_trade_at)
    .bind(p.last_trade_at)
    .bind(p.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Every holding in a market (settlement, ledger check).
pub async fn of_market<'c>(
    exec: impl Exec<'c>,
    market: &str,
) -> Result<Vec<PositionRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM positions WHERE market_id = $1 \
         ORDER BY outcome_index, holder_account_id"
    ))
    .bind(market)
    .fetch_all(exec)
    .await?)
}

/// A holder's positions, by market then outcome, after a keyset position.
pub async fn of_holder<'c>(
    exec: impl Exec<'c>,
    holder: &str,
    market: Option<&str>,
    open_only: bool,
    after: Option<(String, i64)>,
    limit: i64,
) -> Result<Vec<PositionRecord>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM positions WHERE holder_account_id = $1");
    if open_only {
        sql.push_str(" AND shares <> '0'");
    }
    let mut n = 1;
    if market.is_some() {
        n += 1;
        sql.push_str(&format!(" AND market_id = ${n}"));
    }
    if after.is_some() {
        sql.push_str(&format!(
            " AND (market_id > ${} OR (market_id = ${} AND outcome_index > ${}))",
            n + 1,
            n + 1,
            n + 2
        ));
        n += 2;
    }
    sql.push_str(&format!(
        " ORDER BY market_id, outcome_index LIMIT ${}",
        n + 1
    ));
    let mut q = sqlx::query_as(&sql).bind(holder);
    if let Some(m) = market {
        q = q.bind(m);
    }
    if let Some((m, o)) = &after {
        q = q.bind(m.as_str()).bind(*o);
    }
    Ok(q.bind(limit).fetch_all(exec).await?)
}
