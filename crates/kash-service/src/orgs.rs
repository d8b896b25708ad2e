//! Organizations and memberships: creation, profile and status, revenue-share settings, and
//! membership changes under the last-owner rule. Every change is audited.

use kash_core::ids::{id_text, new_id, parse_uuid};
use kash_core::org_roles::OrgRole;
use kash_core::revenue::Brackets;
use kash_core::{ErrorCode, Issue, Problem};
use kash_store::orgs::{self, MembershipRecord, NewOrg, OrgProfile, OrgRecord};
use kash_store::{users, StoreError, Tx};
use serde_json::json;

use crate::audit;
use crate::fields;
use crate::{ServiceError, Services};

/// Default `revenueShareBps` of a new organization unless the operator sets
/// `KASH_DEFAULT_REVENUE_SHARE_BPS`.
pub const DEFAULT_REVENUE_SHARE_BPS: u32 = 5_000;

pub const MAX_NAME: usize = 200;
pub const MAX_DISPLAY_NAME: usize = 100;
pub const MAX_TAGLINE: usize = 140;

pub async fn create(
    svc: &Services,
    name: &str,
    slug: &str,
    revenue_share_bps: Option<u32>,
    actor: &str,
) -> Result<OrgRecord, ServiceError> {
    let mut issues = Vec::new();
    let name = fields::required_text("name", name, MAX_NAME, &mut issues);
    fields::slug("slug", slug, &mut issues);
    let bps = revenue_share_bps.unwrap_or(svc.settings.default_revenue_share_bps);
    if bps > kash_core::revenue::MAX_BPS {
        issues.push(Issue::new("revenueShareBps", "must be between 0 and 10000"));
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
            name: &name,
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
        json!({ "organizationId": id, "slug": slug }),
    )
    .await?;
    let org = orgs::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("organization vanished after insert".into()))?;
    tx.commit().await?;
    Ok(org)
}

/// An organization by id or by slug (the public namespace accepts both).
pub async fn find(svc: &Services, id_or_slug: &str) -> Result<Option<OrgRecord>, ServiceError> {
    let db = svc.db.reader();
    Ok(match parse_uuid(id_or_slug) {
        Some(id) => orgs::get(db, &id_text(&id)).await?,
        None if fields::is_slug(id_or_slug) => orgs::find_by_slug(db, id_or_slug).await?,
        None => None,
    })
}

fn unknown(org: &str) -> ServiceError {
    Problem::not_found(format!("organization {org} does not exist")).into()
}

/// Changes to an organization's profile; `None` leaves a field as it is, `Some("")` clears
/// an optional one.
#[derive(Debug, Clone, Default)]
pub struct OrgUpdate {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub tagline: Option<String>,
    pub color_primary: Option<String>,
    pub contact_email: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    /// Comma list of origins; empty clears.
    pub frame_ancestors: Option<String>,
}

pub async fn update(
    svc: &Services,
    org_id: &str,
    change: &OrgUpdate,
    actor: &str,
) -> Result<OrgRecord, ServiceError> {
    let mut tx = svc.db.begin().await?;
    let current = orgs::lock(&mut *tx, org_id, svc.db.for_update())
        .await?
        .ok_or_else(|| unknown(org_id))?;
    let mut issues = Vec::new();
    let keep = |new: &Option<String>, old: &Option<String>| match new {
        Some(v) => Some(v.clone()),
        None => old.clone(),
    };
    let name = match &change.name {
        Some(n) => fields::required_text("name", n, MAX_NAME, &mut issues),
        None => current.name.clone(),
    };
    let display_name = fields::optional_text(
        "displayName",
        keep(&change.display_name, &current.display_name).as_deref(),
        MAX_DISPLAY_NAME,
        &mut issues,
    );
    let tagline = fields::optional_text(
        "tagline",
        keep(&change.tagline, &current.tagline).as_deref(),
        MAX_TAGLINE,
        &mut issues,
    );
    let color_primary = fields::color(
        "colorPrimary",
        keep(&change.color_primary, &current.color_primary).as_deref(),
        &mut issues,
    );
    let contact_email = fields::email(
        "contactEmail",
        keep(&change.contact_email, &current.contact_email).as_deref(),
        &mut issues,
    );
    let status = change.status.clone().unwrap_or(current.status.clone());
    if !matches!(status.as_str(), "active" | "suspended") {
        issues.push(Issue::new("status", "must be active or suspended"));
    }
    let frame_ancestors = match &change.frame_ancestors {
        Some(list) => fields::frame_ancestors("frameAncestors", Some(list), &mut issues),
        None => current.frame_ancestors.clone(),
    };
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let now = svc.now_ms();
    let profile = OrgProfile {
        name,
        display_name,
        tagline,
        color_primary,
        contact_email,
        status: status.clone(),
        frame_ancestors,
    };
    orgs::update_profile(&mut *tx, org_id, &profile, now).await?;
    let kind = match (current.status.as_str(), status.as_str()) {
        ("active", "suspended") => "org_suspended",
        ("suspended", "active") => "org_reactivated",
        _ => "org_updated",
    };
    audit::lifecycle(
        &mut *tx,
        now,
        kind,
        actor,
        None,
        json!({ "organizationId": org_id, "changed": changed_fields(change) }),
    )
    .await?;
    let org = orgs::get(&mut *tx, org_id)
        .await?
        .ok_or_else(|| unknown(org_id))?;
    tx.commit().await?;
    Ok(org)
}

fn changed_fields(c: &OrgUpdate) -> Vec<&'static str> {
    [
        ("name", c.name.is_some()),
        ("displayName", c.display_name.is_some()),
        ("tagline", c.tagline.is_some()),
        ("colorPrimary", c.color_primary.is_some()),
        ("contactEmail", c.contact_email.is_some()),
        ("status", c.status.is_some()),
        ("frameAncestors", c.frame_ancestors.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// What `set-revenue-share` does to the brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BracketsChange {
    Keep,
    Clear,
    /// The operator's list, e.g. `0:3000,100000:4000`.
    Set(String),
}

/// Stores the flat rate and (optionally) volume brackets. Applying them to trades is the
/// trade path's business; here they are validated and kept.
pub async fn set_revenue_share(
    svc: &Services,
    org_id: &str,
    bps: u32,
    brackets: &BracketsChange,
    actor: &str,
) -> Result<OrgRecord, ServiceError> {
    let mut issues = Vec::new();
    if bps > kash_core::revenue::MAX_BPS {
        issues.push(Issue::new("bps", "must be between 0 and 10000"));
    }
    let parsed = match brackets {
        BracketsChange::Set(text) => match Brackets::parse(text) {
            Ok(b) => Some(b),
            Err(e) => {
                issues.push(Issue::new("brackets", e));
                None
            }
        },
        _ => None,
    };
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let mut tx = svc.db.begin().await?;
    let current = orgs::lock(&mut *tx, org_id, svc.db.for_update())
        .await?
        .ok_or_else(|| unknown(org_id))?;
    let stored = match brackets {
        BracketsChange::Keep => current.revenue_brackets.clone(),
        BracketsChange::Clear => None,
        BracketsChange::Set(_) => parsed.map(|b| b.to_json()),
    };
    let now = svc.now_ms();
    orgs::set_revenue_share(&mut *tx, org_id, i64::from(bps), stored.as_deref(), now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "org_revenue_share_set",
        actor,
        None,
        json!({
            "organizationId": org_id,
            "revenueShareBps": bps,
            "previousBps": current.revenue_share_bps,
            "brackets": stored,
        }),
    )
    .await?;
    let org = orgs::get(&mut *tx, org_id)
        .await?
        .ok_or_else(|| unknown(org_id))?;
    tx.commit().await?;
    Ok(org)
}

fn role_arg(role: &str) -> Result<OrgRole, ServiceError> {
    role.parse::<OrgRole>()
        .map_err(|_| Problem::invalid("role", "must be owner, admin or member").into())
}

fn last_owner(org_id: &str) -> ServiceError {
    Problem::new(
        ErrorCode::LastOwnerRequired,
        format!(
            "organization {org_id} must keep at least one owner; make someone else an owner first"
        ),
    )
    .into()
}

/// The organization (locked) and its members, or not found.
async fn members_locked(
    svc: &Services,
    tx: &mut Tx,
    org_id: &str,
) -> Result<Vec<MembershipRecord>, ServiceError> {
    if orgs::lock(&mut **tx, org_id, svc.db.for_update())
        .await?
        .is_none()
    {
        return Err(unknown(org_id));
    }
    Ok(orgs::members(&mut **tx, org_id).await?)
}

/// Whether `user_id` is the only owner among `members`.
fn is_sole_owner(members: &[MembershipRecord], user_id: &str) -> bool {
    let owners: Vec<&str> = members
        .iter()
        .filter(|m| m.role == OrgRole::Owner.as_str())
        .map(|m| m.user_id.as_str())
        .collect();
    owners == [user_id]
}

/// Adds a member, or changes an existing member's role (the operator's `add-member`).
pub async fn add_member(
    svc: &Services,
    org_id: &str,
    user_id: &str,
    role: &str,
    actor: &str,
) -> Result<MembershipRecord, ServiceError> {
    let role = role_arg(role)?;
    let mut tx = svc.db.begin().await?;
    let members = members_locked(svc, &mut tx, org_id).await?;
    if users::get(&mut *tx, user_id).await?.is_none() {
        return Err(Problem::not_found(format!("user {user_id} does not exist")).into());
    }
    let previous = members.iter().find(|m| m.user_id == user_id);
    if role != OrgRole::Owner && is_sole_owner(&members, user_id) {
        return Err(last_owner(org_id));
    }
    let now = svc.now_ms();
    let member = MembershipRecord {
        org_id: org_id.to_string(),
        user_id: user_id.to_string(),
        role: role.as_str().to_string(),
        created_at: previous.map_or(now, |p| p.created_at),
    };
    orgs::upsert_member(&mut *tx, &member).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        if previous.is_some() {
            "membership_role_changed"
        } else {
            "membership_added"
        },
        actor,
        None,
        json!({
            "organizationId": org_id,
            "userId": user_id,
            "role": role.as_str(),
            "previousRole": previous.map(|p| p.role.clone()),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(member)
}

/// Changes the role of an existing member.
pub async fn set_role(
    svc: &Services,
    org_id: &str,
    user_id: &str,
    role: &str,
    actor: &str,
) -> Result<MembershipRecord, ServiceError> {
    let role = role_arg(role)?;
    let mut tx = svc.db.begin().await?;
    let members = members_locked(svc, &mut tx, org_id).await?;
    let Some(previous) = members.iter().find(|m| m.user_id == user_id) else {
        return Err(Problem::not_found(format!(
            "user {user_id} is not a member of organization {org_id}"
        ))
        .into());
    };
    if role != OrgRole::Owner && is_sole_owner(&members, user_id) {
        return Err(last_owner(org_id));
    }
    let member = MembershipRecord {
        role: role.as_str().to_string(),
        ..previous.clone()
    };
    let now = svc.now_ms();
    orgs::upsert_member(&mut *tx, &member).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "membership_role_changed",
        actor,
        None,
        json!({
            "organizationId": org_id,
            "userId": user_id,
            "role": role.as_str(),
            "previousRole": previous.role,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(member)
}

pub async fn remove_member(
    svc: &Services,
    org_id: &str,
    user_id: &str,
    actor: &str,
) -> Result<MembershipRecord, ServiceError> {
    let mut tx = svc.db.begin().await?;
    let members = members_locked(svc, &mut tx, org_id).await?;
    let Some(previous) = members.iter().find(|m| m.user_id == user_id).cloned() else {
        return Err(Problem::not_found(format!(
            "user {user_id} is not a member of organization {org_id}"
        ))
        .into());
    };
    if is_sole_owner(&members, user_id) {
        return Err(last_owner(org_id));
    }
    orgs::remove_member(&mut *tx, org_id, user_id).await?;
    let now = svc.now_ms();
    audit::lifecycle(
        &mut *tx,
        now,
        "membership_removed",
        actor,
        None,
        json!({ "organizationId": org_id, "userId": user_id, "previousRole": previous.role }),
    )
    .await?;
    tx.commit().await?;
    Ok(previous)
}

pub async fn members(svc: &Services, org_id: &str) -> Result<Vec<MembershipRecord>, ServiceError> {
    if orgs::get(svc.db.reader(), org_id).await?.is_none() {
        return Err(unknown(org_id));
    }
    Ok(orgs::members(svc.db.reader(), org_id).await?)
}
