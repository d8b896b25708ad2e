//! Embed tracking: daily counters per (org, kind, target, source, day), clicks by market, and
//! the salted viewer hashes that make daily unique viewers countable without keeping an IP.
//! Writes arrive in batches from the in-memory aggregator of each server instance; every
//! write adds to what is there, so instances and flushes sum correctly.

use sqlx::FromRow;

use crate::{Exec, StoreError, Tx};

/// One counter row's increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterDelta {
    pub org_id: String,
    pub day: String,
    pub kind: String,
    pub target_id: String,
    pub source: String,
    pub renders: i64,
    pub clicks: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketClickDelta {
    pub org_id: String,
    pub day: String,
    pub market_id: String,
    pub source: String,
    pub clicks: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViewerRow {
    pub org_id: String,
    pub day: String,
    pub kind: String,
    pub target_id: String,
    pub source: String,
    pub viewer: String,
}

/// 6 parameters a row; well below SQLite's and PostgreSQL's parameter limits.
const VIEWER_ROWS_PER_STATEMENT: usize = 500;

/// Adds one batch in the caller's transaction.
pub async fn apply(
    tx: &mut Tx,
    counters: &[CounterDelta],
    market_clicks: &[MarketClickDelta],
    viewers: &[ViewerRow],
) -> Result<(), StoreError> {
    for c in counters {
        sqlx::query(
            "INSERT INTO embed_daily_counters (org_id, day, kind, target_id, source, renders, \
             clicks) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (org_id, day, kind, target_id, source) DO UPDATE SET \
             renders = embed_daily_counters.renders + excluded.renders, \
             clicks = embed_daily_counters.clicks + excluded.clicks",
        )
        .bind(&c.org_id)
        .bind(&c.day)
        .bind(&c.kind)
        .bind(&c.target_id)
        .bind(&c.source)
        .bind(c.renders)
        .bind(c.clicks)
        .execute(&mut **tx)
        .await?;
    }
    for c in market_clicks {
        sqlx::query(
            "INSERT INTO embed_daily_market_clicks (org_id, day, market_id, source, clicks) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, day, market_id, source) \
             DO UPDATE SET clicks = embed_daily_market_clicks.clicks + excluded.clicks",
        )
        .bind(&c.org_id)
        .bind(&c.day)
        .bind(&c.market_id)
        .bind(&c.source)
        .bind(c.clicks)
        .execute(&mut **tx)
        .await?;
    }
    // Viewer rows are the bulk of a busy flush: many rows per statement.
    for chunk in viewers.chunks(VIEWER_ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 6;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO embed_daily_viewers (org_id, day, kind, target_id, source, viewer) \
             VALUES {} ON CONFLICT (org_id, day, kind, target_id, source, viewer) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for v in chunk {
            query = query
                .bind(&v.org_id)
                .bind(&v.day)
                .bind(&v.kind)
                .bind(&v.target_id)
                .bind(&v.source)
                .bind(&v.viewer);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The viewer salt of `day`, created by whichever instance asks first; salts of earlier days
/// are deleted in the same transaction (after that, their hashes link to nothing).
pub async fn day_salt(tx: &mut Tx, day: &str, candidate: &str) -> Result<String, StoreError> {
    sqlx::query("DELETE FROM embed_viewer_salts WHERE day < $1")
        .bind(day)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO embed_viewer_salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(candidate)
    .execute(&mut **tx)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT salt FROM embed_viewer_salts WHERE day = $1")
            .bind(day)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// How embed statistics are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Source,
    /// By (kind, target id).
    Embed,
    Day,
}

impl GroupBy {
    /// The selected key expressions and the GROUP BY list (PostgreSQL refuses a constant
    /// in GROUP BY, so single-key groupings select an empty second key without grouping it).
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            GroupBy::Source => ("source", "''", "source"),
            GroupBy::Embed => ("kind", "target_id", "kind, target_id"),
            GroupBy::Day => ("day", "''", "day"),
        }
    }
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct StatRow {
    pub k1: String,
    pub k2: String,
    pub renders: i64,
    pub clicks: i64,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ViewerCount {
    pub k1: String,
    pub k2: String,
    pub viewers: i64,
}

/// Renders and clicks of an organization between two UTC days (inclusive), grouped.
pub async fn counters<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    from_day: &str,
    to_day: &str,
    group: GroupBy,
) -> Result<Vec<StatRow>, StoreError> {
    let (k1, k2, by) = group.keys();
    Ok(sqlx::query_as(&format!(
        "SELECT CAST({k1} AS TEXT) AS k1, CAST({k2} AS TEXT) AS k2, \
         CAST(SUM(renders) AS BIGINT) AS renders, CAST(SUM(clicks) AS BIGINT) AS clicks \
         FROM embed_daily_counters WHERE org_id = $1 AND day >= $2 AND day <= $3 \
         GROUP BY {by} ORDER BY {by}"
    ))
    .bind(org_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(exec)
    .await?)
}

/// Unique viewers per group: distinct viewers of each day, summed over the days (a viewer is
/// unique per day; the salt changes at midnight, so days cannot be joined).
pub async fn unique_viewers<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    from_day: &str,
    to_day: &str,
    group: GroupBy,
) -> Result<Vec<ViewerCount>, StoreError> {
    let (k1, k2, by) = group.keys();
    let by_day = if group == GroupBy::Day {
        by.to_string()
    } else {
        format!("{by}, day")
    };
    Ok(sqlx::query_as(&format!(
        "SELECT k1, k2, CAST(SUM(n) AS BIGINT) AS viewers FROM ( \
           SELECT CAST({k1} AS TEXT) AS k1, CAST({k2} AS TEXT) AS k2, \
           COUNT(DISTINCT viewer) AS n FROM embed_daily_viewers \
           WHERE org_id = $1 AND day >= $2 AND day <= $3 GROUP BY {by_day} \
         ) per_day GROUP BY k1, k2 ORDER BY k1, k2"
    ))
    .bind(org_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(exec)
    .await?)
}

/// The organization's daily unique viewers over all its embeds, summed over the days.
pub async fn total_unique_viewers<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    from_day: &str,
    to_day: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ( \
           SELECT day, COUNT(DISTINCT viewer) AS n FROM embed_daily_viewers \
           WHERE org_id = $1 AND day >= $2 AND day <= $3 GROUP BY day) per_day",
    )
    .bind(org_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_one(exec)
    .await?)
}
