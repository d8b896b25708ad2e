//! What users and organizations share as owners of API keys.

use kash_core::owner::Owner;
use sqlx::Row;

use crate::{Exec, StoreError};

fn table(owner: &Owner) -> &'static str {
    match owner {
        Owner::User(_) => "users",
        Owner::Org(_) => "organizations",
    }
}

/// The owner's active-key cap, locking its row for the rest of the transaction (PostgreSQL;
/// SQLite write transactions are serialised already). `None` when the owner does not exist.
pub async fn lock_key_cap<'c>(
    exec: impl Exec<'c>,
    owner: &Owner,
    for_update: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT max_active_keys FROM {} WHERE id = $1{for_update}",
        table(owner)
    ))
    .bind(owner.id())
    .fetch_optional(exec)
    .await?;
    Ok(row.map(|r| r.try_get("max_active_keys")).transpose()?)
}

/// Sets the owner's active-key cap; false when the owner does not exist.
pub async fn set_key_cap<'c>(
    exec: impl Exec<'c>,
    owner: &Owner,
    max: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(&format!(
        "UPDATE {} SET max_active_keys = $1 WHERE id = $2",
        table(owner)
    ))
    .bind(max)
    .bind(owner.id())
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the self-serve tier the console issues the owner's keys at; false when the owner does
/// not exist.
pub async fn set_tier<'c>(
    exec: impl Exec<'c>,
    owner: &Owner,
    tier: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(&format!(
        "UPDATE {} SET tier = $1 WHERE id = $2",
        table(owner)
    ))
    .bind(tier)
    .bind(owner.id())
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}
