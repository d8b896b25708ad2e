//! The console's API keys as JSON, for the webapp (`organizations-embeds-portal.md` §6):
//! `GET|POST /api/account/api-keys`, `PATCH|DELETE /api/account/api-keys/{id}`. Authenticated
//! by the console session and CSRF ([`crate::console::guard`]); the operations are
//! `kash_service::keys`, exactly as `kash-admin` runs them, with the webhook-URL cooldown on.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kash_core::{Issue, Problem};
use kash_service::keys::{IssueRequest, KeyUpdate, KeyView, LimitOverrides};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::console::access;
use crate::console::keys::{parse_expiry, parse_scopes};
use crate::console::session::SignedIn;
use crate::http::body::ApiJson;
use crate::http::problem::ApiResult;
use crate::state::AppState;

/// `null` and absent differ: absent leaves a field alone, `null` clears it.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this organization's keys (you must be its owner or admin).
    organization_id: Option<String>,
}

/// Body of `POST /api/account/api-keys`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateKeyBody {
    /// 1–100 characters; `default` when absent.
    name: Option<String>,
    /// Scope names; the tier's defaults when absent.
    scopes: Option<Vec<String>>,
    /// Comma-separated addresses and CIDRs.
    ip_allowlist: Option<String>,
    webhook_url: Option<String>,
    /// RFC 3339, in the future.
    expires_at: Option<String>,
    /// Issue an org-scoped key (owners and admins only).
    organization_id: Option<String>,
}

/// Body of `PATCH /api/account/api-keys/{id}`; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateKeyBody {
    name: Option<String>,
    /// `null` or `""` removes the allowlist.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    ip_allowlist: Option<Option<String>>,
    /// `null` or `""` removes the webhook; a change is allowed once an hour.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    webhook_url: Option<Option<String>>,
}

fn view(state: &AppState, record: &kash_store::keys::ApiKeyRecord) -> KeyView {
    KeyView::new(
        record,
        state.svc.now_ms(),
        state.svc.settings.tier_rate_limits(),
    )
}

/// The keys you may manage: yours and those of organizations you own or administer.
#[utoipa::path(get, path = "/api/account/api-keys", tag = "console",
    params(ListQuery),
    security(("ConsoleSession" = [])),
    responses(
        (status = 200, description = "`{apiKeys: [...]}`: every key, active or not, never a secret"),
        (status = 401, description = "SESSION_REQUIRED", body = crate::openapi::ProblemSchema),
        (status = 429, description = "RATE_LIMIT_EXCEEDED (60 requests/min per session)", body = crate::openapi::ProblemSchema),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<SignedIn>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let owners = match q.organization_id.as_deref() {
        Some(org) => vec![access::owner(&state, &me.user, Some(org)).await?],
        None => access::manageable(&state, &me.user).await?,
    };
    let mut keys = Vec::new();
    for o in &owners {
        keys.extend(kash_service::keys::list(&state.svc, Some(&o.owner)).await?);
    }
    Ok(Json(json!({ "apiKeys": keys })))
}

/// Issue a key at the owner's self-serve tier; the plaintext key (and webhook secret) appear
/// in this response only.
#[utoipa::path(post, path = "/api/account/api-keys", tag = "console",
    request_body = CreateKeyBody,
    security(("ConsoleSession" = [])),
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 201, description = "`{apiKey{..., limits}, key, webhookSecret?}`"),
        (status = 400, description = "VALIDATION_FAILED", body = crate::openapi::ProblemSchema),
        (status = 403, description = "CSRF_CHECK_FAILED or ROLE_NOT_PERMITTED", body = crate::openapi::ProblemSchema),
        (status = 404, description = "RESOURCE_NOT_FOUND (an organization you do not belong to)", body = crate::openapi::ProblemSchema),
        (status = 409, description = "ACTIVE_KEY_LIMIT_REACHED", body = crate::openapi::ProblemSchema),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Extension(me): Extension<SignedIn>,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> ApiResult<Response> {
    let mut issues = Vec::new();
    let org = body.organization_id.as_deref().filter(|o| !o.is_empty());
    if org.is_some_and(|o| kash_core::ids::parse_uuid(o).is_none()) {
        issues.push(Issue::new("organizationId", "must be a UUID"));
    }
    let scopes = body.scopes.as_ref().map(|names| {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        parse_scopes(&names, "scopes", &mut issues)
    });
    let expires_at = body
        .expires_at
        .as_deref()
        .and_then(|t| parse_expiry(t, &mut issues));
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    let current = access::owner(&state, &me.user, org).await?;
    let issued = kash_service::keys::issue(
        &state.svc,
        IssueRequest {
            owner: current.owner.clone(),
            tier: current.tier,
            scopes,
            name: body.name,
            ip_allowlist: body.ip_allowlist.filter(|s| !s.trim().is_empty()),
            webhook_url: body.webhook_url.filter(|s| !s.trim().is_empty()),
            expires_at,
            limits: LimitOverrides::default(),
        },
        &me.actor(),
    )
    .await?;
    let mut out = json!({
        "apiKey": view(&state, &issued.record),
        "key": issued.key,
    });
    if let Some(secret) = issued.webhook_secret {
        out["webhookSecret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Edit a key's name, IP allowlist or webhook URL.
#[utoipa::path(patch, path = "/api/account/api-keys/{id}", tag = "console",
    request_body = UpdateKeyBody,
    security(("ConsoleSession" = [])),
    params(("id" = String, Path, description = "Key id"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "`{apiKey{...}, webhookSecret?}` (a secret only when this edit created one)"),
        (status = 400, description = "VALIDATION_FAILED (issues name the field, e.g. `webhookUrl`); nothing changed", body = crate::openapi::ProblemSchema),
        (status = 403, description = "CSRF_CHECK_FAILED or ROLE_NOT_PERMITTED", body = crate::openapi::ProblemSchema),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = crate::openapi::ProblemSchema),
        (status = 429, description = "RATE_LIMIT_EXCEEDED: webhook URL changed less than an hour ago (`Retry-After`)", body = crate::openapi::ProblemSchema),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Extension(me): Extension<SignedIn>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateKeyBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let (record, _) = access::key(&state, &me.user, &id).await?;
    let change = KeyUpdate {
        name: body.name,
        ip_allowlist: body.ip_allowlist.map(Option::unwrap_or_default),
        webhook_url: body.webhook_url.map(Option::unwrap_or_default),
        limits: LimitOverrides::default(),
    };
    let updated =
        kash_service::keys::update(&state.svc, &record.id, change, &me.actor(), true).await?;
    let mut out = json!({ "apiKey": view(&state, &updated.record) });
    if let Some(secret) = updated.webhook_secret {
        out["webhookSecret"] = json!(secret);
    }
    Ok(Json(out))
}

/// Revoke a key at once (idempotent: revoking a revoked key reports `changed: false`).
#[utoipa::path(delete, path = "/api/account/api-keys/{id}", tag = "console",
    security(("ConsoleSession" = [])),
    params(("id" = String, Path, description = "Key id"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "`{apiKey{... status: revoked}, changed}`"),
        (status = 403, description = "CSRF_CHECK_FAILED or ROLE_NOT_PERMITTED", body = crate::openapi::ProblemSchema),
        (status = 404, description = "RESOURCE_NOT_FOUND", body = crate::openapi::ProblemSchema),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(me): Extension<SignedIn>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let (record, _) = access::key(&state, &me.user, &id).await?;
    let (after, changed) = kash_service::keys::revoke(&state.svc, &record.id, &me.actor()).await?;
    Ok(Json(
        json!({ "apiKey": view(&state, &after), "changed": changed }),
    ))
}
