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
    pub display_name: Option<String>,
    pub tagline: Option<String>,
    pub color_primary: Option<String>,
    pub logo_url: Option<String>,
    pub contact_email: Option<String>,
    /// JSON `[[threshold_atomic_usdc, bps], …]`, or none for the flat rate.
    pub revenue_brackets: Option<String>,
    /// JSON list of origins, or none for `frame-ancestors *`.
    pub frame_ancestors: Option<String>,
    pub updated_at: Option<i64>,
}

impl OrgRecord {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

const COLUMNS: &str = "id, name, slug, status, revenue_share_bps, tier, max_active_keys, \
    created_at, display_name, tagline, color_primary, logo_url, contact_email, \
    revenue_brackets, frame_ancestors, updated_at";

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

/// The profile fields an operator (or, later, the console) edits; every field is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgProfile {
    pub name: String,
    pub display_name: Option<String>,
    pub tagline: Option<String>,
    pub color_primary: Option<String>,
    pub contact_email: Option<String>,
    pub status: String,
    pub frame_ancestors: Option<String>,
}

pub async fn update_profile<'c>(
    exec: impl Exec<'c>,
    id: &str,
    p: &OrgProfile,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE organizations SET name = $2, display_name = $3, tagline = $4, \
         color_primary = $5, contact_email = $6, status = $7, frame_ancestors = $8, \
         updated_at = $9 WHERE id = $1",
    )
    .bind(id)
    .bind(&p.name)
    .bind(&p.display_name)
    .bind(&p.tagline)
    .bind(&p.color_primary)
    .bind(&p.contact_email)
    .bind(&p.status)
    .bind(&p.frame_ancestors)
    .bind(now_ms)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn set_revenue_share<'c>(
    exec: impl Exec<'c>,
    id: &str,
    bps: i64,
    brackets: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE organizations SET revenue_share_bps = $2, revenue_brackets = $3, \
         updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(bps)
    .bind(brackets)
    .bind(now_ms)
    .execute(exec)
    .await?;
    Ok(())
}

/// Every organization, by name.
pub async fn list<'c>(exec: impl Exec<'c>) -> Result<Vec<OrgRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations ORDER BY name, id"
    ))
    .fetch_all(exec)
    .await?)
}

/// Locks the organization's row for the rest of the transaction (membership changes are
/// serialised per organization, so two demotions cannot both pass the last-owner check).
pub async fn lock<'c>(
    exec: impl Exec<'c>,
    id: &str,
    for_update: &str,
) -> Result<Option<OrgRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations WHERE id = $1{for_update}"
    ))
    .bind(id)
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

pub async fn remove_member<'c>(
    exec: impl Exec<'c>,
    org_id: &str,
    user_id: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(exec)
        .await?;
    Ok(done.rows_affected() > 0)
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
