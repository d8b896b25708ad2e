//! Daily organization analytics (`organizations-embeds-portal.md` §3): trade figures of the
//! organization's markets, markets active per day, new users, and the market embeds' counts
//! per market or partner. Days are UTC: day number = Unix ms / 86 400 000.

use sqlx::FromRow;

use crate::{Exec, StoreError};

pub const DAY_MS: i64 = 86_400_000;

/// How trade figures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// By UTC day number (as text).
    Day,
    Market,
    /// By the market's partner ('' for none).
    Partner,
    /// One row, key ''.
    All,
}

impl Group {
    /// The key expression over `trades t JOIN markets m`.
    fn trade_key(self) -> &'static str {
        match self {
            Group::Day => "CAST(t.completed_at / 86400000 AS TEXT)",
            Group::Market => "m.id",
            Group::Partner => "COALESCE(m.partner_id, '')",
            Group::All => "''",
        }
    }

    /// The GROUP BY clause (PostgreSQL refuses a constant there).
    fn group_by(self) -> String {
        match self {
            Group::All => String::new(),
            g => format!(" GROUP BY {}", g.trade_key()),
        }
    }

    fn market_key(self) -> &'static str {
        match self {
            Group::Partner => "COALESCE(m.partner_id, '')",
            _ => "m.id",
        }
    }
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct TradeRow {
    pub k: String,
    pub volume: i64,
    pub trades: i64,
    pub unique_traders: i64,
}

/// Completed trades in the organization's markets with `from_ms <= completedAt < to_ms`:
/// volume (buy amounts plus sell payouts: a completed trade's `measure_atomic`), count and
/// distinct traders per group.
pub async fn trades<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    from_ms: i64,
    to_ms: i64,
    group: Group,
) -> Result<Vec<TradeRow>, StoreError> {
    let key = group.trade_key();
    Ok(sqlx::query_as(&format!(
        "SELECT CAST({key} AS TEXT) AS k, CAST(COALESCE(SUM(t.measure_atomic), 0) AS BIGINT) AS volume, \
         CAST(COUNT(*) AS BIGINT) AS trades, \
         CAST(COUNT(DISTINCT t.owner_id) AS BIGINT) AS unique_traders \
         FROM trades t JOIN markets m ON m.id = t.market_id \
         WHERE m.organization_id = $1 AND t.status = 'completed' \
         AND t.completed_at >= $2 AND t.completed_at < $3{}",
        group.group_by()
    ))
    .bind(org_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(exec)
    .await?)
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct KeyCount {
    pub k: String,
    pub n: i64,
}

/// New users: traders whose first completed trade anywhere (earliest `completed_at`, ties by
/// trade id) is in one of the organization's markets within the range.
pub async fn new_users<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    from_ms: i64,
    to_ms: i64,
    group: Group,
) -> Result<Vec<KeyCount>, StoreError> {
    let key = group.trade_key();
    Ok(sqlx::query_as(&format!(
        "SELECT CAST({key} AS TEXT) AS k, CAST(COUNT(DISTINCT t.owner_id) AS BIGINT) AS n \
         FROM trades t JOIN markets m ON m.id = t.market_id \
         WHERE m.organization_id = $1 AND t.status = 'completed' \
         AND t.completed_at >= $2 AND t.completed_at < $3 \
         AND NOT EXISTS (SELECT 1 FROM trades e WHERE e.owner_id = t.owner_id \
           AND e.status = 'completed' AND (e.completed_at < t.completed_at \
           OR (e.completed_at = t.completed_at AND e.id < t.id))){}",
        group.group_by()
    ))
    .bind(org_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(exec)
    .await?)
}

/// A market's ACTIVE interval: from creation to the first of frozen, resolved, cancelled.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ActiveSpan {
    pub id: String,
    pub partner_id: Option<String>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

/// The organization's markets that were ACTIVE at some time in `[from_ms, to_ms)`.
pub async fn active_spans<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<ActiveSpan>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, partner_id, created_at, ended_at FROM ( \
           SELECT id, partner_id, created_at, \
           COALESCE(frozen_at, resolved_at, cancelled_at) AS ended_at \
           FROM markets WHERE organization_id = $1 AND phase <> 'UNSEEDED') s \
         WHERE created_at < $3 AND (ended_at IS NULL OR ended_at >= $2) ORDER BY created_at, id",
    )
    .bind(org_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(exec)
    .await?)
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct EmbedRow {
    pub k: String,
    pub renders: i64,
    pub clicks: i64,
    pub viewers: i64,
}

/// Market embeds per market or partner between two UTC days (inclusive): renders of market
/// embeds, clicks on the market (from any embed) and daily unique viewers of its market embeds
/// summed over the days.
pub async fn market_embeds<'c, E: Exec<'c> + Copy>(
    exec: E,
    org_id: &str,
    from_day: &str,
    to_day: &str,
    group: Group,
) -> Result<Vec<EmbedRow>, StoreError> {
    let key = group.market_key();
    let renders: Vec<KeyCount> = sqlx::query_as(&format!(
        "SELECT CAST({key} AS TEXT) AS k, CAST(SUM(c.renders) AS BIGINT) AS n \
         FROM embed_daily_counters c JOIN markets m ON m.id = c.target_id \
         WHERE c.org_id = $1 AND c.kind = 'market' AND c.day >= $2 AND c.day <= $3 \
         GROUP BY {key}"
    ))
    .bind(org_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(exec)
    .await?;
    let clicks: Vec<KeyCount> = sqlx::query_as(&format!(
        "SELECT CAST({key} AS TEXT) AS k, CAST(SUM(c.clicks) AS BIGINT) AS n \
         FROM embed_daily_market_clicks c JOIN markets m ON m.id = c.market_id \
         WHERE c.org_id = $1 AND c.day >= $2 AND c.day <= $3 GROUP BY {key}"
    ))
    .bind(org_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(exec)
    .await?;
    let viewers: Vec<KeyCount> = sqlx::query_as(&format!(
        "SELECT k, CAST(SUM(n) AS BIGINT) AS n FROM ( \
           SELECT CAST({key} AS TEXT) AS k, v.day AS day, COUNT(DISTINCT v.viewer) AS n \
           FROM embed_daily_viewers v JOIN markets m ON m.id = v.target_id \
           WHERE v.org_id = $1 AND v.kind = 'market' AND v.day >= $2 AND v.day <= $3 \
           GROUP BY {key}, v.day) per_day GROUP BY k"
    ))
    .bind(org_id)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(exec)
    .await?;
    let mut out: std::collections::BTreeMap<String, EmbedRow> = Default::default();
    for r in renders {
        entry(&mut out, r.k).renders += r.n;
    }
    for c in clicks {
        entry(&mut out, c.k).clicks += c.n;
    }
    for v in viewers {
        entry(&mut out, v.k).viewers += v.n;
    }
    Ok(out.into_values().collect())
}

fn entry(out: &mut std::collections::BTreeMap<String, EmbedRow>, k: String) -> &mut EmbedRow {
    out.entry(k.clone()).or_insert(EmbedRow {
        k,
        renders: 0,
        clicks: 0,
        viewers: 0,
    })
}
