//! The market side of the public Embed API (`organizations-embeds-portal.md` §4):
//! `GET /api/markets`, `/api/markets/featured`, `/api/markets/{id}`, `/api/markets/{id}/quote`,
//! `/api/organizations/{id}/markets`, `/api/threads/{id}/markets` and
//! `/api/threads/{id}/chapters`. Only ACTIVE/FROZEN/RESOLVED/CANCELLED markets of active
//! organizations appear ([`kash_store::public_markets`]).

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kash_core::amm;
use kash_core::ids::{id_text, parse_uuid};
use kash_core::money::Usdc;
use kash_core::numbers::Micro;
use kash_store::markets::MarketRecord;
use kash_store::public_markets::{self, MarketQuery, Phase, PublicTrade, SortBy};
use ruint::aliases::U256;
use serde_json::{json, Value};

use super::markets::outcomes;
use super::public_orgs::visible_org;
use super::public_threads::{cents, visible_thread};
use super::quotes;
use crate::http::envelope::Ctx;
use crate::http::query::QueryParams;
use crate::public_api::error::PublicResult;
use crate::public_api::params::{self, Page, Pagination};
use crate::public_api::PublicError;
use crate::state::AppState;

/// Latest epoch second `resolvedAfter`/`resolvedBefore` accept (9999-12-31T23:59:59Z).
pub const MAX_EPOCH_SECONDS: i64 = 253_402_300_799;
/// Snapshots in `priceHistory[]`.
pub const PRICE_HISTORY_LEN: usize = 100;
/// Markets a thread carries with `includeMarkets=true`.
pub const THREAD_INCLUDED_MARKETS: i64 = 100;
/// Featured markets when none is flagged.
pub const FEATURED_FALLBACK: i64 = 6;
/// Flagged featured markets shown at most.
pub const FEATURED_MAX: i64 = 100;

/// A probability on the micro-unit grid as a JSON number (the nearest double to the exact
/// six-decimal value, so its text is that value).
fn prob(m: Micro) -> Value {
    json!(m.get() as f64 / 1_000_000.0)
}

/// Outcome 0's probability in micro-units.
fn yes_micro(m: &MarketRecord) -> Micro {
    outcomes(m)
        .first()
        .map(|o| o.probability)
        .unwrap_or(Micro::ZERO)
}

/// `OPEN`, `FROZEN`, `RESOLVED` or `CANCELLED` (an ACTIVE market past `freezeAt` is frozen).
fn wire_status(m: &MarketRecord, now_ms: i64) -> &'static str {
    match m.phase_at(now_ms) {
        "ACTIVE" => "OPEN",
        "RESOLVED" => "RESOLVED",
        "CANCELLED" => "CANCELLED",
        _ => "FROZEN",
    }
}

/// The §4 market object.
pub fn market_view(m: &MarketRecord, now_ms: i64) -> Value {
    let outs = outcomes(m);
    let yes = outs.first().map(|o| o.probability).unwrap_or(Micro::ZERO);
    let no = Micro::new(1_000_000u64.saturating_sub(yes.get()));
    json!({
        "id": m.id,
        "question": m.title,
        "description": m.description,
        "probability": prob(yes),
        "yesPrice": prob(yes),
        "noPrice": prob(no),
        "totalVolume": cents(m.volume_atomic),
        "tradeCount": m.trade_count,
        "status": wire_status(m, now_ms),
        "endTime": m.freeze_at,
        "category": m.category,
        "createdAt": params::iso_ms(m.created_at),
        "sourceTweetUrl": m.source_tweet_url,
        "outcomes": outs.iter().map(|o| json!({
            "outcomeIndex": o.outcome_index,
            "label": o.label,
            "probability": prob(o.probability),
            "capitalShare": prob(o.capital_share),
        })).collect::<Vec<_>>(),
        "organizationId": m.organization_id,
        "threadId": m.thread_id,
        "partnerId": m.partner_id,
    })
}

/// The thread-market object: `currentProbability`, lower-case status, and `tags`.
pub fn thread_market_view(m: &MarketRecord, now_ms: i64) -> Value {
    let mut v = market_view(m, now_ms);
    if let Some(obj) = v.as_object_mut() {
        if let Some(p) = obj.remove("probability") {
            obj.insert("currentProbability".into(), p);
        }
        let status = match wire_status(m, now_ms) {
            "OPEN" => "active",
            "RESOLVED" => "resolved",
            "CANCELLED" => "cancelled",
            _ => "paused",
        };
        obj.insert("status".into(), json!(status));
        obj.insert("tags".into(), json!(m.tag_list()));
    }
    v
}

/// An id filter: the canonical UUID, or (malformed) a value no market carries, so the filter
/// simply matches nothing.
fn id_filter(q: &QueryParams, name: &str) -> PublicResult<Option<String>> {
    Ok(params::text(q, name, 100)?.map(|t| parse_uuid(&t).map(|u| id_text(&u)).unwrap_or(t)))
}

fn epoch_ms(q: &QueryParams, name: &str) -> PublicResult<Option<i64>> {
    if q.get(name).map(str::trim).is_none_or(str::is_empty) {
        return Ok(None);
    }
    Ok(Some(params::int(q, name, 0, 0, MAX_EPOCH_SECONDS)? * 1000))
}

fn sort_by(q: &QueryParams, allowed: &[&'static str]) -> PublicResult<SortBy> {
    Ok(match params::choice(q, "sortBy", allowed, "created_at")? {
        "total_volume" => SortBy::TotalVolume,
        "current_probability" => SortBy::CurrentProbability,
        "title" => SortBy::Title,
        "end_time" => SortBy::EndTime,
        _ => SortBy::CreatedAt,
    })
}

/// A parsed list request.
struct ListRequest {
    query: MarketQuery,
    sort_by: SortBy,
    descending: bool,
    page: Page,
}

/// The parameters of `/api/markets` (`with_ids`: the id filters too, which the organization
/// list does not take).
fn markets_request(q: &QueryParams, with_ids: bool, now_ms: i64) -> PublicResult<ListRequest> {
    let mut phases = match params::choice(
        q,
        "status",
        &[
            "active",
            "resolved",
            "cancelled",
            "paused",
            "refunded",
            "all",
        ],
        "active",
    )? {
        "resolved" => vec![Phase::Resolved],
        "cancelled" | "refunded" => vec![Phase::Cancelled],
        "paused" => vec![Phase::Frozen],
        "all" => vec![
            Phase::Active,
            Phase::Frozen,
            Phase::Resolved,
            Phase::Cancelled,
        ],
        _ => vec![Phase::Active],
    };
    if q.get("active")
        .map(str::trim)
        .is_some_and(|v| !v.is_empty())
    {
        phases = if params::boolean(q, "active", true)? {
            vec![Phase::Active]
        } else {
            vec![Phase::Resolved]
        };
    }
    let resolved_after = epoch_ms(q, "resolvedAfter")?;
    let resolved_before = epoch_ms(q, "resolvedBefore")?;
    let category = params::text(q, "category", 50)?.map(|c| c.to_lowercase());
    let mut query = MarketQuery {
        category,
        phases,
        resolved_after,
        resolved_before,
        now_ms,
        ..MarketQuery::default()
    };
    if with_ids {
        query.thread_id = match id_filter(q, "threadId")? {
            Some(t) => Some(t),
            None => id_filter(q, "thread_id")?,
        };
        query.org_id = id_filter(q, "organizationId")?;
        query.partner_id = id_filter(q, "partnerId")?;
        query.chapter_id = params::text(q, "chapterId", 100)?;
    }
    let sort_by = sort_by(
        q,
        &[
            "created_at",
            "total_volume",
            "current_probability",
            "title",
            "end_time",
        ],
    )?;
    let descending = params::descending(q)?;
    let page = params::page(q, 50, 100)?;
    Ok(ListRequest {
        query,
        sort_by,
        descending,
        page,
    })
}

/// `(total, the page)` in the requested order; ties by id in the same direction.
async fn run(state: &AppState, r: &ListRequest) -> PublicResult<(i64, Vec<MarketRecord>)> {
    let db = state.svc.db.reader();
    let total = public_markets::count(db, &r.query).await?;
    let mut rows = public_markets::page(
        db,
        &r.query,
        r.sort_by,
        r.descending,
        r.page.limit,
        r.page.offset,
    )
    .await?;
    if matches!(r.sort_by, SortBy::CurrentProbability | SortBy::Title) {
        let mut keyed: Vec<(MarketRecord, Micro, String)> = rows
            .into_iter()
            .map(|m| {
                let p = if r.sort_by == SortBy::CurrentProbability {
                    yes_micro(&m)
                } else {
                    Micro::ZERO
                };
                let t = m.title.to_lowercase();
                (m, p, t)
            })
            .collect();
        keyed.sort_by(|a, b| {
            let primary = if r.sort_by == SortBy::CurrentProbability {
                a.1.cmp(&b.1)
            } else {
                a.2.cmp(&b.2)
            };
            let ord = primary.then_with(|| a.0.id.cmp(&b.0.id));
            if r.descending {
                ord.reverse()
            } else {
                ord
            }
        });
        rows = keyed
            .into_iter()
            .map(|k| k.0)
            .skip(usize::try_from(r.page.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(r.page.limit).unwrap_or(0))
            .collect();
    }
    Ok((total, rows))
}

/// Markets across every active organization.
#[utoipa::path(get, path = "/api/markets", tag = "public",
    params(
        ("status" = Option<String>, Query, description = "active (default), resolved, cancelled, paused, refunded or all"),
        ("active" = Option<bool>, Query, description = "Overrides status: true → active, false → resolved"),
        ("resolvedAfter" = Option<i64>, Query, description = "Epoch seconds; resolved markets resolved at or after"),
        ("resolvedBefore" = Option<i64>, Query, description = "Epoch seconds; resolved markets resolved at or before"),
        ("category" = Option<String>, Query, description = "Exact category"),
        ("threadId" = Option<String>, Query, description = "Thread (alias thread_id)"),
        ("organizationId" = Option<String>, Query, description = "Organization"),
        ("partnerId" = Option<String>, Query, description = "Partner"),
        ("chapterId" = Option<String>, Query, description = "Chapter"),
        ("limit" = Option<i64>, Query, description = "1–100, default 50"),
        ("offset" = Option<i64>, Query, description = "≥ 0, default 0"),
        ("sortBy" = Option<String>, Query, description = "created_at (default), total_volume, current_probability, title, end_time"),
        ("sortOrder" = Option<String>, Query, description = "asc or desc (default)"),
    ),
    responses(
        (status = 200, description = "`{markets[], pagination, _meta{requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
    ))]
pub async fn list(State(state): State<AppState>, q: QueryParams) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let r = markets_request(&q, true, now_ms)?;
    let (total, rows) = run(&state, &r).await?;
    Ok(Json(json!({
        "markets": rows.iter().map(|m| market_view(m, now_ms)).collect::<Vec<_>>(),
        "pagination": Pagination::new(r.page, total, rows.len()),
        "_meta": { "requestedAt": params::iso(now) },
    })))
}

/// An organization's markets.
#[utoipa::path(get, path = "/api/organizations/{id}/markets", tag = "public",
    params(
        ("id" = String, Path, description = "Organization id or slug"),
        ("status" = Option<String>, Query, description = "As /api/markets"),
        ("limit" = Option<i64>, Query, description = "1–100, default 50"),
        ("offset" = Option<i64>, Query, description = "≥ 0"),
        ("sortBy" = Option<String>, Query, description = "As /api/markets"),
        ("sortOrder" = Option<String>, Query, description = "asc or desc (default)"),
    ),
    responses(
        (status = 200, description = "`{markets[], pagination, _meta{organizationId, requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "NOT_FOUND"),
    ))]
pub async fn organization_markets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let mut r = markets_request(&q, false, now_ms)?;
    let org = visible_org(&state, &id)
        .await?
        .ok_or_else(|| PublicError::not_found("no such organization"))?;
    r.query.org_id = Some(org.id.clone());
    let (total, rows) = run(&state, &r).await?;
    Ok(Json(json!({
        "markets": rows.iter().map(|m| market_view(m, now_ms)).collect::<Vec<_>>(),
        "pagination": Pagination::new(r.page, total, rows.len()),
        "_meta": { "organizationId": org.id, "requestedAt": params::iso(now) },
    })))
}

/// A thread's markets.
#[utoipa::path(get, path = "/api/threads/{id}/markets", tag = "public",
    params(
        ("id" = String, Path, description = "Thread id"),
        ("status" = Option<String>, Query, description = "active, resolved, cancelled or paused (none: all)"),
        ("limit" = Option<i64>, Query, description = "1–100, default 20"),
        ("offset" = Option<i64>, Query, description = "≥ 0"),
        ("sortBy" = Option<String>, Query, description = "created_at (default), total_volume, current_probability, title"),
        ("sortOrder" = Option<String>, Query, description = "asc or desc (default)"),
    ),
    responses(
        (status = 200, description = "`{markets[], pagination, _meta{threadId, requestedAt}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "THREAD_NOT_FOUND"),
    ))]
pub async fn thread_markets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let phases = match q.get("status").map(str::trim).filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(_) => match params::choice(
            &q,
            "status",
            &["active", "resolved", "cancelled", "paused"],
            "active",
        )? {
            "resolved" => vec![Phase::Resolved],
            "cancelled" => vec![Phase::Cancelled],
            "paused" => vec![Phase::Frozen],
            _ => vec![Phase::Active],
        },
    };
    let sort_by = sort_by(
        &q,
        &["created_at", "total_volume", "current_probability", "title"],
    )?;
    let descending = params::descending(&q)?;
    let page = params::page(&q, 20, 100)?;
    let thread = visible_thread(&state, &id)
        .await?
        .ok_or_else(PublicError::thread_not_found)?;
    let r = ListRequest {
        query: MarketQuery {
            thread_id: Some(thread.id.clone()),
            phases,
            now_ms,
            ..MarketQuery::default()
        },
        sort_by,
        descending,
        page,
    };
    let (total, rows) = run(&state, &r).await?;
    Ok(Json(json!({
        "markets": rows.iter().map(|m| thread_market_view(m, now_ms)).collect::<Vec<_>>(),
        "pagination": Pagination::new(page, total, rows.len()),
        "_meta": { "threadId": thread.id, "requestedAt": params::iso(now) },
    })))
}

/// The markets `GET /api/threads/{id}?includeMarkets=true` carries: the newest
/// [`THREAD_INCLUDED_MARKETS`], thread-market objects.
pub async fn included_markets(
    state: &AppState,
    thread_id: &str,
    now_ms: i64,
) -> PublicResult<Vec<Value>> {
    let query = MarketQuery {
        thread_id: Some(thread_id.to_string()),
        now_ms,
        ..MarketQuery::default()
    };
    let rows = public_markets::page(
        state.svc.db.reader(),
        &query,
        SortBy::CreatedAt,
        true,
        THREAD_INCLUDED_MARKETS,
        0,
    )
    .await?;
    Ok(rows.iter().map(|m| thread_market_view(m, now_ms)).collect())
}

/// A thread's chapters: the groups of its markets sharing a `chapterId`.
#[utoipa::path(get, path = "/api/threads/{id}/chapters", tag = "public",
    params(("id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, description = "`{chapters[{chapterId, title, position, total, marketCount}], _meta{threadId, requestedAt}}`"),
        (status = 404, description = "NOT_FOUND"),
    ))]
pub async fn thread_chapters(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let thread = visible_thread(&state, &id)
        .await?
        .ok_or_else(|| PublicError::not_found("no such thread"))?;
    let rows = public_markets::chapters(state.svc.db.reader(), &thread.id).await?;
    // First market of each chapter first: it gives the title, position and total.
    struct Chapter {
        id: String,
        title: Option<String>,
        position: Option<i64>,
        total: Option<i64>,
        count: i64,
    }
    let mut chapters: Vec<Chapter> = Vec::new();
    for (id, title, position, total) in rows {
        match chapters.iter_mut().find(|c| c.id == id) {
            Some(c) => c.count += 1,
            None => chapters.push(Chapter {
                id,
                title,
                position,
                total,
                count: 1,
            }),
        }
    }
    // By position (chapters without one last), then id.
    chapters.sort_by(|a, b| match (a.position, b.position) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.id.cmp(&b.id)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.id.cmp(&b.id),
    });
    let items: Vec<Value> = chapters
        .into_iter()
        .map(|c| {
            json!({
                "chapterId": c.id,
                "title": c.title,
                "position": c.position,
                "total": c.total,
                "marketCount": c.count,
            })
        })
        .collect();
    Ok(Json(json!({
        "chapters": items,
        "_meta": { "threadId": thread.id, "requestedAt": params::iso(now) },
    })))
}

/// The operator's featured markets (ACTIVE only, by volume); if none is flagged, the
/// [`FEATURED_FALLBACK`] highest-volume ACTIVE markets.
#[utoipa::path(get, path = "/api/markets/featured", tag = "public",
    responses((status = 200, description = "`{markets[] (+featured: true), _meta{count}}`")))]
pub async fn featured(State(state): State<AppState>) -> PublicResult<Json<Value>> {
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let db = state.svc.db.reader();
    let mut rows = public_markets::featured(db, now_ms, true, FEATURED_MAX).await?;
    if rows.is_empty() {
        rows = public_markets::featured(db, now_ms, false, FEATURED_FALLBACK).await?;
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|m| {
            let mut v = market_view(m, now_ms);
            v["featured"] = json!(true);
            v
        })
        .collect();
    Ok(Json(json!({
        "markets": items,
        "_meta": { "count": rows.len(), "requestedAt": params::iso(now) },
    })))
}

/// A visible market by path id (malformed → unknown).
async fn visible_market(state: &AppState, id: &str) -> PublicResult<Option<MarketRecord>> {
    let Some(uuid) = parse_uuid(id) else {
        return Ok(None);
    };
    Ok(public_markets::get(state.svc.db.reader(), &id_text(&uuid)).await?)
}

/// One snapshot of the price history: `(time ms, outcome 0 probability, cumulative atomic
/// volume)`.
type Snapshot = (i64, Micro, i64);

/// Replays the market's completed trades from genesis with the market-maker functions the
/// trades executed, so every snapshot carries outcome 0's exact probability after that trade.
/// Newest first, at most [`PRICE_HISTORY_LEN`]. `None` when the replay cannot be done (logged).
fn price_history(m: &MarketRecord, trades: &[PublicTrade]) -> Option<Vec<Snapshot>> {
    let fail = |what: &str| {
        tracing::error!(market_id = %m.id, what, "price history replay failed");
    };
    let n = usize::try_from(m.outcome_count).ok()?;
    let seed = Usdc::from_atomic(u64::try_from(m.seed_atomic).ok()?);
    let fee = u32::try_from(m.fee_bps).ok()?;
    let sell_fee = u32::try_from(m.sell_fee_bps).ok()?;
    let mut st = match amm::genesis(n, seed, fee, sell_fee) {
        Ok(s) => s,
        Err(_) => {
            fail("genesis");
            return None;
        }
    };
    let p0 = |s: &amm::MarketState| {
        amm::derive(s)
            .ok()
            .and_then(|d| d.probabilities.first().copied())
            .and_then(Micro::from_wad)
    };
    let mut out = vec![(m.created_at, p0(&st)?, 0i64)];
    let mut volume = 0i64;
    for t in trades {
        let k = usize::try_from(t.outcome_index).ok()?;
        let next = if t.side == "buy" {
            let g = Usdc::from_atomic(u64::try_from(t.measure_atomic).ok()?);
            amm::buy(&st, k, g).map(|r| r.state_after)
        } else {
            let tokens = t.tokens_in.as_deref()?.parse::<U256>().ok()?;
            amm::sell(&st, k, tokens).map(|r| r.state_after)
        };
        match next {
            Ok(s) => st = s,
            Err(_) => {
                fail("trade");
                return None;
            }
        }
        volume = volume.saturating_add(t.measure_atomic);
        out.push((t.completed_at.unwrap_or(m.created_at), p0(&st)?, volume));
    }
    out.reverse();
    out.truncate(PRICE_HISTORY_LEN);
    Some(out)
}

fn trade_view(m: &MarketRecord, labels: &[String], t: &PublicTrade) -> Value {
    let side = if m.outcome_count == 2 {
        if t.outcome_index == 0 {
            "YES".to_string()
        } else {
            "NO".to_string()
        }
    } else {
        usize::try_from(t.outcome_index)
            .ok()
            .and_then(|i| labels.get(i).cloned())
            .unwrap_or_default()
    };
    json!({
        "id": t.id,
        "side": side,
        "outcomeIndex": t.outcome_index,
        "action": t.side,
        "amount": cents(t.measure_atomic),
        "price": t
            .probability_after_micro
            .and_then(|p| u64::try_from(p).ok())
            .map(|p| prob(Micro::new(p))),
        "timestamp": params::iso_ms(t.completed_at.unwrap_or(m.created_at)),
    })
}

/// One market, optionally with its price history and recent trades.
#[utoipa::path(get, path = "/api/markets/{id}", tag = "public",
    params(
        ("id" = String, Path, description = "Market id"),
        ("history" = Option<bool>, Query, description = "Include priceHistory[] (default false)"),
        ("trades" = Option<bool>, Query, description = "Include recentTrades[] (default false)"),
        ("trades_limit" = Option<i64>, Query, description = "1–100, default 20"),
    ),
    responses(
        (status = 200, description = "`{market, priceHistory[]?, recentTrades[]?, _meta{requestedAt, includes}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "MARKET_NOT_FOUND"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let history = params::boolean(&q, "history", false)?;
    let with_trades = params::boolean(&q, "trades", false)?;
    let trades_limit = params::int(&q, "trades_limit", 20, 1, 100)?;
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let m = visible_market(&state, &id)
        .await?
        .ok_or_else(PublicError::market_not_found)?;
    let db = state.svc.db.reader();
    let mut market = market_view(&m, now_ms);
    let mut body = json!({});
    if history {
        let trades = public_markets::trades_in_order(db, &m.id).await?;
        let snaps = price_history(&m, &trades).unwrap_or_default();
        body["priceHistory"] = snaps
            .iter()
            .map(|(at, p, vol)| {
                json!({
                    "timestamp": params::iso_ms(*at),
                    "price": prob(*p),
                    "probability": prob(*p),
                    "volume": cents(*vol),
                })
            })
            .collect();
        market["priceHistory"] = snaps
            .iter()
            .map(|(at, p, _)| json!({ "timestamp": at, "probability": prob(*p) }))
            .collect();
    }
    let mut trades_count = 0;
    if with_trades {
        let labels = m.labels();
        let recent = public_markets::recent_trades(db, &m.id, trades_limit).await?;
        trades_count = recent.len();
        body["recentTrades"] = recent.iter().map(|t| trade_view(&m, &labels, t)).collect();
    }
    body["market"] = market;
    body["_meta"] = json!({
        "requestedAt": params::iso(now),
        "includes": { "history": history, "trades": with_trades, "tradesCount": trades_count },
    });
    Ok(Json(body))
}

/// The quote route's error: Kash's `error` values (`ValidationError`, `NotFoundError`) with
/// the `/api` codes.
fn quote_error(status: u16, error: &'static str, code: &'static str, message: String) -> Response {
    let status =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    (
        status,
        Json(json!({ "error": error, "message": message, "code": code })),
    )
        .into_response()
}

/// Exactly the `/v1` quote (same computation, same body), anonymous.
#[utoipa::path(get, path = "/api/markets/{id}/quote", tag = "public",
    params(
        ("id" = String, Path, description = "Market id"),
        ("outcomeIndex" = u32, Query, description = "Outcome, 0..n−1"),
        ("action" = String, Query, description = "buy or sell"),
        ("amount" = String, Query, description = "Atomic USDC for buys, WAD tokens for sells"),
    ),
    responses(
        (status = 200, description = "`{quote, market, units, _meta}` as `/v1`"),
        (status = 400, description = "ValidationError / INVALID_REQUEST"),
        (status = 404, description = "NotFoundError / MARKET_NOT_FOUND"),
        (status = 409, description = "ValidationError / MARKET_NOT_TRADEABLE"),
    ))]
pub async fn quote(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Response> {
    let Some(m) = visible_market(&state, &id).await? else {
        return Ok(quote_error(
            404,
            "NotFoundError",
            "MARKET_NOT_FOUND",
            "no such market".into(),
        ));
    };
    match quotes::compute(&state, &m, &q) {
        Ok(result) => Ok(quotes::respond(result, &ctx)),
        Err(p) => {
            let message = if p.issues.is_empty() {
                p.detail.clone()
            } else {
                p.issues
                    .iter()
                    .map(|i| format!("{} {}", i.path, i.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let status = p.code.status();
            Ok(match status {
                404 => quote_error(404, "NotFoundError", "MARKET_NOT_FOUND", message),
                400 => quote_error(400, "ValidationError", "INVALID_REQUEST", message),
                s if (400..500).contains(&s) => {
                    quote_error(s, "ValidationError", p.code.as_str(), message)
                }
                _ => PublicError::from_problem(p.code, &p.detail).into_response(),
            })
        }
    }
}
