//! Organizations and memberships.

use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OrgRecord {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: String,
    pub revenue_share_bps: i64,
    pub tier: String,
    pub max_active_keys: i64,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, name, slug, status, revenue_share_bps, tier, max_active_keys, created_at";

pub struct NewOrg<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub slug: &'a str,
    pub revenue_share_bps: i64,
    pub created_at: i64,
}

/// Inserts an organization; a taken slug is `StoreError::Unique("organizations_slug_key")`.
pub async fn insert<'c>(exec: impl Exec<'c>, org: &NewOrg<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO organizations (id, name, slug, display_name, revenue_share_bps, created_at) \
         VALUES ($1, $2, $3, $2, $4, $5)",
    )
    .bind(org.id)
    .bind(org.name)
    .bind(org.slug)
    .bind(org.revenue_share_bps)
    .bind(org.created_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<OrgRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

pub async fn find_by_slug<'c>(
    exec: impl Exec<'c>,
    slug: &str,
) -> Result<Option<OrgRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(exec)
    .await?)
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MembershipRecord {
    pub org_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: i64,
}

/// Adds a member or changes the role of an existing one.
pub async fn upsert_member<'c>(
    exec: impl Exec<'c>,
    member: &MembershipRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(&member.org_id)
    .bind(&member.user_id)
    .bind(&member.role)
    .bind(member.created_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn members<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
) -> Result<Vec<MembershipRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT org_id, user_id, role, created_at FROM memberships WHERE org_id = $1 \
         ORDER BY created_at, user_id",
    )
    .bind(org_id)
    .fetch_all(exec)
    .await?)
}

/// A user's memberships with the organizations they belong to, by organization name.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct UserOrg {
    pub org_id: String,
    pub name: String,
    pub slug: String,
    pub status: String,
    pub role: String,
}

pub async fn memberships_of_user<'c>(
    exec: impl Exec<'c>,
    user_id: &str,
) -> Result<Vec<UserOrg>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.org_id AS org_id, o.name AS name, o.slug AS slug, o.status AS status, \
         m.role AS role FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 ORDER BY o.name, o.id",
    )
    .bind(user_id)
    .fetch_all(exec)
    .await?)
}
