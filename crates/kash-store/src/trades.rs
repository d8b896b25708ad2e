//! Trades, their timelines (trace events) and the queries the caps and listings need.

use sqlx::{FromRow, Row};

use crate::{Exec, StoreError};

/// Statuses whose buys count toward the rolling daily cap (`api.md` §4).
pub const DAILY_STATUSES: &str =
    "('pending_confirmation', 'pending', 'validating', 'executing', 'completed')";

/// Every status, as the API spells them.
pub const STATUSES: [&str; 7] = [
    "pending_confirmation",
    "pending",
    "validating",
    "executing",
    "completed",
    "failed",
    "rejected",
];

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct TradeRecord {
    pub id: String,
    pub owner_id: String,
    pub holder_account_id: String,
    pub api_key_id: String,
    pub market_id: String,
    pub outcome_index: i64,
    pub side: String,
    /// `amount`, `tokens` or `close` for sells; null for buys.
    pub sell_mode: Option<String>,
    pub amount: String,
    /// The USDC measure of the caps: a buy's amount, a sell's (quoted) payout.
    pub measure_atomic: i64,
    /// What counts toward the daily cap (buys: the amount; sells: 0).
    pub daily_atomic: i64,
    pub tokens_requested: Option<String>,
    pub close_position: Option<i64>,
    pub status: String,
    pub correlation_id: String,
    pub client_request_id: Option<String>,
    pub identity_hash: String,
    pub ledger_tx_id: Option<String>,
    pub block_number: Option<i64>,
    pub tokens_out: Option<String>,
    pub tokens_in: Option<String>,
    pub usdc_out_atomic: Option<i64>,
    pub protocol_fee_atomic: Option<i64>,
    pub price_after: Option<String>,
    pub probability_after_micro: Option<i64>,
    pub log_index: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub metadata: String,
    pub channel: String,
    pub api_version: String,
    pub confirm_token_hash: Option<String>,
    pub confirm_token_enc: Option<String>,
    pub confirm_expires_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub latency_ms: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
}

pub const COLUMNS: &str = "id, owner_id, holder_account_id, api_key_id, market_id, \
    outcome_index, side, sell_mode, amount, measure_atomic, daily_atomic, tokens_requested, \
    close_position, status, correlation_id, client_request_id, identity_hash, ledger_tx_id, \
    block_number, tokens_out, tokens_in, usdc_out_atomic, protocol_fee_atomic, price_after, \
    probability_after_micro, log_index, error_code, error_message, metadata, channel, \
    api_version, confirm_token_hash, confirm_token_enc, confirm_expires_at, confirmed_at, \
    latency_ms, created_at, updated_at, completed_at";

pub async fn insert<'c>(exec: impl Exec<'c>, t: &TradeRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO trades ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, \
         $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39)"
    ))
    .bind(&t.id)
    .bind(&t.owner_id)
    .bind(&t.holder_account_id)
    .bind(&t.api_key_id)
    .bind(&t.market_id)
    .bind(t.outcome_index)
    .bind(&t.side)
    .bind(&t.sell_mode)
    .bind(&t.amount)
    .bind(t.measure_atomic)
    .bind(t.daily_atomic)
    .bind(&t.tokens_requested)
    .bind(t.close_position)
    .bind(&t.status)
    .bind(&t.correlation_id)
    .bind(&t.client_request_id)
    .bind(&t.identity_hash)
    .bind(&t.ledger_tx_id)
    .bind(t.block_number)
    .bind(&t.tokens_out)
    .bind(&t.tokens_in)
    .bind(t.usdc_out_atomic)
    .bind(t.protocol_fee_atomic)
    .bind(&t.price_after)
    .bind(t.probability_after_micro)
    .bind(t.log_index)
    .bind(&t.error_code)
    .bind(&t.error_message)
    .bind(&t.metadata)
    .bind(&t.channel)
    .bind(&t.api_version)
    .bind(&t.confirm_token_hash)
    .bind(&t.confirm_token_enc)
    .bind(t.confirm_expires_at)
    .bind(t.confirmed_at)
    .bind(t.latency_ms)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(t.completed_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Writes every column that changes after acceptance.
pub async fn update<'c>(exec: impl Exec<'c>, t: &TradeRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE trades SET amount = $1, measure_atomic = $2, status = $3, ledger_tx_id = $4, \
         block_number = $5, tokens_out = $6, tokens_in = $7, usdc_out_atomic = $8, \
         protocol_fee_atomic = $9, price_after = $10, probability_after_micro = $11, \
         log_index = $12, error_code = $13, error_message = $14, confirm_token_enc = $15, \
         confirmed_at = $16, latency_ms = $17, updated_at = $18, completed_at = $19 \
         WHERE id = $20",
    )
    .bind(&t.amount)
    .bind(t.measure_atomic)
    .bind(&t.status)
    .bind(&t.ledger_tx_id)
    .bind(t.block_number)
    .bind(&t.tokens_out)
    .bind(&t.tokens_in)
    .bind(t.usdc_out_atomic)
    .bind(t.protocol_fee_atomic)
    .bind(&t.price_after)
    .bind(t.probability_after_micro)
    .bind(t.log_index)
    .bind(&t.error_code)
    .bind(&t.error_message)
    .bind(&t.confirm_token_enc)
    .bind(t.confirmed_at)
    .bind(t.latency_ms)
    .bind(t.updated_at)
    .bind(t.completed_at)
    .bind(&t.id)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<TradeRecord>, StoreError> {
    lock(exec, id, "").await
}

pub async fn lock<'c>(
    exec: impl Exec<'c>,
    id: &str,
    for_update: &str,
) -> Result<Option<TradeRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trades WHERE id = $1{for_update}"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

pub async fn by_client_request_id<'c>(
    exec: impl Exec<'c>,
    owner_id: &str,
    client_request_id: &str,
) -> Result<Option<TradeRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trades WHERE owner_id = $1 AND client_request_id = $2"
    ))
    .bind(owner_id)
    .bind(client_request_id)
    .fetch_optional(exec)
    .await?)
}

/// Σ of the key's buys in the rolling window that count toward the daily cap, optionally
/// leaving one trade out (a confirm counts its own trade once).
pub async fn daily_sum<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    since_ms: i64,
    excluding: Option<&str>,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM(daily_atomic), 0) AS BIGINT) FROM trades \
         WHERE api_key_id = $1 AND created_at > $2 AND status IN {DAILY_STATUSES} \
         AND daily_atomic > 0 AND id <> $3"
    ))
    .bind(api_key_id)
    .bind(since_ms)
    .bind(excluding.unwrap_or(""))
    .fetch_one(exec)
    .await?)
}

/// Filters of `GET /v1/trades`.
#[derive(Debug, Clone, Default)]
pub struct OwnerFilter {
    pub statuses: Vec<String>,
    pub market_id: Option<String>,
    pub before: Option<(i64, String)>,
}

/// The owner's trades, newest first.
pub async fn of_owner<'c>(
    exec: impl Exec<'c>,
    owner_id: &str,
    filter: &OwnerFilter,
    limit: i64,
) -> Result<Vec<TradeRecord>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM trades WHERE owner_id = $1");
    let mut n = 1;
    if !filter.statuses.is_empty() {
        let marks: Vec<String> = filter
            .statuses
            .iter()
            .map(|_| {
                n += 1;
                format!("${n}")
            })
            .collect();
        sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
    }
    if filter.market_id.is_some() {
        n += 1;
        sql.push_str(&format!(" AND market_id = ${n}"));
    }
    if filter.before.is_some() {
        sql.push_str(&format!(
            " AND (created_at < ${} OR (created_at = ${} AND id < ${}))",
            n + 1,
            n + 1,
            n + 2
        ));
        n += 2;
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ${}",
        n + 1
    ));
    let mut q = sqlx::query_as(&sql).bind(owner_id);
    for s in &filter.statuses {
        q = q.bind(s.as_str());
    }
    if let Some(m) = &filter.market_id {
        q = q.bind(m.as_str());
    }
    if let Some((at, id)) = &filter.before {
        q = q.bind(*at).bind(id.as_str());
    }
    Ok(q.bind(limit).fetch_all(exec).await?)
}

/// A market's completed trades, newest first (`/predictions`).
pub async fn of_market<'c>(
    exec: impl Exec<'c>,
    market_id: &str,
    side: Option<&str>,
    outcome: Option<i64>,
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<TradeRecord>, StoreError> {
    let mut sql =
        format!("SELECT {COLUMNS} FROM trades WHERE market_id = $1 AND status = 'completed'");
    let mut n = 1;
    if side.is_some() {
        n += 1;
        sql.push_str(&format!(" AND side = ${n}"));
    }
    if outcome.is_some() {
        n += 1;
        sql.push_str(&format!(" AND outcome_index = ${n}"));
    }
    if before.is_some() {
        sql.push_str(&format!(
            " AND (completed_at < ${} OR (completed_at = ${} AND id < ${}))",
            n + 1,
            n + 1,
            n + 2
        ));
        n += 2;
    }
    sql.push_str(&format!(
        " ORDER BY completed_at DESC, id DESC LIMIT ${}",
        n + 1
    ));
    let mut q = sqlx::query_as(&sql).bind(market_id);
    if let Some(s) = side {
        q = q.bind(s);
    }
    if let Some(o) = outcome {
        q = q.bind(o);
    }
    if let Some((at, id)) = &before {
        q = q.bind(*at).bind(id.as_str());
    }
    Ok(q.bind(limit).fetch_all(exec).await?)
}

/// Trades awaiting confirmation whose window has lapsed.
pub async fn expired_confirmations<'c>(
    exec: impl Exec<'c>,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM trades WHERE status = 'pending_confirmation' AND confirm_expires_at <= $1 \
         ORDER BY confirm_expires_at LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The trades of one correlation id (a trace), oldest first.
pub async fn by_correlation<'c>(
    exec: impl Exec<'c>,
    correlation_id: &str,
) -> Result<Vec<TradeRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trades WHERE correlation_id = $1 ORDER BY created_at, id"
    ))
    .bind(correlation_id)
    .fetch_all(exec)
    .await?)
}

/// One entry of a trade's timeline.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct TradeEventRecord {
    pub seq: i64,
    pub correlation_id: String,
    pub trade_id: String,
    pub event_type: String,
    pub data: String,
    pub occurred_at: i64,
}

pub async fn add_event<'c>(
    exec: impl Exec<'c>,
    correlation_id: &str,
    trade_id: &str,
    event_type: &str,
    data: &serde_json::Value,
    occurred_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO trade_events (correlation_id, trade_id, event_type, data, occurred_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(correlation_id)
    .bind(trade_id)
    .bind(event_type)
    .bind(data.to_string())
    .bind(occurred_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Appends several timeline entries of one trade in one statement, in order.
pub async fn add_events<'c>(
    exec: impl Exec<'c>,
    correlation_id: &str,
    trade_id: &str,
    events: &[(&str, serde_json::Value)],
    occurred_at: i64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO trade_events (correlation_id, trade_id, event_type, data, occurred_at) VALUES ",
    );
    for i in 0..events.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("($1, $2, ${}, ${}, $3)", 2 * i + 4, 2 * i + 5));
    }
    let mut q = sqlx::query(&sql)
        .bind(correlation_id)
        .bind(trade_id)
        .bind(occurred_at);
    for (event_type, data) in events {
        q = q.bind(*event_type).bind(data.to_string());
    }
    q.execute(exec).await?;
    Ok(())
}

pub async fn events_of<'c>(
    exec: impl Exec<'c>,
    correlation_id: &str,
) -> Result<Vec<TradeEventRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT seq, correlation_id, trade_id, event_type, data, occurred_at FROM trade_events \
         WHERE correlation_id = $1 ORDER BY seq",
    )
    .bind(correlation_id)
    .fetch_all(exec)
    .await?)
}

/// Counts and execution latencies of one key's trades since `since_ms` (account usage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageWindow {
    pub total: i64,
    pub completed: i64,
    pub failed: i64,
    /// Execution latencies of completed trades, ascending.
    pub latencies_ms: Vec<i64>,
}

pub async fn usage_since<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    since_ms: i64,
) -> Result<UsageWindow, StoreError> {
    let rows = sqlx::query(
        "SELECT status, latency_ms FROM trades WHERE api_key_id = $1 AND created_at >= $2",
    )
    .bind(api_key_id)
    .bind(since_ms)
    .fetch_all(exec)
    .await?;
    let mut out = UsageWindow::default();
    for row in rows {
        let status: String = row.try_get("status")?;
        let latency: Option<i64> = row.try_get("latency_ms")?;
        out.total += 1;
        match status.as_str() {
            "completed" => {
                out.completed += 1;
                if let Some(l) = latency {
                    out.latencies_ms.push(l);
                }
            }
            "failed" | "rejected" => out.failed += 1,
            _ => {}
        }
    }
    out.latencies_ms.sort_unstable();
    Ok(out)
}

/// Completed trades without their ledger transaction (ledger check).
pub async fn completed_without_ledger<'c>(exec: impl Exec<'c>) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT t.id FROM trades t LEFT JOIN ledger_transactions l ON l.id = t.ledger_tx_id \
         WHERE t.status = 'completed' AND l.id IS NULL",
    )
    .fetch_all(exec)
    .await?)
}
