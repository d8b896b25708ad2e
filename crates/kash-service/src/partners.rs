//! Partners of an organization: creation, edits, activation, and their member users.

use kash_core::ids::{id_text, new_id};
use kash_core::{Issue, Problem};
use kash_store::partners::{self, PartnerRecord};
use kash_store::{orgs, users, StoreError};
use serde_json::json;

use crate::{audit, fields, ServiceError, Services};

/// A partner's fields; on update `None` keeps a field and `Some("")` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct PartnerFields {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub display_name: Option<String>,
    pub tagline: Option<String>,
    pub color_primary: Option<String>,
    pub logo_url: Option<String>,
    pub website_url: Option<String>,
    /// `active` or `inactive`.
    pub status: Option<String>,
}

/// Applies `f` over `base`, validating every field.
fn merged(base: &PartnerRecord, f: &PartnerFields) -> Result<PartnerRecord, ServiceError> {
    let mut issues = Vec::new();
    let pick = |new: &Option<String>, old: &Option<String>| match new {
        Some(v) => Some(v.clone()),
        None => old.clone(),
    };
    let name = fields::required_text(
        "name",
        f.name.as_deref().unwrap_or(&base.name),
        crate::orgs::MAX_NAME,
        &mut issues,
    );
    let slug = fields::slug("slug", f.slug.as_deref().unwrap_or(&base.slug), &mut issues);
    let status = f.status.clone().unwrap_or(base.status.clone());
    if !matches!(status.as_str(), "active" | "inactive") {
        issues.push(Issue::new("status", "must be active or inactive"));
    }
    let record = PartnerRecord {
        name,
        slug,
        description: fields::optional_text(
            "description",
            pick(&f.description, &base.description).as_deref(),
            2_000,
            &mut issues,
        ),
        display_name: fields::optional_text(
            "displayName",
            pick(&f.display_name, &base.display_name).as_deref(),
            crate::orgs::MAX_DISPLAY_NAME,
            &mut issues,
        ),
        tagline: fields::optional_text(
            "tagline",
            pick(&f.tagline, &base.tagline).as_deref(),
            crate::orgs::MAX_TAGLINE,
            &mut issues,
        ),
        color_primary: fields::color(
            "colorPrimary",
            pick(&f.color_primary, &base.color_primary).as_deref(),
            &mut issues,
        ),
        logo_url: fields::https_url(
            "logoUrl",
            pick(&f.logo_url, &base.logo_url).as_deref(),
            &mut issues,
        ),
        website_url: fields::https_url(
            "websiteUrl",
            pick(&f.website_url, &base.website_url).as_deref(),
            &mut issues,
        ),
        status,
        ..base.clone()
    };
    if issues.is_empty() {
        Ok(record)
    } else {
        Err(Problem::validation(issues).into())
    }
}

fn slug_taken(err: StoreError, slug: &str) -> ServiceError {
    match err {
        StoreError::Unique(c) if c == "partners_org_id_slug_key" => Problem::invalid(
            "slug",
            format!("`{slug}` is already a partner of this organization"),
        )
        .into(),
        other => other.into(),
    }
}

pub async fn create(
    svc: &Services,
    org_id: &str,
    f: &PartnerFields,
    actor: &str,
) -> Result<PartnerRecord, ServiceError> {
    let now = svc.now_ms();
    let base = PartnerRecord {
        id: id_text(&new_id()),
        org_id: org_id.to_string(),
        name: String::new(),
        slug: String::new(),
        description: None,
        display_name: None,
        tagline: None,
        color_primary: None,
        logo_url: None,
        website_url: None,
        status: "active".into(),
        created_at: now,
        updated_at: now,
    };
    let record = merged(&base, f)?;
    let mut tx = svc.db.begin().await?;
    if orgs::get(&mut *tx, org_id).await?.is_none() {
        return Err(Problem::not_found(format!("organization {org_id} does not exist")).into());
    }
    partners::insert(&mut *tx, &record)
        .await
        .map_err(|e| slug_taken(e, &record.slug))?;
    audit::lifecycle(
        &mut *tx,
        now,
        "partner_created",
        actor,
        None,
        json!({ "organizationId": org_id, "partnerId": record.id, "slug": record.slug }),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

fn unknown(id: &str) -> ServiceError {
    Problem::not_found(format!("partner {id} does not exist")).into()
}

pub async fn update(
    svc: &Services,
    partner_id: &str,
    f: &PartnerFields,
    actor: &str,
) -> Result<PartnerRecord, ServiceError> {
    let mut tx = svc.db.begin().await?;
    let current = partners::get(&mut *tx, partner_id)
        .await?
        .ok_or_else(|| unknown(partner_id))?;
    let mut record = merged(&current, f)?;
    record.updated_at = svc.now_ms();
    partners::update(&mut *tx, &record)
        .await
        .map_err(|e| slug_taken(e, &record.slug))?;
    audit::lifecycle(
        &mut *tx,
        record.updated_at,
        "partner_updated",
        actor,
        None,
        json!({
            "organizationId": record.org_id,
            "partnerId": record.id,
            "status": record.status,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

pub async fn get(svc: &Services, partner_id: &str) -> Result<PartnerRecord, ServiceError> {
    partners::get(svc.db.reader(), partner_id)
        .await?
        .ok_or_else(|| unknown(partner_id))
}

/// Every partner of an organization, oldest first.
pub async fn list(svc: &Services, org_id: &str) -> Result<Vec<PartnerRecord>, ServiceError> {
    if orgs::get(svc.db.reader(), org_id).await?.is_none() {
        return Err(Problem::not_found(format!("organization {org_id} does not exist")).into());
    }
    Ok(partners::list_for_org(svc.db.reader(), org_id, None, i64::MAX, 0).await?)
}

/// Makes a user a member of a partner (idempotent).
pub async fn add_member(
    svc: &Services,
    partner_id: &str,
    user_id: &str,
    actor: &str,
) -> Result<(), ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let partner = partners::get(&mut *tx, partner_id)
        .await?
        .ok_or_else(|| unknown(partner_id))?;
    if users::get(&mut *tx, user_id).await?.is_none() {
        return Err(Problem::not_found(format!("user {user_id} does not exist")).into());
    }
    partners::add_member(&mut *tx, partner_id, user_id, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "partner_member_added",
        actor,
        None,
        json!({ "organizationId": partner.org_id, "partnerId": partner_id, "userId": user_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_member(
    svc: &Services,
    partner_id: &str,
    user_id: &str,
    actor: &str,
) -> Result<(), ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let partner = partners::get(&mut *tx, partner_id)
        .await?
        .ok_or_else(|| unknown(partner_id))?;
    if !partners::remove_member(&mut *tx, partner_id, user_id).await? {
        return Err(Problem::not_found(format!(
            "user {user_id} is not a member of partner {partner_id}"
        ))
        .into());
    }
    audit::lifecycle(
        &mut *tx,
        now,
        "partner_member_removed",
        actor,
        None,
        json!({ "organizationId": partner.org_id, "partnerId": partner_id, "userId": user_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
