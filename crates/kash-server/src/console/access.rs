//! Whose keys a signed-in user may manage (`organizations-embeds-portal.md` §1): their own, and
//! those of every organization where they are an owner or admin. A plain member is told no
//! (403); someone outside the organization is told it does not exist (404), as `/v1` does for
//! resources owned by someone else.

use kash_core::org_roles::{self, OrgPermission, OrgRole};
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_core::{ErrorCode, Problem};
use kash_store::keys::ApiKeyRecord;
use kash_store::orgs;
use kash_store::users::UserRecord;

use crate::http::problem::ApiError;
use crate::state::AppState;

/// One owner of keys, as the console offers it.
#[derive(Debug, Clone)]
pub struct ManagedOwner {
    pub owner: Owner,
    /// "Personal" or the organization's name.
    pub label: String,
    /// The user's role in the organization (`None` for personal keys).
    pub role: Option<String>,
    /// The self-serve tier the console issues this owner's keys at.
    pub tier: Tier,
}

impl ManagedOwner {
    pub fn org_id(&self) -> Option<&str> {
        match &self.owner {
            Owner::Org(id) => Some(id),
            Owner::User(_) => None,
        }
    }
}

fn personal(user: &UserRecord) -> ManagedOwner {
    ManagedOwner {
        owner: Owner::User(user.id.clone()),
        label: "Personal".into(),
        role: None,
        tier: user.tier.parse().unwrap_or(Tier::Free),
    }
}

/// Issuing, editing and revoking an organization's keys is a row of the permission table.
fn may_manage(role: &str) -> bool {
    role.parse::<OrgRole>()
        .is_ok_and(|r| org_roles::allows(r, OrgPermission::ManageKeysAndBranding))
}

fn role_refusal(org: &str) -> ApiError {
    Problem::new(
        ErrorCode::RoleNotPermitted,
        format!("only owners and admins of {org} may manage its API keys"),
    )
    .into()
}

fn unknown_org() -> ApiError {
    Problem::not_found("no such organization").into()
}

/// Every owner whose keys the user may manage: personal first, then organizations by name.
pub async fn manageable(
    state: &AppState,
    user: &UserRecord,
) -> Result<Vec<ManagedOwner>, ApiError> {
    let db = state.svc.db.reader();
    let mut out = vec![personal(user)];
    for m in orgs::memberships_of_user(db, &user.id).await? {
        if !may_manage(&m.role) {
            continue;
        }
        let tier = orgs::get(db, &m.org_id)
            .await?
            .and_then(|o| o.tier.parse().ok())
            .unwrap_or(Tier::Free);
        out.push(ManagedOwner {
            owner: Owner::Org(m.org_id),
            label: m.name,
            role: Some(m.role),
            tier,
        });
    }
    Ok(out)
}

/// The owner a request names: personal without `org`, else that organization if the user may
/// manage its keys.
pub async fn owner(
    state: &AppState,
    user: &UserRecord,
    org: Option<&str>,
) -> Result<ManagedOwner, ApiError> {
    let Some(org) = org.filter(|o| !o.is_empty()) else {
        return Ok(personal(user));
    };
    let Some(org_id) = kash_core::ids::parse_uuid(org).map(|u| kash_core::ids::id_text(&u)) else {
        return Err(unknown_org());
    };
    let db = state.svc.db.reader();
    let membership = orgs::memberships_of_user(db, &user.id)
        .await?
        .into_iter()
        .find(|m| m.org_id == org_id);
    let Some(m) = membership else {
        return Err(unknown_org());
    };
    if !may_manage(&m.role) {
        return Err(role_refusal(&m.name));
    }
    let tier = orgs::get(db, &org_id)
        .await?
        .and_then(|o| o.tier.parse().ok())
        .unwrap_or(Tier::Free);
    Ok(ManagedOwner {
        owner: Owner::Org(org_id),
        label: m.name,
        role: Some(m.role),
        tier,
    })
}

/// A key the user may manage, with its owner; someone else's key is unknown (404).
pub async fn key(
    state: &AppState,
    user: &UserRecord,
    id: &str,
) -> Result<(ApiKeyRecord, ManagedOwner), ApiError> {
    let record = kash_service::keys::get(&state.svc, id).await?;
    let owner = match &record.owner {
        Owner::User(owner) if *owner == user.id => personal(user),
        Owner::User(_) => {
            return Err(Problem::not_found(format!("API key {id} does not exist")).into())
        }
        Owner::Org(org) => owner(state, user, Some(org)).await.map_err(|e| {
            if e.problem.code == ErrorCode::ResourceNotFound {
                Problem::not_found(format!("API key {id} does not exist")).into()
            } else {
                e
            }
        })?,
    };
    Ok((record, owner))
}
