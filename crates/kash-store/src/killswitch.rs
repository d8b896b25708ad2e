//! Kill switches: a flag present in the table is on.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct KillSwitchRecord {
    pub flag: String,
    pub reason: Option<String>,
    pub set_by: Option<String>,
    pub set_at: i64,
}

pub async fn set<'c>(exec: impl Exec<'c>, s: &KillSwitchRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO kill_switches (flag, reason, set_by, set_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (flag) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, \
         set_at = excluded.set_at",
    )
    .bind(&s.flag)
    .bind(&s.reason)
    .bind(&s.set_by)
    .bind(s.set_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Turns a flag off; false when it was not on.
pub async fn clear<'c>(exec: impl Exec<'c>, flag: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query("DELETE FROM kill_switches WHERE flag = $1")
        .bind(flag)
        .execute(exec)
        .await?
        .rows_affected()
        == 1)
}

pub async fn list<'c>(exec: impl Exec<'c>) -> Result<Vec<KillSwitchRecord>, StoreError> {
    Ok(
        sqlx::query_as("SELECT flag, reason, set_by, set_at FROM kill_switches ORDER BY flag")
            .fetch_all(exec)
            .await?,
    )
}
