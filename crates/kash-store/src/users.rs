//! Users.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub tier: String,
    pub max_active_keys: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, email, name, tier, max_active_keys, created_at";

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub created_at: i64,
}

/// Inserts a user; a taken email is `StoreError::Unique("users_email_key")`.
pub async fn insert<'c>(exec: impl Exec<'c>, user: &NewUser<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.id)
    .bind(user.email)
    .bind(user.name)
    .bind(user.password_hash)
    .bind(user.created_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<UserRecord>, StoreError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}

pub async fn find_by_email<'c>(
    exec: impl Exec<'c>,
    email: &str,
) -> Result<Option<UserRecord>, StoreError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(exec)
            .await?,
    )
}

pub async fn count<'c>(exec: impl Exec<'c>) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(exec)
        .await?)
}

/// The stored argon2id PHC string of a user, if the user has a console password.
pub async fn password_hash<'c>(
    exec: impl Exec<'c>,
    id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(exec)
            .await?
            .flatten(),
    )
}

pub async fn set_password_hash<'c>(
    exec: impl Exec<'c>,
    id: &str,
    hash: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(exec)
        .await?;
    Ok(done.rows_affected() == 1)
}
