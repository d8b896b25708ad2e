//! `Idempotency-Key` records (`api.md` §5): a response kept 24 h under (owner, key), then a
//! tombstone for 30 days. The record is written in the same transaction as the operation it
//! answers for, so a key is bound exactly when its result commits; on PostgreSQL a concurrent
//! duplicate's insert waits on the unique index until the first transaction ends.

use sqlx::{AnyConnection, FromRow};

use crate::{Exec, StoreError};

/// How long a response is replayed.
pub const RESPONSE_TTL_MS: i64 = 24 * 3_600_000;
/// How long a tombstone outlives the response.
pub const TOMBSTONE_TTL_MS: i64 = 30 * 24 * 3_600_000;

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub owner_id: String,
    pub key_hash: String,
    pub route: String,
    pub identity_hash: String,
    pub status_code: Option<i64>,
    pub response_body: Option<String>,
    pub trade_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub tombstone_until: i64,
}

const COLUMNS: &str = "owner_id, key_hash, route, identity_hash, status_code, response_body, \
    trade_id, created_at, expires_at, tombstone_until";

/// Claims `(owner, key)` for this transaction. `Ok(None)`: claimed (a lapsed tombstone is
/// replaced); `Ok(Some(existing))`: the key is bound already.
pub async fn claim(
    conn: &mut AnyConnection,
    owner_id: &str,
    key_hash: &str,
    route: &str,
    identity_hash: &str,
    now_ms: i64,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    for _ in 0..2 {
        let inserted = sqlx::query(&format!(
            "INSERT INTO idempotency_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, NULL, NULL, NULL, \
             $5, $6, $7) ON CONFLICT (owner_id, key_hash) DO NOTHING"
        ))
        .bind(owner_id)
        .bind(key_hash)
        .bind(route)
        .bind(identity_hash)
        .bind(now_ms)
        .bind(now_ms + RESPONSE_TTL_MS)
        .bind(now_ms + RESPONSE_TTL_MS + TOMBSTONE_TTL_MS)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(None);
        }
        let existing: Option<IdempotencyRecord> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM idempotency_keys WHERE owner_id = $1 AND key_hash = $2"
        ))
        .bind(owner_id)
        .bind(key_hash)
        .fetch_optional(&mut *conn)
        .await?;
        match existing {
            Some(record) if record.tombstone_until > now_ms => return Ok(Some(record)),
            Some(_) => {
                // The tombstone has lapsed: the key is free again.
                sqlx::query("DELETE FROM idempotency_keys WHERE owner_id = $1 AND key_hash = $2")
                    .bind(owner_id)
                    .bind(key_hash)
                    .execute(&mut *conn)
                    .await?;
            }
            None => {}
        }
    }
    Err(StoreError::Corrupt(
        "idempotency key could be neither claimed nor read".into(),
    ))
}

/// Stores the response of a claimed key.
pub async fn complete<'c>(
    exec: impl Exec<'c>,
    owner_id: &str,
    key_hash: &str,
    status_code: u16,
    response_body: Option<&str>,
    trade_id: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $1, response_body = $2, trade_id = $3 \
         WHERE owner_id = $4 AND key_hash = $5",
    )
    .bind(i64::from(status_code))
    .bind(response_body)
    .bind(trade_id)
    .bind(owner_id)
    .bind(key_hash)
    .execute(exec)
    .await?;
    Ok(())
}

/// Drops responses past 24 h (their tombstones stay) and tombstones past 30 days.
pub async fn purge<'c>(exec: impl Exec<'c>, now_ms: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE tombstone_until <= $1")
            .bind(now_ms)
            .execute(exec)
            .await?
            .rows_affected(),
    )
}

pub async fn drop_expired_responses<'c>(
    exec: impl Exec<'c>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE idempotency_keys SET response_body = NULL WHERE expires_at <= $1 \
         AND response_body IS NOT NULL",
    )
    .bind(now_ms)
    .execute(exec)
    .await?
    .rows_affected())
}
