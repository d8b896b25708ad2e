//! `POST /api/embeds/renders` and `POST /api/embeds/clicks`: custom embeds report what they
//! showed and what was clicked. Counted in memory and answered `202 {"accepted": true}`; the
//! counters reach the database within `KASH_EMBED_FLUSH_MS`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::embeds::targets::Target;
use crate::embeds::tracker::Event;
use crate::embeds::{source, utc_day, EmbedKind};
use crate::http::body::RawBody;
use crate::public_api::error::PublicResult;
use crate::public_api::PublicError;
use crate::state::AppState;

/// The body as an object. Any content type is accepted: `navigator.sendBeacon` posts
/// `text/plain`, and requiring JSON would force a preflight on every render.
fn object(raw: &[u8]) -> PublicResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(PublicError::invalid("the body must be a JSON object")),
    }
}

fn required_string<'a>(body: &'a Map<String, Value>, name: &str) -> PublicResult<&'a str> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Ok(s.trim()),
        _ => Err(PublicError::invalid(format!(
            "{name} is required: a string of 1 to 200 characters"
        ))),
    }
}

fn kind(body: &Map<String, Value>) -> PublicResult<EmbedKind> {
    match body.get("kind") {
        Some(Value::String(s)) => EmbedKind::parse(s.trim()),
        _ => None,
    }
    .ok_or_else(|| PublicError::invalid("kind must be one of market, thread, organization"))
}

fn source_of(body: &Map<String, Value>) -> PublicResult<String> {
    match body.get("source") {
        None | Some(Value::Null) => Ok(source::normalize(None)),
        Some(Value::String(s)) => Ok(source::normalize(Some(s))),
        Some(_) => Err(PublicError::invalid("source must be a string")),
    }
}

fn not_found(kind: EmbedKind) -> PublicError {
    match kind {
        EmbedKind::Market => PublicError::market_not_found(),
        EmbedKind::Thread => PublicError::thread_not_found(),
        EmbedKind::Organization => PublicError::not_found("no such organization"),
    }
}

async fn target(state: &AppState, kind: EmbedKind, id: &str, now_ms: i64) -> PublicResult<Target> {
    state
        .embed_targets
        .resolve(&state.svc.db, kind, id, now_ms)
        .await?
        .ok_or_else(|| not_found(kind))
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({ "accepted": true })),
    )
        .into_response()
}

/// Records one render of an embed.
#[utoipa::path(post, path = "/api/embeds/renders", tag = "public",
    request_body(content = String, description = "`{kind: market|thread|organization, id, source?}`", content_type = "application/json"),
    responses(
        (status = 202, description = "`{\"accepted\": true}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "MARKET_NOT_FOUND, THREAD_NOT_FOUND or NOT_FOUND"),
        (status = 429, description = "RATE_LIMIT_EXCEEDED (200 requests/min per IP)"),
    ))]
pub async fn render(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Extension(raw): axum::Extension<RawBody>,
) -> PublicResult<Response> {
    let body = object(&raw.0)?;
    let kind = kind(&body)?;
    let id = required_string(&body, "id")?;
    let source = source_of(&body)?;
    let now_ms = state.svc.now_ms();
    let target = target(&state, kind, id, now_ms).await?;
    let day = utc_day(now_ms);
    let ip = crate::http::client_ip::resolve(peer, &headers, &state.svc.settings.trusted_proxies);
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let viewer = state
        .embed_viewers
        .viewer(&state.svc.db, &day, &ip.to_string(), agent)
        .await?;
    state.embeds.render(&Event {
        org_id: &target.org_id,
        day: &day,
        kind: kind.as_str(),
        target_id: &target.id,
        source: &source,
        viewer: Some(&viewer),
    });
    state.metrics.embed_event("render");
    Ok(accepted())
}

/// Records one click on a market inside an embed.
#[utoipa::path(post, path = "/api/embeds/clicks", tag = "public",
    request_body(content = String, description = "`{kind, id, marketId, source?}`", content_type = "application/json"),
    responses(
        (status = 202, description = "`{\"accepted\": true}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "MARKET_NOT_FOUND, THREAD_NOT_FOUND or NOT_FOUND"),
        (status = 429, description = "RATE_LIMIT_EXCEEDED (200 requests/min per IP)"),
    ))]
pub async fn click(
    State(state): State<AppState>,
    axum::Extension(raw): axum::Extension<RawBody>,
) -> PublicResult<Response> {
    let body = object(&raw.0)?;
    let kind = kind(&body)?;
    let id = required_string(&body, "id")?;
    let market_id = required_string(&body, "marketId")?;
    let source = source_of(&body)?;
    let now_ms = state.svc.now_ms();
    let target = target(&state, kind, id, now_ms).await?;
    let market = state
        .embed_targets
        .resolve(&state.svc.db, EmbedKind::Market, market_id, now_ms)
        .await?
        .ok_or_else(PublicError::market_not_found)?;
    let day = utc_day(now_ms);
    state.embeds.click(
        &Event {
            org_id: &target.org_id,
            day: &day,
            kind: kind.as_str(),
            target_id: &target.id,
            source: &source,
            viewer: None,
        },
        &market.id,
    );
    state.metrics.embed_event("click");
    Ok(accepted())
}
