//! The public faces of organizations and partners: `GET /api/organizations/{id}` (id or slug),
//! its partners and threads, `GET /api/partners/{id}` and its threads. A suspended
//! organization and everything under it answer 404; nothing here reveals credentials,
//! balances or billing.

use axum::extract::{Path, State};
use axum::Json;
use kash_core::ids::{id_text, parse_uuid};
use kash_store::orgs::OrgRecord;
use kash_store::partners::{self, PartnerRecord};
use serde_json::{json, Value};

use super::public_threads::scoped_list;
use crate::http::query::QueryParams;
use crate::public_api::error::PublicResult;
use crate::public_api::params::{self, Pagination};
use crate::public_api::PublicError;
use crate::state::AppState;

/// An active organization by id or slug.
pub async fn visible_org(state: &AppState, id_or_slug: &str) -> PublicResult<Option<OrgRecord>> {
    Ok(kash_service::orgs::find(&state.svc, id_or_slug)
        .await?
        .filter(OrgRecord::is_active))
}

async fn org_or_404(state: &AppState, id: &str) -> PublicResult<OrgRecord> {
    visible_org(state, id)
        .await?
        .ok_or_else(|| PublicError::not_found("no such organization"))
}

/// A partner whose organization is active.
async fn partner_or_404(state: &AppState, id: &str) -> PublicResult<PartnerRecord> {
    let not_found = || PublicError::not_found("no such partner");
    let id = parse_uuid(id).ok_or_else(not_found)?;
    let partner = partners::get(state.svc.db.reader(), &id_text(&id))
        .await?
        .ok_or_else(not_found)?;
    visible_org(state, &partner.org_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(partner)
}

fn org_view(o: &OrgRecord) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "slug": o.slug,
        "displayName": o.display_name,
        "tagline": o.tagline,
        "colorPrimary": o.color_primary,
        "logoUrl": o.logo_url,
        "status": o.status,
    })
}

fn partner_view(p: &PartnerRecord) -> Value {
    json!({
        "id": p.id,
        "organizationId": p.org_id,
        "name": p.name,
        "slug": p.slug,
        "description": p.description,
        "displayName": p.display_name,
        "tagline": p.tagline,
        "colorPrimary": p.color_primary,
        "logoUrl": p.logo_url,
        "websiteUrl": p.website_url,
        "status": p.status,
        "createdAt": params::iso_ms(p.created_at),
        "updatedAt": params::iso_ms(p.updated_at),
    })
}

/// An organization's public profile.
#[utoipa::path(get, path = "/api/organizations/{id}", tag = "public",
    params(("id" = String, Path, description = "Organization id or slug")),
    responses(
        (status = 200, description = "`{organization{id, name, slug, displayName, tagline, colorPrimary, logoUrl, status}, _meta{requestedAt}}`"),
        (status = 404, description = "NOT_FOUND (unknown or suspended)"),
    ))]
pub async fn organization(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> PublicResult<Json<Value>> {
    let org = org_or_404(&state, &id).await?;
    Ok(Json(json!({
        "organization": org_view(&org),
        "_meta": { "requestedAt": params::iso(state.svc.now()) },
    })))
}

/// An organization's partners, oldest first.
#[utoipa::path(get, path = "/api/organizations/{id}/partners", tag = "public",
    params(
        ("id" = String, Path, description = "Organization id or slug"),
        ("status" = Option<String>, Query, description = "active (default), inactive or all"),
        ("limit" = Option<i64>, Query, description = "1–100, default 50"),
        ("offset" = Option<i64>, Query, description = "≥ 0, default 0"),
    ),
    responses(
        (status = 200, description = "`{partners[], pagination, _meta{organizationId, requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "NOT_FOUND"),
    ))]
pub async fn organization_partners(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let status = match params::choice(&q, "status", &["active", "inactive", "all"], "active")? {
        "all" => None,
        s => Some(s),
    };
    let page = params::page(&q, 50, 100)?;
    let org = org_or_404(&state, &id).await?;
    let db = state.svc.db.reader();
    let total = partners::count_for_org(db, &org.id, status).await?;
    let rows = partners::list_for_org(db, &org.id, status, page.limit, page.offset).await?;
    Ok(Json(json!({
        "partners": rows.iter().map(partner_view).collect::<Vec<_>>(),
        "pagination": Pagination::new(page, total, rows.len()),
        "_meta": { "organizationId": org.id, "requestedAt": params::iso(state.svc.now()) },
    })))
}

/// An organization's threads.
#[utoipa::path(get, path = "/api/organizations/{id}/threads", tag = "public",
    params(
        ("id" = String, Path, description = "Organization id or slug"),
        ("status" = Option<String>, Query, description = "active (default), upcoming, closed or all"),
        ("limit" = Option<i64>, Query, description = "1–100, default 50"),
        ("offset" = Option<i64>, Query, description = "≥ 0, default 0"),
        ("sortBy" = Option<String>, Query, description = "created_at (default), start_time, total_volume"),
        ("sortOrder" = Option<String>, Query, description = "asc or desc (default)"),
    ),
    responses(
        (status = 200, description = "`{threads[], pagination, _meta{organizationId, requestedAt}}`; times ISO 8601, totalVolume a string of cents"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "NOT_FOUND"),
    ))]
pub async fn organization_threads(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    super::public_threads::validate_list_query(&q)?;
    let org = org_or_404(&state, &id).await?;
    let meta = json!({ "organizationId": org.id });
    scoped_list(&state, &q, Some(org.id), None, meta).await
}

/// One partner.
#[utoipa::path(get, path = "/api/partners/{id}", tag = "public",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, description = "`{partner, _meta{requestedAt}}`"),
        (status = 404, description = "NOT_FOUND"),
    ))]
pub async fn partner(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> PublicResult<Json<Value>> {
    let partner = partner_or_404(&state, &id).await?;
    Ok(Json(json!({
        "partner": partner_view(&partner),
        "_meta": { "requestedAt": params::iso(state.svc.now()) },
    })))
}

/// A partner's threads.
#[utoipa::path(get, path = "/api/partners/{id}/threads", tag = "public",
    params(
        ("id" = String, Path, description = "Partner id"),
        ("status" = Option<String>, Query, description = "active (default), upcoming, closed or all"),
        ("limit" = Option<i64>, Query, description = "1–100, default 50"),
        ("offset" = Option<i64>, Query, description = "≥ 0, default 0"),
        ("sortBy" = Option<String>, Query, description = "created_at (default), start_time, total_volume"),
        ("sortOrder" = Option<String>, Query, description = "asc or desc (default)"),
    ),
    responses(
        (status = 200, description = "`{threads[], pagination, _meta{partnerId, requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "NOT_FOUND"),
    ))]
pub async fn partner_threads(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    super::public_threads::validate_list_query(&q)?;
    let partner = partner_or_404(&state, &id).await?;
    let meta = json!({ "partnerId": partner.id });
    scoped_list(&state, &q, Some(partner.org_id), Some(partner.id), meta).await
}
