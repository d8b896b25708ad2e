//! Console sessions. Rows are keyed by the SHA-256 of the session id (the caller hashes); the
//! id itself is never stored.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end (created + 7 days); the idle end is `last_seen_at` + 12 hours.
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub flash_enc: Option<String>,
}

const COLUMNS: &str =
    "id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, flash_enc";

pub async fn insert<'c>(exec: impl Exec<'c>, s: &SessionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, user_id, created_at, last_seen_at, expires_at, \
         ip, user_agent, flash_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&s.id_hash)
    .bind(&s.user_id)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .bind(&s.flash_enc)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(
    exec: impl Exec<'c>,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM console_sessions WHERE id_hash = $1"
    ))
    .bind(id_hash)
    .fetch_optional(exec)
    .await?)
}

/// Records activity (the idle clock restarts).
pub async fn touch<'c>(exec: impl Exec<'c>, id_hash: &str, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(now_ms)
        .bind(id_hash)
        .execute(exec)
        .await?;
    Ok(())
}

/// Deletes one session; true when it existed.
pub async fn delete<'c>(exec: impl Exec<'c>, id_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(exec)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes every session of a user (password change); returns how many.
pub async fn delete_for_user<'c>(exec: impl Exec<'c>, user_id: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(exec)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions past their absolute end or idle since `idle_before`.
pub async fn delete_expired<'c>(
    exec: impl Exec<'c>,
    now_ms: i64,
    idle_before: i64,
) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now_ms)
            .bind(idle_before)
            .execute(exec)
            .await?;
    Ok(done.rows_affected())
}

pub async fn set_flash<'c>(
    exec: impl Exec<'c>,
    id_hash: &str,
    flash_enc: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE console_sessions SET flash_enc = $1 WHERE id_hash = $2")
        .bind(flash_enc)
        .bind(id_hash)
        .execute(exec)
        .await?;
    Ok(())
}

pub async fn count_for_user<'c>(exec: impl Exec<'c>, user_id: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM console_sessions WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(exec)
            .await?,
    )
}
