//! The markets the public Embed API shows (`organizations-embeds-portal.md` §4): only
//! `ACTIVE`/`FROZEN`/`RESOLVED`/`CANCELLED` markets of active organizations (never UNSEEDED,
//! never operator markets, never a suspended organization's). An `ACTIVE` market past its
//! `freezeAt` counts as `FROZEN`, as everywhere else.

use crate::markets::{MarketRecord, COLUMNS};
use crate::{Exec, StoreError};

/// The visibility rule over alias `m` joined with its organization `o`.
pub const VISIBLE_SQL: &str =
    "m.phase IN ('ACTIVE', 'FROZEN', 'RESOLVED', 'CANCELLED') AND o.status = 'active'";

/// The lifecycle phase a public status filter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Active,
    Frozen,
    Resolved,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    CreatedAt,
    TotalVolume,
    /// Outcome 0's probability: computed from the market state, so sorted by the caller.
    CurrentProbability,
    /// Sorted by the caller too (one order on both engines, whatever the collation).
    Title,
    EndTime,
}

#[derive(Debug, Clone, Default)]
pub struct MarketQuery {
    pub org_id: Option<String>,
    pub thread_id: Option<String>,
    pub partner_id: Option<String>,
    pub chapter_id: Option<String>,
    pub category: Option<String>,
    /// Empty: every visible phase.
    pub phases: Vec<Phase>,
    /// Unix ms bounds on `resolved_at`, applied to resolved markets only.
    pub resolved_after: Option<i64>,
    pub resolved_before: Option<i64>,
    pub now_ms: i64,
}

enum Arg {
    Text(String),
    Int(i64),
}

fn filters(q: &MarketQuery) -> (String, Vec<Arg>) {
    let mut clauses = vec![VISIBLE_SQL.to_string()];
    let mut args = Vec::new();
    let push = |args: &mut Vec<Arg>, arg: Arg| {
        args.push(arg);
        format!("${}", args.len())
    };
    for (column, value) in [
        ("m.organization_id", &q.org_id),
        ("m.thread_id", &q.thread_id),
        ("m.partner_id", &q.partner_id),
        ("m.chapter_id", &q.chapter_id),
        ("m.category", &q.category),
    ] {
        if let Some(v) = value {
            let p = push(&mut args, Arg::Text(v.clone()));
            clauses.push(format!("{column} = {p}"));
        }
    }
    let mut phases = q.phases.clone();
    if phases.is_empty() {
        phases = vec![
            Phase::Active,
            Phase::Frozen,
            Phase::Resolved,
            Phase::Cancelled,
        ];
    }
    phases.sort();
    phases.dedup();
    // Bind the resolution bounds only when resolved markets are included (PostgreSQL refuses
    // a parameter no clause uses).
    let with_resolved = phases.contains(&Phase::Resolved);
    let now = if phases.contains(&Phase::Active) || phases.contains(&Phase::Frozen) {
        push(&mut args, Arg::Int(q.now_ms))
    } else {
        String::new()
    };
    let open = format!("(m.phase = 'ACTIVE' AND (m.freeze_at IS NULL OR m.freeze_at > {now}))");
    let frozen = format!(
        "(m.phase = 'FROZEN' OR (m.phase = 'ACTIVE' AND m.freeze_at IS NOT NULL AND m.freeze_at <= {now}))"
    );
    let mut resolved = "m.phase = 'RESOLVED'".to_string();
    if let Some(after) = q.resolved_after.filter(|_| with_resolved) {
        let p = push(&mut args, Arg::Int(after));
        resolved.push_str(&format!(" AND m.resolved_at >= {p}"));
    }
    if let Some(before) = q.resolved_before.filter(|_| with_resolved) {
        let p = push(&mut args, Arg::Int(before));
        resolved.push_str(&format!(" AND m.resolved_at <= {p}"));
    }
    let resolved = format!("({resolved})");
    let cancelled = "m.phase = 'CANCELLED'".to_string();
    let parts: Vec<&str> = phases
        .iter()
        .map(|p| match p {
            Phase::Active => open.as_str(),
            Phase::Frozen => frozen.as_str(),
            Phase::Resolved => resolved.as_str(),
            Phase::Cancelled => cancelled.as_str(),
        })
        .collect();
    clauses.push(format!("({})", parts.join(" OR ")));
    (clauses.join(" AND "), args)
}

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(s) => query.bind(s),
            Arg::Int(i) => query.bind(i),
        };
    }
    query
}

const FROM: &str = "FROM markets m JOIN organizations o ON o.id = m.organization_id";

fn prefixed_columns() -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("m.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many markets match.
pub async fn count<'c>(exec: impl Exec<'c>, q: &MarketQuery) -> Result<i64, StoreError> {
    let (clause, args) = filters(q);
    let (total,): (i64,) = bind_all(
        sqlx::query_as(&format!("SELECT COUNT(*) {FROM} WHERE {clause}")),
        args,
    )
    .fetch_one(exec)
    .await?;
    Ok(total)
}

/// One page in an order SQL can give (`CreatedAt`, `TotalVolume`, `EndTime`); ties by id in
/// the same direction. Markets without a `freezeAt` come last under `EndTime`.
/// `CurrentProbability` and `Title` return every match ordered by id: the caller sorts.
pub async fn page<'c>(
    exec: impl Exec<'c>,
    q: &MarketQuery,
    sort_by: SortBy,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<MarketRecord>, StoreError> {
    let (clause, args) = filters(q);
    let dir = if descending { "DESC" } else { "ASC" };
    let order = match sort_by {
        SortBy::CreatedAt => format!("m.created_at {dir}, m.id {dir}"),
        SortBy::TotalVolume => format!("m.volume_atomic {dir}, m.id {dir}"),
        SortBy::EndTime => format!(
            "CASE WHEN m.freeze_at IS NULL THEN 1 ELSE 0 END, m.freeze_at {dir}, m.id {dir}"
        ),
        SortBy::CurrentProbability | SortBy::Title => {
            let sql = format!(
                "SELECT {} {FROM} WHERE {clause} ORDER BY m.id",
                prefixed_columns()
            );
            return Ok(bind_all(sqlx::query_as(&sql), args).fetch_all(exec).await?);
        }
    };
    let n = args.len();
    let sql = format!(
        "SELECT {} {FROM} WHERE {clause} ORDER BY {order} LIMIT ${} OFFSET ${}",
        prefixed_columns(),
        n + 1,
        n + 2
    );
    Ok(bind_all(sqlx::query_as(&sql), args)
        .bind(limit)
        .bind(offset)
        .fetch_all(exec)
        .await?)
}

/// One visible market.
pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<MarketRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} {FROM} WHERE m.id = $1 AND {VISIBLE_SQL}",
        prefixed_columns()
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// Visible ACTIVE (tradeable now) markets the operator featured.
pub async fn featured<'c>(
    exec: impl Exec<'c>,
    now_ms: i64,
    flagged: bool,
    limit: i64,
) -> Result<Vec<MarketRecord>, StoreError> {
    let flag = if flagged {
        " AND m.featured_at IS NOT NULL"
    } else {
        ""
    };
    Ok(sqlx::query_as(&format!(
        "SELECT {} {FROM} WHERE {VISIBLE_SQL} AND m.phase = 'ACTIVE' \
         AND (m.freeze_at IS NULL OR m.freeze_at > $1){flag} \
         ORDER BY m.volume_atomic DESC, m.id DESC LIMIT $2",
        prefixed_columns()
    ))
    .bind(now_ms)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The chapters of a thread's visible markets: `(chapter_id, title, position, total,
/// market count)`, by position then id. Title, position and total come from the chapter's
/// first market (oldest).
pub async fn chapters<'c>(
    exec: impl Exec<'c>,
    thread_id: &str,
) -> Result<Vec<(String, Option<String>, Option<i64>, Option<i64>)>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT m.chapter_id, m.chapter_title, m.chapter_position, m.chapter_total {FROM} \
         WHERE m.thread_id = $1 AND m.chapter_id IS NOT NULL AND {VISIBLE_SQL} \
         ORDER BY m.created_at, m.id"
    ))
    .bind(thread_id)
    .fetch_all(exec)
    .await?)
}

/// A completed trade as the public API shows it (never the trader).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct PublicTrade {
    pub id: String,
    pub outcome_index: i64,
    pub side: String,
    /// Atomic USDC: the buy amount, or the sell payout.
    pub measure_atomic: i64,
    pub tokens_in: Option<String>,
    pub probability_after_micro: Option<i64>,
    pub completed_at: Option<i64>,
    pub block_number: Option<i64>,
}

const TRADE_COLUMNS: &str = "id, outcome_index, side, measure_atomic, tokens_in, \
    probability_after_micro, completed_at, block_number";

/// Every completed trade of a market in ledger order (oldest first), for the price history.
pub async fn trades_in_order<'c>(
    exec: impl Exec<'c>,
    market_id: &str,
) -> Result<Vec<PublicTrade>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TRADE_COLUMNS} FROM trades WHERE market_id = $1 AND status = 'completed' \
         ORDER BY block_number, id"
    ))
    .bind(market_id)
    .fetch_all(exec)
    .await?)
}

/// A market's most recent completed trades, newest first.
pub async fn recent_trades<'c>(
    exec: impl Exec<'c>,
    market_id: &str,
    limit: i64,
) -> Result<Vec<PublicTrade>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TRADE_COLUMNS} FROM trades WHERE market_id = $1 AND status = 'completed' \
         ORDER BY block_number DESC, id DESC LIMIT $2"
    ))
    .bind(market_id)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// One market's completed trades within a window (trending).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct WindowStats {
    pub market_id: String,
    pub trades: i64,
    /// Atomic USDC: buy amounts plus sell payouts.
    pub volume: i64,
    pub traders: i64,
}

/// Per visible market with at least one completed trade since `since_ms`.
pub async fn window_stats<'c>(
    exec: impl Exec<'c>,
    since_ms: i64,
    category: Option<&str>,
) -> Result<Vec<WindowStats>, StoreError> {
    let cat = if category.is_some() {
        " AND m.category = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT tr.market_id, COUNT(*) AS trades, \
         CAST(COALESCE(SUM(tr.measure_atomic), 0) AS BIGINT) AS volume, \
         COUNT(DISTINCT tr.owner_id) AS traders \
         FROM trades tr JOIN markets m ON m.id = tr.market_id \
         JOIN organizations o ON o.id = m.organization_id \
         WHERE tr.status = 'completed' AND tr.completed_at >= $1 AND {VISIBLE_SQL}{cat} \
         GROUP BY tr.market_id"
    );
    let mut q = sqlx::query_as(&sql).bind(since_ms);
    if let Some(c) = category {
        q = q.bind(c);
    }
    Ok(q.fetch_all(exec).await?)
}

/// Visible markets by id (any order; unknown ids are skipped).
pub async fn by_ids<'c>(
    exec: impl Exec<'c>,
    ids: &[String],
) -> Result<Vec<MarketRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {} {FROM} WHERE m.id IN ({}) AND {VISIBLE_SQL}",
        prefixed_columns(),
        marks.join(", ")
    );
    let mut q = sqlx::query_as(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    Ok(q.fetch_all(exec).await?)
}
