//! Per-key usage counters, kept per minute. Servers aggregate in memory and add their deltas
//! here, so counts from several instances sum correctly.

use crate::{Exec, StoreError};

/// Adds `delta` to one counter cell.
pub async fn add<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    metric: &str,
    minute_bucket: i64,
    delta: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO usage_counters (api_key_id, metric, minute_bucket, count) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (api_key_id, metric, minute_bucket) \
         DO UPDATE SET count = usage_counters.count + excluded.count",
    )
    .bind(api_key_id)
    .bind(metric)
    .bind(minute_bucket)
    .bind(delta)
    .execute(exec)
    .await?;
    Ok(())
}

/// Sum of a metric over the minutes starting at or after `since_ms`.
pub async fn sum_since<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    metric: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM usage_counters \
         WHERE api_key_id = $1 AND metric = $2 AND minute_bucket >= $3",
    )
    .bind(api_key_id)
    .bind(metric)
    .bind(since_ms)
    .fetch_one(exec)
    .await?)
}

/// Drops cells older than `before_ms`.
pub async fn purge_before<'c>(exec: impl Exec<'c>, before_ms: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM usage_counters WHERE minute_bucket < $1")
            .bind(before_ms)
            .execute(exec)
            .await?
            .rows_affected(),
    )
}
