//! `GET /api/threads`, `GET /api/threads/{id}`, and the thread lists of an organization or a
//! partner (`/api/organizations/{id}/threads`, `/api/partners/{id}/threads`), which share the
//! query but write times and volume as Kash publishes them there (ISO strings, volume as a
//! string of cents).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use kash_core::ids::{id_text, parse_uuid};
use kash_service::threads::status;
use kash_store::orgs;
use kash_store::threads::{self, SortBy, StatusFilter, ThreadQuery, ThreadRecord, ThreadTotals};
use serde_json::{json, Value};

use crate::http::query::QueryParams;
use crate::public_api::error::PublicResult;
use crate::public_api::params::{self, Page, Pagination};
use crate::public_api::PublicError;
use crate::state::AppState;

/// Atomic USDC → whole cents, floored (§4 units).
pub fn cents(atomic: i64) -> i64 {
    atomic.div_euclid(10_000)
}

fn secs(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| json!(ms.div_euclid(1000)))
}

/// The common filters: `status`, `sortBy`, `sortOrder`, `limit`, `offset`.
fn thread_query(
    q: &QueryParams,
    default_limit: i64,
    now_ms: i64,
) -> PublicResult<(ThreadQuery, Page)> {
    let status = match params::choice(
        q,
        "status",
        &["active", "upcoming", "closed", "all"],
        "active",
    )? {
        "upcoming" => StatusFilter::Upcoming,
        "closed" => StatusFilter::Closed,
        "all" => StatusFilter::All,
        _ => StatusFilter::Active,
    };
    let sort_by = match params::choice(
        q,
        "sortBy",
        &["created_at", "start_time", "total_volume"],
        "created_at",
    )? {
        "start_time" => SortBy::StartTime,
        "total_volume" => SortBy::TotalVolume,
        _ => SortBy::CreatedAt,
    };
    let descending = params::descending(q)?;
    let page = params::page(q, default_limit, 100)?;
    Ok((
        ThreadQuery {
            status: Some(status),
            sort_by: Some(sort_by),
            descending,
            limit: page.limit,
            offset: page.offset,
            now_ms,
            ..ThreadQuery::default()
        },
        page,
    ))
}

async fn page_of(
    state: &AppState,
    query: &ThreadQuery,
) -> PublicResult<(i64, Vec<ThreadRecord>, HashMap<String, ThreadTotals>)> {
    let (total, rows) = threads::list(&state.svc.db, query).await?;
    let ids: Vec<String> = rows.iter().map(|t| t.id.clone()).collect();
    let totals = threads::totals(state.svc.db.reader(), &ids).await?;
    Ok((total, rows, totals))
}

/// A thread as `/api/threads*` writes it (times in Unix seconds, volume in cents).
fn thread_view(t: &ThreadRecord, totals: ThreadTotals, now_ms: i64) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "totalVolume": cents(totals.total_volume),
        "marketCount": totals.market_count,
        "participantCount": totals.participant_count,
        "startTime": secs(t.start_time),
        "endTime": secs(t.end_time),
        "status": status(t, now_ms),
        "category": t.category,
        "tags": t.tag_list(),
        "createdAt": params::iso_ms(t.created_at),
        "updatedAt": params::iso_ms(t.updated_at),
        "organizationId": t.org_id,
        "partnerId": t.partner_id,
    })
}

/// A thread as the organization and partner lists write it (ISO times, volume a string).
fn listed_thread_view(t: &ThreadRecord, totals: ThreadTotals, now_ms: i64) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "image": t.image,
        "status": status(t, now_ms),
        "startTime": t.start_time.map(params::iso_ms),
        "endTime": t.end_time.map(params::iso_ms),
        "marketCount": totals.market_count,
        "totalVolume": cents(totals.total_volume).to_string(),
        "participantCount": totals.participant_count,
        "createdAt": params::iso_ms(t.created_at),
    })
}

/// Threads across every active organization.
#[utoipa::path(get, path = "/api/threads", tag = "public",
    params(
        ("status" = Option<String>, Query, description = "active (default), upcoming, closed or all"),
        ("category" = Option<String>, Query, description = "Exact category"),
        ("tags" = Option<String>, Query, description = "Comma list; any tag matches"),
        ("limit" = Option<i64>, Query, description = "1–100, default 20"),
        ("offset" = Option<i64>, Query, description = "≥ 0, default 0"),
        ("sortBy" = Option<String>, Query, description = "created_at (default), start_time, total_volume"),
        ("sortOrder" = Option<String>, Query, description = "asc or desc (default)"),
    ),
    responses(
        (status = 200, description = "`{threads[], pagination{offset, limit, total, hasMore}, _meta{authenticated, requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 429, description = "RATE_LIMIT_EXCEEDED (50 requests/min per IP)"),
    ))]
pub async fn list(State(state): State<AppState>, q: QueryParams) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let (mut query, page) = thread_query(&q, 20, now_ms)?;
    query.category = params::text(&q, "category", 100)?;
    query.tags = params::list(&q, "tags", 50, 100)?;
    let (total, rows, totals) = page_of(&state, &query).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|t| thread_view(t, totals.get(&t.id).copied().unwrap_or_default(), now_ms))
        .collect();
    Ok(Json(json!({
        "threads": items,
        "pagination": Pagination::new(page, total, rows.len()),
        "_meta": { "authenticated": false, "requestedAt": params::iso(now) },
    })))
}

/// A visible thread (its organization active), or `None`.
pub async fn visible_thread(state: &AppState, id: &str) -> PublicResult<Option<ThreadRecord>> {
    let Some(id) = parse_uuid(id) else {
        return Ok(None);
    };
    let db = state.svc.db.reader();
    let Some(thread) = threads::get(db, &id_text(&id)).await? else {
        return Ok(None);
    };
    let active = orgs::get(db, &thread.org_id)
        .await?
        .is_some_and(|o| o.is_active());
    Ok(active.then_some(thread))
}

/// One thread, optionally with its markets.
#[utoipa::path(get, path = "/api/threads/{id}", tag = "public",
    params(
        ("id" = String, Path, description = "Thread id"),
        ("includeMarkets" = Option<bool>, Query, description = "Also list the thread's markets (default false)"),
    ),
    responses(
        (status = 200, description = "`{thread, markets[]?, _meta{requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "THREAD_NOT_FOUND"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let include_markets = params::boolean(&q, "includeMarkets", false)?;
    let now = state.svc.now();
    let thread = visible_thread(&state, &id)
        .await?
        .ok_or_else(PublicError::thread_not_found)?;
    let totals = threads::totals(state.svc.db.reader(), std::slice::from_ref(&thread.id))
        .await?
        .get(&thread.id)
        .copied()
        .unwrap_or_default();
    let mut view = thread_view(&thread, totals, now.timestamp_millis());
    view["image"] = json!(thread.image);
    view["backgroundImage"] = json!(thread.background_image);
    let mut body = json!({ "thread": view, "_meta": { "requestedAt": params::iso(now) } });
    if include_markets {
        body["markets"] = json!(
            super::public_markets::included_markets(&state, &thread.id, now.timestamp_millis())
                .await?
        );
    }
    Ok(Json(body))
}

/// Checks the list parameters before the organization or partner is looked up, so a bad
/// parameter is a 400 whatever the id.
pub fn validate_list_query(q: &QueryParams) -> PublicResult<()> {
    thread_query(q, 50, 0).map(|_| ())
}

/// The thread list of an organization or a partner.
pub async fn scoped_list(
    state: &AppState,
    q: &QueryParams,
    org_id: Option<String>,
    partner_id: Option<String>,
    meta: Value,
) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let (mut query, page) = thread_query(q, 50, now_ms)?;
    query.org_id = org_id;
    query.partner_id = partner_id;
    let (total, rows, totals) = page_of(state, &query).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|t| listed_thread_view(t, totals.get(&t.id).copied().unwrap_or_default(), now_ms))
        .collect();
    let mut meta = meta;
    meta["requestedAt"] = json!(params::iso(now));
    Ok(Json(json!({
        "threads": items,
        "pagination": Pagination::new(page, total, rows.len()),
        "_meta": meta,
    })))
}
