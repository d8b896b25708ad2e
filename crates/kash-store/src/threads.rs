//! Threads: an organization's editorial groupings of markets. A thread's `status` is derived
//! at read time, and its totals (markets, volume, participants) are derived from its markets —
//! both live in this module so that the markets table is joined in one place ([`totals`] and
//! [`VOLUME_SORT_SQL`]).

use std::collections::HashMap;

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ThreadRecord {
    pub id: String,
    pub org_id: String,
    pub partner_id: Option<String>,
    pub title: String,
    pub description: String,
    pub image: Option<String>,
    pub background_image: Option<String>,
    pub category: String,
    /// JSON list of strings.
    pub tags: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ThreadRecord {
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

const COLUMNS: &str = "t.id, t.org_id, t.partner_id, t.title, t.description, t.image, \
    t.background_image, t.category, t.tags, t.start_time, t.end_time, t.created_at, \
    t.updated_at";

/// Derived from the markets of a thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadTotals {
    pub market_count: i64,
    /// Atomic USDC.
    pub total_volume: i64,
    /// Distinct traders over the thread's markets.
    pub participant_count: i64,
}

/// The totals of each thread over its publicly visible markets (ACTIVE, FROZEN, RESOLVED,
/// CANCELLED; the thread's organization is the markets' organization): market count, volume
/// (buy amounts plus sell payouts, atomic) and distinct traders of completed trades.
pub async fn totals<'c>(
    exec: impl Exec<'c> + Copy,
    ids: &[String],
) -> Result<HashMap<String, ThreadTotals>, StoreError> {
    let mut out: HashMap<String, ThreadTotals> = ids
        .iter()
        .map(|id| (id.clone(), ThreadTotals::default()))
        .collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let marks = marks.join(", ");
    let sql = format!(
        "SELECT m.thread_id, COUNT(*), CAST(COALESCE(SUM(m.volume_atomic), 0) AS BIGINT) \
         FROM markets m WHERE m.thread_id IN ({marks}) AND {MARKET_PHASES} GROUP BY m.thread_id"
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    for (id, count, volume) in q.fetch_all(exec).await? {
        if let Some(t) = out.get_mut(&id) {
            t.market_count = count;
            t.total_volume = volume;
        }
    }
    let sql = format!(
        "SELECT m.thread_id, COUNT(DISTINCT tr.owner_id) FROM trades tr \
         JOIN markets m ON m.id = tr.market_id \
         WHERE m.thread_id IN ({marks}) AND {MARKET_PHASES} AND tr.status = 'completed' \
         GROUP BY m.thread_id"
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    for (id, participants) in q.fetch_all(exec).await? {
        if let Some(t) = out.get_mut(&id) {
            t.participant_count = participants;
        }
    }
    Ok(out)
}

/// The phases of the markets a thread's totals count (alias `m`).
const MARKET_PHASES: &str = "m.phase IN ('ACTIVE', 'FROZEN', 'RESOLVED', 'CANCELLED')";

/// The SQL expression (over alias `t`) that `sortBy=total_volume` orders by: the same volume
/// [`totals`] reports.
pub const VOLUME_SORT_SQL: &str = "(SELECT CAST(COALESCE(SUM(m.volume_atomic), 0) AS BIGINT) \
    FROM markets m WHERE m.thread_id = t.id \
    AND m.phase IN ('ACTIVE', 'FROZEN', 'RESOLVED', 'CANCELLED'))";

pub async fn insert<'c>(exec: impl Exec<'c>, t: &ThreadRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO threads (id, org_id, partner_id, title, description, image, \
         background_image, category, tags, start_time, end_time, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&t.id)
    .bind(&t.org_id)
    .bind(&t.partner_id)
    .bind(&t.title)
    .bind(&t.description)
    .bind(&t.image)
    .bind(&t.background_image)
    .bind(&t.category)
    .bind(&t.tags)
    .bind(t.start_time)
    .bind(t.end_time)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn update<'c>(exec: impl Exec<'c>, t: &ThreadRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE threads SET partner_id = $2, title = $3, description = $4, image = $5, \
         background_image = $6, category = $7, tags = $8, start_time = $9, end_time = $10, \
         updated_at = $11 WHERE id = $1",
    )
    .bind(&t.id)
    .bind(&t.partner_id)
    .bind(&t.title)
    .bind(&t.description)
    .bind(&t.image)
    .bind(&t.background_image)
    .bind(&t.category)
    .bind(&t.tags)
    .bind(t.start_time)
    .bind(t.end_time)
    .bind(t.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Replaces the thread's rows in the tag index.
pub async fn set_tags(
    tx: &mut crate::Tx,
    thread_id: &str,
    tags: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM thread_tags WHERE thread_id = $1")
        .bind(thread_id)
        .execute(&mut **tx)
        .await?;
    for tag in tags {
        sqlx::query(
            "INSERT INTO thread_tags (thread_id, tag) VALUES ($1, $2) \
             ON CONFLICT (thread_id, tag) DO NOTHING",
        )
        .bind(thread_id)
        .bind(tag)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<ThreadRecord>, StoreError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM threads t WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}

/// Derived status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Upcoming,
    Closed,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    CreatedAt,
    StartTime,
    TotalVolume,
}

/// Which threads a listing covers. Threads of suspended organizations never appear.
#[derive(Debug, Clone, Default)]
pub struct ThreadQuery {
    pub org_id: Option<String>,
    pub partner_id: Option<String>,
    pub status: Option<StatusFilter>,
    pub category: Option<String>,
    /// Any-match.
    pub tags: Vec<String>,
    pub sort_by: Option<SortBy>,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
    pub now_ms: i64,
    /// Operators' listings include the threads of suspended organizations.
    pub include_suspended: bool,
}

enum Arg {
    Text(String),
    Int(i64),
}

/// The WHERE clause and its arguments (placeholders numbered from `$1`).
fn filters(q: &ThreadQuery) -> (String, Vec<Arg>) {
    let mut clauses = vec![if q.include_suspended {
        "1 = 1".to_string()
    } else {
        "o.status = 'active'".to_string()
    }];
    let mut args = Vec::new();
    let push = |args: &mut Vec<Arg>, arg: Arg| {
        args.push(arg);
        format!("${}", args.len())
    };
    if let Some(org) = &q.org_id {
        let p = push(&mut args, Arg::Text(org.clone()));
        clauses.push(format!("t.org_id = {p}"));
    }
    if let Some(partner) = &q.partner_id {
        let p = push(&mut args, Arg::Text(partner.clone()));
        clauses.push(format!("t.partner_id = {p}"));
    }
    if let Some(category) = &q.category {
        let p = push(&mut args, Arg::Text(category.clone()));
        clauses.push(format!("t.category = {p}"));
    }
    if !q.tags.is_empty() {
        let ps: Vec<String> = q
            .tags
            .iter()
            .map(|tag| push(&mut args, Arg::Text(tag.clone())))
            .collect();
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM thread_tags tt WHERE tt.thread_id = t.id AND tt.tag IN ({}))",
            ps.join(", ")
        ));
    }
    match q.status.unwrap_or(StatusFilter::All) {
        StatusFilter::All => {}
        status => {
            let now = push(&mut args, Arg::Int(q.now_ms));
            let upcoming = format!("(t.start_time IS NOT NULL AND t.start_time > {now})");
            let closed = format!("(t.end_time IS NOT NULL AND t.end_time <= {now})");
            clauses.push(match status {
                StatusFilter::Upcoming => upcoming,
                StatusFilter::Closed => format!("(NOT {upcoming} AND {closed})"),
                _ => format!("(NOT {upcoming} AND NOT {closed})"),
            });
        }
    }
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

/// `(total matching, the requested page)`.
pub async fn list(db: &crate::Db, q: &ThreadQuery) -> Result<(i64, Vec<ThreadRecord>), StoreError> {
    let (clause, args) = filters(q);
    let from = format!("FROM threads t JOIN organizations o ON o.id = t.org_id WHERE {clause}");
    let (total,): (i64,) = bind_all(sqlx::query_as(&format!("SELECT COUNT(*) {from}")), args)
        .fetch_one(db.reader())
        .await?;
    let dir = if q.descending { "DESC" } else { "ASC" };
    let order = match q.sort_by.unwrap_or(SortBy::CreatedAt) {
        SortBy::CreatedAt => format!("t.created_at {dir}, t.id {dir}"),
        // Threads without a start time come last in either direction.
        SortBy::StartTime => format!(
            "CASE WHEN t.start_time IS NULL THEN 1 ELSE 0 END, t.start_time {dir}, t.id {dir}"
        ),
        SortBy::TotalVolume => format!("{VOLUME_SORT_SQL} {dir}, t.id {dir}"),
    };
    let (_, args) = filters(q);
    let n = args.len();
    let sql = format!(
        "SELECT {COLUMNS} {from} ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let rows = bind_all(sqlx::query_as(&sql), args)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(db.reader())
        .await?;
    Ok((total, rows))
}
