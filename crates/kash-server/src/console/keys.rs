//! Settings → API Keys: list, create (plaintext shown once), edit, revoke. Every operation goes
//! through `kash_service::keys`, so the console applies exactly the validation, 5-key cap and
//! audit of `kash-admin` (plus the 1-hour webhook-URL cooldown the operator is exempt from).
//!
//! After a successful post the browser is redirected (post/redirect/get). A just-issued key
//! travels to the next page as the session's one-time flash, sealed at rest and cleared when
//! shown, so reloading that page never shows the key again and never re-submits the form.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, NaiveDateTime, Utc};
use kash_core::scope::ScopeSet;
use kash_core::{ErrorCode, Issue, Problem};
use kash_service::keys::{IssueRequest, KeyUpdate, KeyView, LimitOverrides};
use kash_service::{console, ServiceError};
use serde::{Deserialize, Serialize};

use super::access::{self, ManagedOwner};
use super::keys_views::{
    self, created_page, edit_page, list_page, new_page, org_query, EditForm, KeyRow, NewKeyForm,
    Revealed,
};
use super::session::SignedIn;
use super::views::page;
use super::{field, fields_named, form_fields, internal_page, redirect, require, session};
use crate::http::body::RawBody;
use crate::http::problem::ApiError;
use crate::routes::account::usage_of;
use crate::state::AppState;

/// The one-time message between a post and the page after it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Flash {
    /// A key was issued: its plaintext (and webhook secret), shown once.
    #[serde(rename_all = "camelCase")]
    Issued {
        id: String,
        name: String,
        key: String,
        webhook_secret: Option<String>,
    },
    /// An edit created a webhook secret, shown once.
    #[serde(rename_all = "camelCase")]
    Secret {
        id: String,
        name: String,
        webhook_secret: String,
    },
    Notice {
        text: String,
    },
}

async fn leave(state: &AppState, me: &SignedIn, flash: &Flash) -> Result<(), ApiError> {
    let text = serde_json::to_string(flash).map_err(ApiError::internal)?;
    console::set_flash(&state.svc, &me.session, &text).await?;
    Ok(())
}

async fn take(state: &AppState, me: &SignedIn) -> Result<Option<Flash>, ApiError> {
    Ok(console::take_flash(&state.svc, &me.session)
        .await?
        .and_then(|text| serde_json::from_str(&text).ok()))
}

/// Scopes from their names; an unknown name is an issue at `path`.
pub fn parse_scopes(names: &[&str], path: &str, issues: &mut Vec<Issue>) -> ScopeSet {
    match ScopeSet::parse_list(&names.join(",")) {
        Ok(set) => set,
        Err(e) => {
            issues.push(Issue::new(path, e.to_string()));
            ScopeSet::default()
        }
    }
}

/// An expiry from RFC 3339, or from a `datetime-local` field read as UTC.
pub fn parse_expiry(text: &str, issues: &mut Vec<Issue>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = kash_core::time::parse_rfc3339(text).or_else(|| {
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(|n| n.and_utc())
    });
    if parsed.is_none() {
        issues.push(Issue::new(
            "expiresAt",
            "must be a date and time (RFC 3339, e.g. 2027-01-31T12:00:00Z)",
        ));
    }
    parsed
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    org: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let me = match require(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match list_inner(&state, &me, q.org.as_deref()).await {
        Ok(r) => r,
        Err(e) => internal_page(e, Some(&me)),
    }
}

async fn list_inner(
    state: &AppState,
    me: &SignedIn,
    org: Option<&str>,
) -> Result<Response, ApiError> {
    let owners = access::manageable(state, &me.user).await?;
    let current = access::owner(state, &me.user, org).await?;
    let now = state.svc.now();
    let tiers = state.svc.settings.tier_rate_limits();
    let records = kash_store::keys::list(state.svc.db.reader(), Some(&current.owner)).await?;
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let view = KeyView::new(&record, now.timestamp_millis(), tiers);
        let usage = if view.status == "active" {
            Some(usage_of(state, &record.id, now).await?)
        } else {
            None
        };
        rows.push(KeyRow {
            record,
            view,
            usage,
        });
    }
    let cap = owner_cap(state, &current).await?;
    let notice = match take(state, me).await? {
        Some(Flash::Notice { text }) => Some(text),
        _ => None,
    };
    Ok(page(
        StatusCode::OK,
        list_page(me, &owners, &current, &rows, cap, notice.as_deref()),
    ))
}

async fn owner_cap(state: &AppState, owner: &ManagedOwner) -> Result<i64, ApiError> {
    let db = state.svc.db.reader();
    Ok(match &owner.owner {
        kash_core::owner::Owner::User(id) => kash_store::users::get(db, id)
            .await?
            .map(|u| u.max_active_keys),
        kash_core::owner::Owner::Org(id) => kash_store::orgs::get(db, id)
            .await?
            .map(|o| o.max_active_keys),
    }
    .unwrap_or(5))
}

pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let me = match require(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match access::owner(&state, &me.user, q.org.as_deref()).await {
        Ok(current) => page(
            StatusCode::OK,
            new_page(&me, &current, &NewKeyForm::defaults(&current), None),
        ),
        Err(e) => internal_page(e, Some(&me)),
    }
}

/// Signed in and both CSRF checks passed, or the page that says why not.
async fn authorise_post(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    fields: &[(String, String)],
) -> Result<SignedIn, Response> {
    let me = require(state, headers, uri).await?;
    session::check_csrf(state, headers, &me, field(fields, session::CSRF_FIELD))
        .map_err(|refusal| super::csrf_page(refusal, Some(&me)))?;
    Ok(me)
}

fn status_of(problem: &Problem) -> StatusCode {
    StatusCode::from_u16(problem.code.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

fn with_retry_after(mut response: Response, problem: &Problem) -> Response {
    if let Some(secs) = problem.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Extension(raw): Extension<RawBody>,
) -> Response {
    let fields = form_fields(&raw);
    let me = match authorise_post(&state, &headers, &uri, &fields).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let current = match access::owner(&state, &me.user, field(&fields, "organizationId")).await {
        Ok(c) => c,
        Err(e) => return internal_page(e, Some(&me)),
    };
    let form = NewKeyForm {
        name: field(&fields, "name").unwrap_or_default().to_string(),
        scopes: fields_named(&fields, "scopes")
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ip_allowlist: field(&fields, "ipAllowlist")
            .unwrap_or_default()
            .to_string(),
        webhook_url: field(&fields, "webhookUrl")
            .unwrap_or_default()
            .trim()
            .to_string(),
        expires_at: field(&fields, "expiresAt").unwrap_or_default().to_string(),
    };
    let mut issues = Vec::new();
    let scope_names: Vec<&str> = form.scopes.iter().map(String::as_str).collect();
    let scopes = parse_scopes(&scope_names, "scopes", &mut issues);
    let expires_at = parse_expiry(&form.expires_at, &mut issues);
    let outcome = if issues.is_empty() {
        kash_service::keys::issue(
            &state.svc,
            IssueRequest {
                owner: current.owner.clone(),
                tier: current.tier,
                scopes: Some(scopes),
                name: Some(form.name.clone()),
                ip_allowlist: Some(form.ip_allowlist.clone()).filter(|s| !s.trim().is_empty()),
                webhook_url: Some(form.webhook_url.clone()).filter(|s| !s.is_empty()),
                expires_at,
                limits: LimitOverrides::default(),
            },
            &me.actor(),
        )
        .await
    } else {
        Err(Problem::validation(issues).into())
    };
    match outcome {
        Ok(issued) => {
            let flash = Flash::Issued {
                id: issued.id.clone(),
                name: issued.record.name.clone(),
                key: issued.key,
                webhook_secret: issued.webhook_secret,
            };
            match leave(&state, &me, &flash).await {
                Ok(()) => redirect(&format!(
                    "/settings/api-keys/created{}",
                    org_query(&current)
                )),
                Err(e) => internal_page(e, Some(&me)),
            }
        }
        Err(ServiceError::Problem(p)) => {
            let response = page(status_of(&p), new_page(&me, &current, &form, Some(&p)));
            with_retry_after(response, &p)
        }
        Err(e) => internal_page(e.into(), Some(&me)),
    }
}

pub async fn created(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let me = match require(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let back = match q.org.as_deref() {
        Some(org) if kash_core::ids::parse_uuid(org).is_some() => {
            format!("/settings/api-keys?org={org}")
        }
        _ => "/settings/api-keys".to_string(),
    };
    let flash = match take(&state, &me).await {
        Ok(f) => f,
        Err(e) => return internal_page(e, Some(&me)),
    };
    let markup = match &flash {
        Some(Flash::Issued {
            id,
            name,
            key,
            webhook_secret,
        }) => created_page(
            &me,
            &back,
            Some(Revealed {
                key_id: id,
                name,
                key: Some(key),
                webhook_secret: webhook_secret.as_deref(),
            }),
        ),
        Some(Flash::Secret {
            id,
            name,
            webhook_secret,
        }) => created_page(
            &me,
            &back,
            Some(Revealed {
                key_id: id,
                name,
                key: None,
                webhook_secret: Some(webhook_secret),
            }),
        ),
        Some(Flash::Notice { .. }) | None => created_page(&me, &back, None),
    };
    page(StatusCode::OK, markup)
}

/// A key's own address leads to its edit page (an id that is not a UUID, to the list).
pub async fn show(Path(id): Path<String>) -> Response {
    match kash_core::ids::parse_uuid(&id) {
        Some(id) => redirect(&format!(
            "/settings/api-keys/{}/edit",
            kash_core::ids::id_text(&id)
        )),
        None => redirect("/settings/api-keys"),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let me = match require(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (record, current) = match editable(&state, &me, &id).await {
        Ok(found) => found,
        Err(e) => return internal_page(e, Some(&me)),
    };
    let usage = match usage_of(&state, &record.id, state.svc.now()).await {
        Ok(u) => u,
        Err(e) => return internal_page(e, Some(&me)),
    };
    let form = EditForm {
        name: record.name.clone(),
        ip_allowlist: record.ip_allowlist.clone().unwrap_or_default(),
        webhook_url: record.webhook_url.clone().unwrap_or_default(),
    };
    page(
        StatusCode::OK,
        edit_page(&me, &current, &record, &form, Some(&usage), None, None),
    )
}

/// A key the user may manage and that can still be edited (a revoked key cannot).
async fn editable(
    state: &AppState,
    me: &SignedIn,
    id: &str,
) -> Result<(kash_store::keys::ApiKeyRecord, ManagedOwner), ApiError> {
    let (record, current) = access::key(state, &me.user, id).await?;
    if record.revoked_at.is_some() {
        return Err(Problem::new(
            ErrorCode::ValidationFailed,
            "this key is revoked; a revoked key cannot be edited",
        )
        .into());
    }
    Ok((record, current))
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Extension(raw): Extension<RawBody>,
) -> Response {
    let fields = form_fields(&raw);
    let me = match authorise_post(&state, &headers, &uri, &fields).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (record, current) = match editable(&state, &me, &id).await {
        Ok(found) => found,
        Err(e) => return internal_page(e, Some(&me)),
    };
    let form = EditForm {
        name: field(&fields, "name").unwrap_or_default().to_string(),
        ip_allowlist: field(&fields, "ipAllowlist")
            .unwrap_or_default()
            .to_string(),
        webhook_url: field(&fields, "webhookUrl")
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    let change = KeyUpdate {
        name: Some(form.name.clone()),
        ip_allowlist: Some(form.ip_allowlist.clone()),
        webhook_url: Some(form.webhook_url.clone()),
        limits: LimitOverrides::default(),
    };
    match kash_service::keys::update(&state.svc, &record.id, change, &me.actor(), true).await {
        Ok(updated) => {
            let (flash, to) = match updated.webhook_secret {
                Some(secret) => (
                    Flash::Secret {
                        id: updated.id.clone(),
                        name: updated.name.clone(),
                        webhook_secret: secret,
                    },
                    format!("/settings/api-keys/created{}", org_query(&current)),
                ),
                None => (
                    Flash::Notice {
                        text: format!("Saved “{}”.", updated.name),
                    },
                    format!("/settings/api-keys{}", org_query(&current)),
                ),
            };
            match leave(&state, &me, &flash).await {
                Ok(()) => redirect(&to),
                Err(e) => internal_page(e, Some(&me)),
            }
        }
        Err(ServiceError::Problem(p)) => {
            let usage = usage_of(&state, &record.id, state.svc.now()).await.ok();
            let response = page(
                status_of(&p),
                edit_page(
                    &me,
                    &current,
                    &record,
                    &form,
                    usage.as_ref(),
                    Some(&p),
                    None,
                ),
            );
            with_retry_after(response, &p)
        }
        Err(e) => internal_page(e.into(), Some(&me)),
    }
}

/// "Send test": one signed `webhook.ping` to the key's saved URL (`webhooks.md`), answered with
/// the edit page showing what the receiver said. The URL passes the same SSRF guard as
/// deliveries; nothing is stored.
pub async fn test_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Extension(raw): Extension<RawBody>,
) -> Response {
    let fields = form_fields(&raw);
    let me = match authorise_post(&state, &headers, &uri, &fields).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (record, current) = match editable(&state, &me, &id).await {
        Ok(found) => found,
        Err(e) => return internal_page(e, Some(&me)),
    };
    let settings = &state.svc.settings;
    let outcome = match kash_service::webhooks::sender::Sender::new(
        std::time::Duration::from_millis(settings.webhook_timeout_ms),
        settings.webhook_allow_private,
    ) {
        Ok(sender) => match kash_service::webhooks::ping(&state.svc, &sender, &record.id).await {
            Ok(result) => Ok(result),
            Err(ServiceError::Problem(p)) => Err(p),
            Err(e) => return internal_page(e.into(), Some(&me)),
        },
        Err(e) => return internal_page(ApiError::internal(e), Some(&me)),
    };
    let usage = usage_of(&state, &record.id, state.svc.now()).await.ok();
    let form = EditForm {
        name: record.name.clone(),
        ip_allowlist: record.ip_allowlist.clone().unwrap_or_default(),
        webhook_url: record.webhook_url.clone().unwrap_or_default(),
    };
    page(
        StatusCode::OK,
        edit_page(
            &me,
            &current,
            &record,
            &form,
            usage.as_ref(),
            None,
            Some(&outcome),
        ),
    )
}

pub async fn revoke_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let me = match require(&state, &headers, &uri).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match editable(&state, &me, &id).await {
        Ok((record, current)) => page(
            StatusCode::OK,
            keys_views::revoke_page(&me, &current, &record),
        ),
        Err(e) => internal_page(e, Some(&me)),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Extension(raw): Extension<RawBody>,
) -> Response {
    let fields = form_fields(&raw);
    let me = match authorise_post(&state, &headers, &uri, &fields).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (record, current) = match access::key(&state, &me.user, &id).await {
        Ok(found) => found,
        Err(e) => return internal_page(e, Some(&me)),
    };
    if let Err(e) = kash_service::keys::revoke(&state.svc, &record.id, &me.actor()).await {
        return internal_page(e.into(), Some(&me));
    }
    let flash = Flash::Notice {
        text: format!("Revoked “{}” ({}).", record.name, record.hint),
    };
    match leave(&state, &me, &flash).await {
        Ok(()) => redirect(&format!("/settings/api-keys{}", org_query(&current))),
        Err(e) => internal_page(e, Some(&me)),
    }
}
