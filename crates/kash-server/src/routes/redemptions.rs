//! `POST /v1/redemptions` (ours): redeem the caller's whole holding of one outcome of a settled
//! market. Replays through `Idempotency-Key` are natural here: a repeat returns the existing
//! redemption with `_meta.idempotent: true`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kash_core::ids::{id_text, parse_uuid};
use kash_core::{Issue, Problem};
use kash_service::trading::settle;
use kash_store::redemptions::RedemptionRecord;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::body::RawBody;
use crate::http::envelope::{Ctx, Single};
use crate::http::problem::ApiResult;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedemptionView {
    pub id: String,
    pub market_id: String,
    pub outcome_index: u32,
    /// `resolved` or `cancelled`.
    pub kind: String,
    /// WAD.
    pub shares_wad: String,
    /// Atomic USDC.
    pub payout_usdc: String,
    pub status: String,
    /// Ours: whether the automatic settlement made the claim.
    pub automatic: bool,
    pub created_at: String,
}

impl From<&RedemptionRecord> for RedemptionView {
    fn from(r: &RedemptionRecord) -> Self {
        RedemptionView {
            id: r.id.clone(),
            market_id: r.market_id.clone(),
            outcome_index: r.outcome_index as u32,
            kind: r.kind.clone(),
            shares_wad: r.shares.clone(),
            payout_usdc: r.payout_atomic.max(0).to_string(),
            status: r.status.clone(),
            automatic: r.automatic != 0,
            created_at: kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(r.created_at)),
        }
    }
}

/// Redeems the caller's holding of one outcome of a resolved or cancelled market.
#[utoipa::path(post, path = "/v1/redemptions", tag = "portfolio",
    security(("ApiKey" = [])),
    responses(
        (status = 201, description = "Redeemed", body = RedemptionView),
        (status = 200, description = "Already redeemed (by a repeat or the automatic run)", body = RedemptionView),
        (status = 404, description = "MARKET_NOT_FOUND"),
        (status = 409, description = "POSITION_NOT_CLAIMABLE"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    body: axum::Extension<RawBody>,
) -> ApiResult<Response> {
    let key = &ctx.caller()?.key;
    let v: serde_json::Value = crate::http::body::parse_json(&body.0 .0)?;
    let mut issues = Vec::new();
    let market = match v
        .get("marketId")
        .and_then(|m| m.as_str())
        .and_then(parse_uuid)
    {
        Some(id) => Some(id_text(&id)),
        None => {
            issues.push(Issue::new("marketId", "must be a market id (UUID)"));
            None
        }
    };
    let outcome = match v.get("outcomeIndex").and_then(|o| o.as_u64()) {
        Some(o) => Some(o),
        None => {
            issues.push(Issue::new(
                "outcomeIndex",
                "must be an integer of at least 0",
            ));
            None
        }
    };
    let (Some(market), Some(outcome), true) = (market, outcome, issues.is_empty()) else {
        return Err(Problem::validation(issues).into());
    };
    let outcome = i64::try_from(outcome).unwrap_or(i64::MAX);
    let idem = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let done = settle::redeem(&state.svc, &key.owner, &market, outcome, idem).await?;
    let redeemed = done.map_err(crate::http::problem::ApiError::from)?;
    let mut meta = ctx.meta();
    meta.idempotent = Some(!redeemed.created);
    let status = if redeemed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Single {
            name: "redemption",
            value: RedemptionView::from(&redeemed.record),
            meta,
        }),
    )
        .into_response())
}
