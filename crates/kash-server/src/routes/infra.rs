//! Unauthenticated infrastructure routes: health, readiness, the OpenAPI documents, metrics.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kash_core::ErrorCode;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::http::problem::{ApiError, ApiResult};
use crate::http::version::{self, VERSIONS};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `degraded` (a non-essential dependency such as Redis is down) or `down`.
    #[schema(example = "ok")]
    pub status: &'static str,
    pub service: &'static str,
    pub version: &'static str,
}

/// Liveness and a summary of dependencies; always `200`.
#[utoipa::path(get, path = "/v1/health", tag = "infra",
    responses((status = 200, description = "The server is running", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let db_up = state.svc.db.ping().await.is_ok();
    let limiter_up = state.limiter.store().ping().await.is_ok();
    let status = match (db_up, limiter_up) {
        (true, true) => "ok",
        (true, false) => "degraded",
        _ => "down",
    };
    Json(Health {
        status,
        service: "kash-server",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// `200` only when the database (and Redis, if configured) answer; else `503`.
#[utoipa::path(get, path = "/v1/ready", tag = "infra",
    responses((status = 200, description = "Ready to serve"),
              (status = 503, description = "A dependency is down", body = crate::openapi::ProblemSchema)))]
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    state.svc.db.ping().await.map_err(ApiError::unavailable)?;
    state
        .limiter
        .store()
        .ping()
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Json(json!({ "status": "ready" })))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "infra",
    responses((status = 200, description = "Metrics in Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The current OpenAPI document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "infra",
    responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi(State(state): State<AppState>) -> Response {
    Json(state.openapi.as_ref().clone()).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct VersionEntry {
    pub version: &'static str,
    /// `current`, `supported` or `deprecated`.
    pub status: &'static str,
    pub sunset: Option<&'static str>,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct VersionIndex {
    pub current: &'static str,
    pub versions: Vec<VersionEntry>,
}

/// Every published API version and where its document lives.
#[utoipa::path(get, path = "/v1/openapi/index.json", tag = "infra",
    responses((status = 200, description = "Published versions", body = VersionIndex)))]
pub async fn openapi_index() -> Json<VersionIndex> {
    Json(VersionIndex {
        current: version::CURRENT,
        versions: VERSIONS
            .iter()
            .map(|v| VersionEntry {
                version: v.version,
                status: v.status.as_str(),
                sunset: v.sunset,
                url: format!("/v1/openapi/{}.json", v.version),
            })
            .collect(),
    })
}

/// The document of one dated version (`/v1/openapi/2026-04-29.json`).
#[utoipa::path(get, path = "/v1/openapi/{file}", tag = "infra",
    params(("file" = String, Path, description = "`<version>.json`")),
    responses((status = 200, description = "OpenAPI 3.1 document of that version"),
              (status = 404, description = "No such version", body = crate::openapi::ProblemSchema)))]
pub async fn openapi_version(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let known = file
        .strip_suffix(".json")
        .and_then(version::find)
        .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound, "no such API version"))?;
    let mut doc = state.openapi.as_ref().clone();
    doc.info.version = known.version.to_string();
    Ok((StatusCode::OK, Json(doc)).into_response())
}
