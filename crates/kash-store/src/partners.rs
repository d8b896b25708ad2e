//! Partners: curators and creators working under an organization's brand.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PartnerRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub display_name: Option<String>,
    pub tagline: Option<String>,
    pub color_primary: Option<String>,
    pub logo_url: Option<String>,
    pub website_url: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, org_id, name, slug, description, display_name, tagline, \
    color_primary, logo_url, website_url, status, created_at, updated_at";

/// Inserts a partner; a slug taken inside the organization is
/// `StoreError::Unique("partners_org_id_slug_key")`.
pub async fn insert<'c>(exec: impl Exec<'c>, p: &PartnerRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO partners (id, org_id, name, slug, description, display_name, tagline, \
         color_primary, logo_url, website_url, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&p.id)
    .bind(&p.org_id)
    .bind(&p.name)
    .bind(&p.slug)
    .bind(&p.description)
    .bind(&p.display_name)
    .bind(&p.tagline)
    .bind(&p.color_primary)
    .bind(&p.logo_url)
    .bind(&p.website_url)
    .bind(&p.status)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Writes every editable field of `p` (matched by id).
pub async fn update<'c>(exec: impl Exec<'c>, p: &PartnerRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE partners SET name = $2, slug = $3, description = $4, display_name = $5, \
         tagline = $6, color_primary = $7, logo_url = $8, website_url = $9, status = $10, \
         updated_at = $11 WHERE id = $1",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.slug)
    .bind(&p.description)
    .bind(&p.display_name)
    .bind(&p.tagline)
    .bind(&p.color_primary)
    .bind(&p.logo_url)
    .bind(&p.website_url)
    .bind(&p.status)
    .bind(p.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<PartnerRecord>, StoreError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM partners WHERE id = $1"))
            .bind(id)
            .fetch_optional(exec)
            .await?,
    )
}

/// `None` for every status.
pub async fn count_for_org<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    status: Option<&str>,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM partners WHERE org_id = $1 AND ($2 IS NULL OR status = $2)",
    )
    .bind(org_id)
    .bind(status)
    .fetch_one(exec)
    .await?)
}

/// A page of an organization's partners, oldest first (ties by id).
pub async fn list_for_org<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<PartnerRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM partners WHERE org_id = $1 AND ($2 IS NULL OR status = $2) \
         ORDER BY created_at, id LIMIT $3 OFFSET $4"
    ))
    .bind(org_id)
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(exec)
    .await?)
}

pub async fn add_member<'c>(
    exec: impl Exec<'c>,
    partner_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO partner_members (partner_id, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (partner_id, user_id) DO NOTHING",
    )
    .bind(partner_id)
    .bind(user_id)
    .bind(now_ms)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn remove_member<'c>(
    exec: impl Exec<'c>,
    partner_id: &str,
    user_id: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM partner_members WHERE partner_id = $1 AND user_id = $2")
        .bind(partner_id)
        .bind(user_id)
        .execute(exec)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The user ids of a partner's members, oldest first.
pub async fn members<'c>(exec: impl Exec<'c>, partner_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM partner_members WHERE partner_id = $1 ORDER BY created_at, user_id",
    )
    .bind(partner_id)
    .fetch_all(exec)
    .await?)
}
