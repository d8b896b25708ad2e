//! API keys. Only the HMAC of a key is stored (see `kash-service::secrets`); lookups go through
//! the unique index on that hash.

use kash_core::owner::Owner;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use crate::{Exec, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub owner: Owner,
    pub environment: String,
    pub key_hash: String,
    pub hint: String,
    pub name: String,
    pub tier: String,
    pub scopes: String,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret_enc: Option<String>,
    pub webhook_url_changed_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub rate_limit_per_minute: Option<i64>,
    pub per_trade_cap_atomic: Option<i64>,
    pub daily_cap_atomic: Option<i64>,
    pub confirm_threshold_atomic: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRecord {
    /// Active = neither revoked nor past its expiry.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now_ms)
    }
}

const COLUMNS: &str = "id, user_id, org_id, environment, key_hash, hint, name, tier, scopes, \
    ip_allowlist, webhook_url, webhook_secret_enc, webhook_url_changed_at, expires_at, \
    rate_limit_per_minute, per_trade_cap_atomic, daily_cap_atomic, confirm_threshold_atomic, \
    created_at, last_used_at, revoked_at";

impl<'r> FromRow<'r, AnyRow> for ApiKeyRecord {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        let user_id: Option<String> = row.try_get("user_id")?;
        let org_id: Option<String> = row.try_get("org_id")?;
        let owner = match (user_id, org_id) {
            (Some(user), None) => Owner::User(user),
            (None, Some(org)) => Owner::Org(org),
            _ => {
                return Err(sqlx::Error::Decode(
                    "api key without exactly one owner".into(),
                ))
            }
        };
        Ok(ApiKeyRecord {
            id: row.try_get("id")?,
            owner,
            environment: row.try_get("environment")?,
            key_hash: row.try_get("key_hash")?,
            hint: row.try_get("hint")?,
            name: row.try_get("name")?,
            tier: row.try_get("tier")?,
            scopes: row.try_get("scopes")?,
            ip_allowlist: row.try_get("ip_allowlist")?,
            webhook_url: row.try_get("webhook_url")?,
            webhook_secret_enc: row.try_get("webhook_secret_enc")?,
            webhook_url_changed_at: row.try_get("webhook_url_changed_at")?,
            expires_at: row.try_get("expires_at")?,
            rate_limit_per_minute: row.try_get("rate_limit_per_minute")?,
            per_trade_cap_atomic: row.try_get("per_trade_cap_atomic")?,
            daily_cap_atomic: row.try_get("daily_cap_atomic")?,
            confirm_threshold_atomic: row.try_get("confirm_threshold_atomic")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

fn owner_columns(owner: &Owner) -> (Option<&str>, Option<&str>) {
    match owner {
        Owner::User(id) => (Some(id.as_str()), None),
        Owner::Org(id) => (None, Some(id.as_str())),
    }
}

fn owner_filter(owner: &Owner) -> &'static str {
    match owner {
        Owner::User(_) => "user_id = $1",
        Owner::Org(_) => "org_id = $1",
    }
}

pub async fn insert<'c>(exec: impl Exec<'c>, key: &ApiKeyRecord) -> Result<(), StoreError> {
    let (user_id, org_id) = owner_columns(&key.owner);
    sqlx::query(&format!(
        "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ))
    .bind(&key.id)
    .bind(user_id)
    .bind(org_id)
    .bind(&key.environment)
    .bind(&key.key_hash)
    .bind(&key.hint)
    .bind(&key.name)
    .bind(&key.tier)
    .bind(&key.scopes)
    .bind(&key.ip_allowlist)
    .bind(&key.webhook_url)
    .bind(&key.webhook_secret_enc)
    .bind(key.webhook_url_changed_at)
    .bind(key.expires_at)
    .bind(key.rate_limit_per_minute)
    .bind(key.per_trade_cap_atomic)
    .bind(key.daily_cap_atomic)
    .bind(key.confirm_threshold_atomic)
    .bind(key.created_at)
    .bind(key.last_used_at)
    .bind(key.revoked_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn find_by_hash<'c>(
    exec: impl Exec<'c>,
    key_hash: &str,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1"
    ))
    .bind(key_hash)
    .fetch_optional(exec)
    .await?)
}

/// [`find_by_hash`] and [`owner_rate_limits`] of the key's owner in one round trip: the gate
/// needs both on every request.
pub async fn find_by_hash_with_owner_limits<'c>(
    exec: impl Exec<'c>,
    key_hash: &str,
    now_ms: i64,
) -> Result<Option<(ApiKeyRecord, Vec<(String, Option<i64>)>)>, StoreError> {
    let columns = COLUMNS
        .split(',')
        .map(|c| format!("k.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {columns}, o.tier AS owner_key_tier, o.rate_limit_per_minute AS owner_key_rate \
         FROM api_keys k LEFT JOIN api_keys o ON \
         ((k.user_id IS NOT NULL AND o.user_id = k.user_id) OR (k.org_id IS NOT NULL AND o.org_id = k.org_id)) \
         AND o.revoked_at IS NULL AND (o.expires_at IS NULL OR o.expires_at > $2) \
         WHERE k.key_hash = $1"
    ))
    .bind(key_hash)
    .bind(now_ms)
    .fetch_all(exec)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let record = ApiKeyRecord::from_row(first)?;
    let mut limits = Vec::with_capacity(rows.len());
    for row in &rows {
        let tier: Option<String> = row.try_get("owner_key_tier")?;
        if let Some(tier) = tier {
            limits.push((tier, row.try_get("owner_key_rate")?));
        }
    }
    Ok(Some((record, limits)))
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}

/// Keys of one owner, or of everyone, newest first.
pub async fn list<'c>(
    exec: impl Exec<'c>,
    owner: Option<&Owner>,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let rows = match owner {
        Some(owner) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE {} ORDER BY created_at DESC, id",
                owner_filter(owner)
            ))
            .bind(owner.id())
            .fetch_all(exec)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id"
            ))
            .fetch_all(exec)
            .await?
        }
    };
    Ok(rows)
}

/// Active keys of an owner (not revoked, not expired at `now_ms`).
pub async fn active_for_owner<'c>(
    exec: impl Exec<'c>,
    owner: &Owner,
    now_ms: i64,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE {} AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
        owner_filter(owner)
    ))
    .bind(owner.id())
    .bind(now_ms)
    .fetch_all(exec)
    .await?)
}

/// Per-key request limits of an owner's active keys: `(tier, override)` pairs, from which the
/// owner's shared quota is derived.
pub async fn owner_rate_limits<'c>(
    exec: impl Exec<'c>,
    owner: &Owner,
    now_ms: i64,
) -> Result<Vec<(String, Option<i64>)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT tier, rate_limit_per_minute FROM api_keys WHERE {} AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
        owner_filter(owner)
    ))
    .bind(owner.id())
    .bind(now_ms)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("tier")?, row.try_get("rate_limit_per_minute")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Marks a key revoked; false when it was already revoked or does not exist.
pub async fn revoke<'c>(exec: impl Exec<'c>, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(exec)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the stored hash (pepper rotation: a key found under the previous pepper is
/// re-hashed under the current one on use).
pub async fn rehash<'c>(exec: impl Exec<'c>, id: &str, new_hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_keys SET key_hash = $1 WHERE id = $2")
        .bind(new_hash)
        .bind(id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Records use, at most once a minute per key, so a busy key does not turn every read into a
/// write.
pub async fn touch_last_used<'c>(
    exec: impl Exec<'c>,
    id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 \
         AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now_ms)
    .bind(id)
    .bind(now_ms - 60_000)
    .execute(exec)
    .await?;
    Ok(())
}

/// The editable part of a key (`kash-admin api-keys update`, the console). Limits are
/// overrides: `None` keeps the tier default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySettings {
    pub name: String,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret_enc: Option<String>,
    pub webhook_url_changed_at: Option<i64>,
    pub rate_limit_per_minute: Option<i64>,
    pub per_trade_cap_atomic: Option<i64>,
    pub daily_cap_atomic: Option<i64>,
    pub confirm_threshold_atomic: Option<i64>,
}

impl From<&ApiKeyRecord> for KeySettings {
    fn from(key: &ApiKeyRecord) -> Self {
        KeySettings {
            name: key.name.clone(),
            ip_allowlist: key.ip_allowlist.clone(),
            webhook_url: key.webhook_url.clone(),
            webhook_secret_enc: key.webhook_secret_enc.clone(),
            webhook_url_changed_at: key.webhook_url_changed_at,
            rate_limit_per_minute: key.rate_limit_per_minute,
            per_trade_cap_atomic: key.per_trade_cap_atomic,
            daily_cap_atomic: key.daily_cap_atomic,
            confirm_threshold_atomic: key.confirm_threshold_atomic,
        }
    }
}

pub async fn update_settings<'c>(
    exec: impl Exec<'c>,
    id: &str,
    s: &KeySettings,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE api_keys SET name = $1, ip_allowlist = $2, webhook_url = $3, \
         webhook_secret_enc = $4, webhook_url_changed_at = $5, rate_limit_per_minute = $6, \
         per_trade_cap_atomic = $7, daily_cap_atomic = $8, confirm_threshold_atomic = $9 \
         WHERE id = $10",
    )
    .bind(&s.name)
    .bind(&s.ip_allowlist)
    .bind(&s.webhook_url)
    .bind(&s.webhook_secret_enc)
    .bind(s.webhook_url_changed_at)
    .bind(s.rate_limit_per_minute)
    .bind(s.per_trade_cap_atomic)
    .bind(s.daily_cap_atomic)
    .bind(s.confirm_threshold_atomic)
    .bind(id)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}
