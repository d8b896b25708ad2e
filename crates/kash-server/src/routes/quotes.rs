//! `GET /v1/markets/{id}/quote`: exactly what the same trade would do now, computed by the
//! same market-maker functions the trade executes.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kash_core::amm::{self, Derived};
use kash_core::money::{AmountParseError, Usdc, Wad};
use kash_core::numbers::{nearest_f64, Micro};
use kash_core::{ErrorCode, Issue, Problem};
use kash_service::trading::{amm_problem, chain};
use kash_store::markets::MarketRecord;
use ruint::aliases::U256;
use serde::Serialize;
use utoipa::ToSchema;

use super::markets::{load, outcomes, wire_status, OutcomeView};
use crate::http::envelope::Ctx;
use crate::http::problem::ApiResult;
use crate::http::query::QueryParams;
use crate::state::AppState;

/// The quote (buy or sell members; see the route).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteView {
    pub outcome_index: u32,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<String>,
    /// WAD released before the AMM sell fee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gross_release: Option<String>,
    /// Atomic USDC the seller receives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usdc_out: Option<String>,
    pub protocol_fee: String,
    pub reserve_after: String,
    pub c: String,
    pub p_after: Vec<String>,
    pub q_after: Vec<String>,
    pub effective_price: f64,
    #[schema(value_type = f64)]
    pub implied_probability: Micro,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteMarket {
    pub id: String,
    pub contract_address: String,
    pub chain_id: u64,
    pub outcomes: Vec<OutcomeView>,
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Units {
    pub usdc: &'static str,
    pub token: &'static str,
}

/// The whole answer (serialised directly, so JSON numbers keep their exact text).
#[derive(Serialize)]
struct QuoteResponse {
    quote: QuoteView,
    market: QuoteMarket,
    units: Units,
    #[serde(rename = "_meta")]
    meta: crate::http::envelope::Meta,
}

fn strings(v: &[U256]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn after(view: &mut QuoteView, d: &Derived, k: usize) {
    view.c = d.liquidity.to_string();
    view.p_after = strings(&d.probabilities);
    view.q_after = strings(&d.capital_shares);
    view.implied_probability = d
        .probabilities
        .get(k)
        .copied()
        .and_then(Micro::from_wad)
        .unwrap_or(Micro::ZERO);
}

/// Quotes a buy (`amount`: atomic USDC) or a sell (`amount`: WAD tokens).
#[utoipa::path(get, path = "/v1/markets/{id}/quote", tag = "markets",
    security(("ApiKey" = [])),
    params(
        ("id" = String, Path, description = "Market id"),
        ("outcomeIndex" = u32, Query, description = "Outcome"),
        ("action" = String, Query, description = "buy or sell"),
        ("amount" = String, Query, description = "Atomic USDC for buys, WAD tokens for sells"),
    ),
    responses((status = 200, description = "{quote, market, units, _meta}", body = QuoteView),
        (status = 404, description = "MARKET_NOT_FOUND"),
        (status = 409, description = "MARKET_NOT_TRADEABLE")))]
pub async fn quote(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let m = load(&state, &id).await?;
    Ok(respond(compute(&state, &m, &q)?, &ctx))
}

/// The quote and its market for the query of the route: the one computation `/v1` and the
/// public `/api/markets/{id}/quote` share, so their numbers cannot differ.
pub fn compute(
    state: &AppState,
    m: &MarketRecord,
    q: &QueryParams,
) -> Result<(QuoteView, QuoteMarket), Problem> {
    let mut issues = Vec::new();
    let outcome = match q.get("outcomeIndex").map(str::trim) {
        None | Some("") => {
            issues.push(Issue::new("outcomeIndex", "is required"));
            None
        }
        Some(s) => match s.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                issues.push(Issue::new(
                    "outcomeIndex",
                    "must be an integer of at least 0",
                ));
                None
            }
        },
    };
    let action = match q.get("action").map(str::trim) {
        Some("buy") => Some("buy"),
        Some("sell") => Some("sell"),
        None | Some("") => {
            issues.push(Issue::new("action", "is required (buy or sell)"));
            None
        }
        Some(_) => {
            issues.push(Issue::new("action", "must be buy or sell"));
            None
        }
    };
    let amount_text = q.get("amount").unwrap_or("");
    let amount = match action {
        Some("buy") => match Usdc::parse_atomic(amount_text) {
            Ok(a) if a.is_zero() => {
                issues.push(Issue::new("amount", "must be greater than zero"));
                None
            }
            Ok(a) => Some(a.to_wad() / kash_core::money::U),
            Err(AmountParseError::TooLarge { .. }) => Some(U256::MAX),
            Err(_) => {
                issues.push(Issue::new(
                    "amount",
                    "must be an atomic USDC integer string",
                ));
                None
            }
        },
        Some(_) => match Wad::parse(amount_text) {
            Ok(w) if w.is_zero() => {
                issues.push(Issue::new("amount", "must be greater than zero"));
                None
            }
            Ok(w) => Some(w.raw()),
            Err(AmountParseError::TooLarge { .. }) => Some(U256::MAX),
            Err(_) => {
                issues.push(Issue::new("amount", "must be a WAD token integer string"));
                None
            }
        },
        None => None,
    };
    let (Some(outcome), Some(action), Some(amount), true) =
        (outcome, action, amount, issues.is_empty())
    else {
        return Err(Problem::validation(issues));
    };
    let now = state.svc.now_ms();
    if !m.tradeable(now) {
        return Err(Problem::new(
            ErrorCode::MarketNotTradeable,
            format!("the market is {} and does not trade", m.phase_at(now)),
        ));
    }
    if outcome >= m.outcome_count as u64 {
        return Err(Problem::new(
            ErrorCode::OutcomeIndexInvalid,
            format!(
                "outcomeIndex {outcome} is out of range: the market has {} outcomes",
                m.outcome_count
            ),
        ));
    }
    let k = outcome as usize;
    let st = m.state().map_err(|e| {
        tracing::error!(market_id = %m.id, error = %e, "stored market state is corrupt");
        Problem::new(
            ErrorCode::MarketNotTradeable,
            "this market cannot be quoted right now",
        )
    })?;
    let err = |e: amm::AmmError| amm_problem(&e, &m.id);
    let mut view = QuoteView {
        outcome_index: outcome as u32,
        action,
        amount_in: None,
        tokens_out: None,
        tokens_in: None,
        gross_release: None,
        usdc_out: None,
        protocol_fee: String::new(),
        reserve_after: String::new(),
        c: String::new(),
        p_after: Vec::new(),
        q_after: Vec::new(),
        effective_price: 0.0,
        implied_probability: Micro::ZERO,
    };
    if action == "buy" {
        let g = u64::try_from(&amount)
            .map(Usdc::from_atomic)
            .map_err(|_| err(amm::AmmError::Range("amount exceeds 64 bits")))?;
        let r = amm::buy(&st, k, g).map_err(err)?;
        let d = r.derived_after().map_err(err)?;
        view.amount_in = Some(g.to_atomic_string());
        view.tokens_out = Some(r.tokens_out.to_string());
        view.protocol_fee = r.fee.to_atomic_string();
        view.reserve_after = r.state_after.reserve.to_string();
        view.effective_price = nearest_f64(U256::from(g.atomic()), r.tokens_out);
        after(&mut view, &d, k);
    } else {
        let r = amm::sell(&st, k, amount).map_err(err)?;
        let d = r.derived_after().map_err(err)?;
        view.tokens_in = Some(r.tokens_in.to_string());
        view.gross_release = Some(r.released.to_string());
        view.usdc_out = Some(r.payout.to_atomic_string());
        view.protocol_fee = r.fee.to_atomic_string();
        view.reserve_after = r.state_after.reserve.to_string();
        view.effective_price = nearest_f64(U256::from(r.payout.atomic()), r.tokens_in);
        after(&mut view, &d, k);
    }
    let market = QuoteMarket {
        id: m.id.clone(),
        contract_address: chain::contract_address(&m.id),
        chain_id: state.svc.settings.chain_id,
        outcomes: outcomes(m),
        status: wire_status(&m.phase),
    };
    Ok((view, market))
}

/// The route's answer: `{quote, market, units, _meta}` with `Cache-Control: public, max-age=10`.
pub fn respond((view, market): (QuoteView, QuoteMarket), ctx: &Ctx) -> Response {
    let body = QuoteResponse {
        quote: view,
        market,
        units: Units {
            usdc: "atomic-6",
            token: "wad-18",
        },
        meta: ctx.meta(),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=10"),
    );
    response
}
