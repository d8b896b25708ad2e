//! Organizations and memberships.

use kash_core::ids::{id_text, new_id};
use kash_core::Problem;
use kash_store::orgs::{self, MembershipRecord, NewOrg, OrgRecord};
use kash_store::{users, StoreError};
use regex::Regex;
use std::sync::OnceLock;

use crate::audit;
use crate::{ServiceError, Services};

/// Default `revenueShareBps` of a new organization.
pub const DEFAULT_REVENUE_SHARE_BPS: u32 = 5_000;

fn slug_pattern() -> &'static Regex {
    static SLUG: OnceLock<Regex> = OnceLock::new();
    SLUG.get_or_init(|| {
        Regex::new(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$").unwrap_or_else(|_| unreachable!())
    })
}

pub async fn create(
    svc: &Services,
    name: &str,
    slug: &str,
    revenue_share_bps: Option<u32>,
    actor: &str,
) -> Result<OrgRecord, ServiceError> {
    let mut issues = Vec::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        issues.push(kash_core::Issue::new("name", "must be 1 to 200 characters"));
    }
    if !slug_pattern().is_match(slug) {
        issues.push(kash_core::Issue::new(
            "slug",
            "must be 1 to 40 lowercase letters, digits or inner hyphens",
        ));
    }
    let bps = revenue_share_bps.unwrap_or(DEFAULT_REVENUE_SHARE_BPS);
    if bps > 10_000 {
        issues.push(kash_core::Issue::new(
            "revenueShareBps",
            "must be between 0 and 10000",
        ));
    }
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let id = id_text(&new_id());
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let inserted = orgs::insert(
        &mut *tx,
        &NewOrg {
            id: &id,
            name,
            slug,
            revenue_share_bps: i64::from(bps),
            created_at: now,
        },
    )
    .await;
    match inserted {
        Err(StoreError::Unique(c)) if c == "organizations_slug_key" => {
            return Err(Problem::invalid("slug", format!("`{slug}` is already taken")).into())
        }
        other => other?,
    }
    // Every organization gets its USDC ledger account in the transaction that creates it.
    kash_store::ledger::ensure_account(&mut tx, kash_store::ledger::kind::ORG, &id, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "org_created",
        actor,
        None,
        serde_json::json!({ "organizationId": id, "slug": slug }),
    )
    .await?;
    let org = orgs::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("organization vanished after insert".into()))?;
    tx.commit().await?;
    Ok(org)
}

/// Adds a member, or changes an existing member's role.
pub async fn add_member(
    svc: &Services,
    org_id: &str,
    user_id: &str,
    role: &str,
    actor: &str,
) -> Result<MembershipRecord, ServiceError> {
    if !matches!(role, "owner" | "admin" | "member") {
        return Err(Problem::invalid("role", "must be owner, admin or member").into());
    }
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    if orgs::get(&mut *tx, org_id).await?.is_none() {
        return Err(Problem::not_found(format!("organization {org_id} does not exist")).into());
    }
    if users::get(&mut *tx, user_id).await?.is_none() {
        return Err(Problem::not_found(format!("user {user_id} does not exist")).into());
    }
    let existing = orgs::members(&mut *tx, org_id).await?;
    let is_last_owner = existing
        .iter()
        .filter(|m| m.role == "owner")
        .map(|m| m.user_id.as_str())
        .eq([user_id]);
    if is_last_owner && role != "owner" {
        return Err(Problem::new(
            kash_core::ErrorCode::ValidationFailed,
            "an organization keeps at least one owner",
        )
        .into());
    }
    let member = MembershipRecord {
        org_id: org_id.to_string(),
        user_id: user_id.to_string(),
        role: role.to_string(),
        created_at: now,
    };
    orgs::upsert_member(&mut *tx, &member).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "membership_changed",
        actor,
        None,
        serde_json::json!({ "organizationId": org_id, "userId": user_id, "role": role }),
    )
    .await?;
    tx.commit().await?;
    Ok(member)
}
