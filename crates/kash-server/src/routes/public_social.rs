//! Trending markets and tweet links of the public Embed API (§4): `GET /api/markets/trending`,
//! `GET /api/markets/{id}/twitter-link`, `POST /api/twitter-links` and
//! `GET /api/threads/{id}/twitter-links`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use kash_core::ids::{id_text, parse_uuid};
use kash_core::money::Usdc;
use kash_store::markets::MarketRecord;
use kash_store::public_markets::{self, MarketQuery, Phase, SortBy, WindowStats};
use ruint::aliases::U256;
use serde_json::{json, Value};

use super::public_markets::market_view;
use super::public_threads::{cents, visible_thread};
use crate::http::query::QueryParams;
use crate::public_api::error::PublicResult;
use crate::public_api::params;
use crate::public_api::PublicError;
use crate::state::AppState;

/// Items of one `POST /api/twitter-links`.
pub const MAX_BATCH: usize = 50;
/// Markets of one thread's link list at most.
pub const MAX_THREAD_LINKS: i64 = 1000;

// ---------------------------------------------------------------------------------------
// Trending

/// `100·(0.5·v/vMax + 0.3·t/tMax + 0.2·u/uMax)` as an exact fraction `num / den` (all
/// candidates share `den`), so ranking compares integers.
/// In 256 bits: every product of three 63-bit counts fits, so nothing can overflow.
fn score_numerator(s: &WindowStats, v_max: U256, t_max: U256, u_max: U256) -> U256 {
    let (v, t, u) = (wide(s.volume), wide(s.trades), wide(s.traders));
    U256::from(5u8) * v * t_max * u_max
        + U256::from(3u8) * t * v_max * u_max
        + U256::from(2u8) * u * v_max * t_max
}

/// A count as a 256-bit integer (negative counts cannot occur; they count as 0).
fn wide(x: i64) -> U256 {
    U256::from(u64::try_from(x).unwrap_or(0))
}

/// Markets with the most activity over the window (*ours*, deterministic).
#[utoipa::path(get, path = "/api/markets/trending", tag = "public",
    params(
        ("timeframe" = Option<String>, Query, description = "1h, 24h (default) or 7d"),
        ("limit" = Option<i64>, Query, description = "1–200, default 50"),
        ("category" = Option<String>, Query, description = "Exact category"),
    ),
    responses(
        (status = 200, description = "`{markets[] (+trendingScore, trendingRank, recentMetrics), timeframe{trending}}`"),
        (status = 400, description = "INVALID_REQUEST"),
    ))]
pub async fn trending(State(state): State<AppState>, q: QueryParams) -> PublicResult<Json<Value>> {
    let timeframe = params::choice(&q, "timeframe", &["1h", "24h", "7d"], "24h")?;
    let limit = params::int(&q, "limit", 50, 1, 200)?;
    let category = params::text(&q, "category", 50)?.map(|c| c.to_lowercase());
    let now_ms = state.svc.now_ms();
    let window_ms: i64 = match timeframe {
        "1h" => 3_600_000,
        "7d" => 7 * 86_400_000,
        _ => 86_400_000,
    };
    let db = state.svc.db.reader();
    let stats = public_markets::window_stats(db, now_ms - window_ms, category.as_deref()).await?;
    let max = |f: fn(&WindowStats) -> i64| wide(stats.iter().map(f).max().unwrap_or(0).max(1));
    let (v_max, t_max, u_max) = (max(|s| s.volume), max(|s| s.trades), max(|s| s.traders));
    let den = U256::from(10u8) * v_max * t_max * u_max;
    let mut ranked: Vec<(U256, &WindowStats)> = stats
        .iter()
        .map(|s| (score_numerator(s, v_max, t_max, u_max), s))
        .collect();
    // Unrounded score, then volume, then id (all descending).
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| b.1.volume.cmp(&a.1.volume))
            .then_with(|| b.1.market_id.cmp(&a.1.market_id))
    });
    ranked.truncate(usize::try_from(limit).unwrap_or(0));
    let ids: Vec<String> = ranked.iter().map(|r| r.1.market_id.clone()).collect();
    let records: HashMap<String, MarketRecord> = public_markets::by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let mut items = Vec::new();
    for (num, s) in &ranked {
        let Some(m) = records.get(&s.market_id) else {
            continue;
        };
        // score = 100·num/den, so score·10 = 1000·num/den; rounded half up to tenths.
        let tenths = (U256::from(2000u16) * *num + den) / (U256::from(2u8) * den);
        let tenths = u64::try_from(tenths).unwrap_or(1000);
        let mut v = market_view(m, now_ms);
        v["trendingScore"] = json!(tenths as f64 / 10.0);
        v["trendingRank"] = json!(items.len() + 1);
        v["recentMetrics"] = json!({
            "tradeCount": s.trades,
            "volume": cents(s.volume),
            "uniqueTraders": s.traders,
        });
        items.push(v);
    }
    Ok(Json(json!({
        "markets": items,
        "timeframe": { "trending": timeframe },
    })))
}

// ---------------------------------------------------------------------------------------
// Tweet links

/// Percent-encodes everything but the unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A dollar amount in 1–10000, at most 6 decimals; printed without trailing zeros.
fn parse_amount(text: &str) -> Option<Usdc> {
    let a = Usdc::parse_human(text.trim()).ok()?;
    let (min, max) = (
        Usdc::from_atomic(1_000_000),
        Usdc::from_atomic(10_000_000_000),
    );
    (a >= min && a <= max).then_some(a)
}

const AMOUNT_BOUND: &str = "amount must be a number between 1 and 10000";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Yes,
    No,
}

impl Side {
    fn parse(text: &str) -> Option<Side> {
        match text.trim().to_ascii_lowercase().as_str() {
            "yes" => Some(Side::Yes),
            "no" => Some(Side::No),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Side::Yes => "Yes",
            Side::No => "No",
        }
    }

    fn lower(self) -> &'static str {
        match self {
            Side::Yes => "yes",
            Side::No => "no",
        }
    }
}

fn invalid_side(message: impl Into<String>) -> PublicError {
    PublicError {
        status: 400,
        error: "Invalid side",
        message: message.into(),
        code: "INVALID_SIDE",
        retry_after: None,
    }
}

/// `(tweetContent, twitterUrl)`.
fn tweet(state: &AppState, m: &MarketRecord, side: Side, amount: Usdc) -> (String, String) {
    let url = m.source_tweet_url.clone().unwrap_or_else(|| {
        format!(
            "{}/markets/{}",
            state.svc.settings.public_url.trim_end_matches('/'),
            m.id
        )
    });
    let content = format!(
        "@{} ${} on {} {url}",
        state.svc.settings.x_bot_handle,
        amount.to_human_string(),
        side.word()
    );
    let link = format!(
        "https://twitter.com/intent/tweet?text={}",
        percent_encode(&content)
    );
    (content, link)
}

async fn visible_market(state: &AppState, id: &str) -> PublicResult<Option<MarketRecord>> {
    let Some(uuid) = parse_uuid(id) else {
        return Ok(None);
    };
    Ok(public_markets::get(state.svc.db.reader(), &id_text(&uuid)).await?)
}

/// One market's tweet link.
#[utoipa::path(get, path = "/api/markets/{id}/twitter-link", tag = "public",
    params(
        ("id" = String, Path, description = "Market id"),
        ("side" = String, Query, description = "yes or no"),
        ("amount" = String, Query, description = "USD, 1–10000"),
    ),
    responses(
        (status = 200, description = "`{twitterUrl, tweetContent, market{id, question, sourceTweetUrl}}`"),
        (status = 400, description = "INVALID_SIDE, INVALID_REQUEST"),
        (status = 404, description = "MARKET_NOT_FOUND"),
    ))]
pub async fn market_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let side = match q.get("side").map(str::trim).filter(|s| !s.is_empty()) {
        None => return Err(invalid_side("side is required (yes or no)")),
        Some(s) => Side::parse(s).ok_or_else(|| invalid_side("side must be one of yes, no"))?,
    };
    let amount = q
        .get("amount")
        .and_then(parse_amount)
        .ok_or_else(|| PublicError::invalid(AMOUNT_BOUND))?;
    let m = visible_market(&state, &id)
        .await?
        .ok_or_else(PublicError::market_not_found)?;
    if m.outcome_count != 2 {
        return Err(invalid_side(
            "tweet links need a yes/no market: this market has more than two outcomes",
        ));
    }
    let (content, link) = tweet(&state, &m, side, amount);
    Ok(Json(json!({
        "twitterUrl": link,
        "tweetContent": content,
        "market": { "id": m.id, "question": m.title, "sourceTweetUrl": m.source_tweet_url },
    })))
}

/// Links for several markets; per-item failures go to `errors`.
#[utoipa::path(post, path = "/api/twitter-links", tag = "public",
    request_body(content = String, description = "`{markets: [{marketId, side, amount}]}`, 1–50 items", content_type = "application/json"),
    responses(
        (status = 200, description = "`{links[], errors[], _meta{requestedAt, totalRequested, totalGenerated, totalErrors}}`"),
        (status = 400, description = "INVALID_REQUEST"),
    ))]
pub async fn batch_links(State(state): State<AppState>, body: Bytes) -> PublicResult<Json<Value>> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|_| PublicError::invalid("the body must be a JSON object"))?;
    let items = body
        .get("markets")
        .and_then(Value::as_array)
        .ok_or_else(|| PublicError::invalid("markets must be a list of 1 to 50 items"))?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(PublicError::invalid(
            "markets must be a list of 1 to 50 items",
        ));
    }
    let now = state.svc.now();
    let mut links = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        let market_id = item.get("marketId").cloned().unwrap_or(Value::Null);
        let mut fail = |error: &str| {
            errors.push(json!({ "marketId": market_id.clone(), "error": error }));
        };
        let Some(id) = item.get("marketId").and_then(Value::as_str) else {
            fail("marketId must be a string");
            continue;
        };
        let Some(side) = item
            .get("side")
            .and_then(Value::as_str)
            .and_then(Side::parse)
        else {
            fail("side must be one of yes, no");
            continue;
        };
        let amount = match item.get("amount") {
            Some(Value::Number(n)) => parse_amount(&n.to_string()),
            Some(Value::String(s)) => parse_amount(s),
            _ => None,
        };
        let Some(amount) = amount else {
            fail(AMOUNT_BOUND);
            continue;
        };
        let Some(m) = visible_market(&state, id).await? else {
            fail("market not found");
            continue;
        };
        if m.outcome_count != 2 {
            fail("tweet links need a yes/no market: this market has more than two outcomes");
            continue;
        }
        let (content, link) = tweet(&state, &m, side, amount);
        links.push(json!({
            "marketId": m.id,
            "question": m.title,
            "sourceTweetUrl": m.source_tweet_url,
            "twitterUrl": link,
            "tweetContent": content,
            "side": side.lower(),
            "amount": json!(amount_number(amount)),
        }));
    }
    Ok(Json(json!({
        "_meta": {
            "requestedAt": params::iso(now),
            "totalRequested": items.len(),
            "totalGenerated": links.len(),
            "totalErrors": errors.len(),
        },
        "links": links,
        "errors": errors,
    })))
}

/// The amount as a JSON number (its human text, at most 6 decimals).
fn amount_number(a: Usdc) -> Value {
    a.to_human_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Yes and no links for every active binary market of a thread.
#[utoipa::path(get, path = "/api/threads/{id}/twitter-links", tag = "public",
    params(
        ("id" = String, Path, description = "Thread id"),
        ("amount" = Option<String>, Query, description = "USD, 1–10000, default 10"),
    ),
    responses(
        (status = 200, description = "`{thread{id,title,description}, markets[], _meta{requestedAt, amount, totalMarkets}}`"),
        (status = 400, description = "INVALID_REQUEST"),
        (status = 404, description = "THREAD_NOT_FOUND"),
    ))]
pub async fn thread_links(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryParams,
) -> PublicResult<Json<Value>> {
    let amount = match q.get("amount").map(str::trim).filter(|a| !a.is_empty()) {
        None => Usdc::from_atomic(10_000_000),
        Some(a) => parse_amount(a).ok_or_else(|| PublicError::invalid(AMOUNT_BOUND))?,
    };
    let now = state.svc.now();
    let now_ms = now.timestamp_millis();
    let thread = visible_thread(&state, &id)
        .await?
        .ok_or_else(PublicError::thread_not_found)?;
    let query = MarketQuery {
        thread_id: Some(thread.id.clone()),
        phases: vec![Phase::Active],
        now_ms,
        ..MarketQuery::default()
    };
    let rows = public_markets::page(
        state.svc.db.reader(),
        &query,
        SortBy::CreatedAt,
        true,
        MAX_THREAD_LINKS,
        0,
    )
    .await?;
    let items: Vec<Value> = rows
        .iter()
        .filter(|m| m.outcome_count == 2)
        .map(|m| {
            let (yes_content, yes_link) = tweet(&state, m, Side::Yes, amount);
            let (no_content, no_link) = tweet(&state, m, Side::No, amount);
            json!({
                "marketId": m.id,
                "question": m.title,
                "sourceTweetUrl": m.source_tweet_url,
                "yesLink": yes_link,
                "noLink": no_link,
                "yesTweetContent": yes_content,
                "noTweetContent": no_content,
            })
        })
        .collect();
    Ok(Json(json!({
        "thread": { "id": thread.id, "title": thread.title, "description": thread.description },
        "_meta": {
            "requestedAt": params::iso(now),
            "amount": amount_number(amount),
            "totalMarkets": items.len(),
        },
        "markets": items,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_encoding() {
        assert_eq!(
            parse_amount("25").map(|a| a.to_human_string()).as_deref(),
            Some("25")
        );
        assert_eq!(
            parse_amount("12.50")
                .map(|a| a.to_human_string())
                .as_deref(),
            Some("12.5")
        );
        for bad in ["0", "0.99", "10000.01", "-1", "x", "", "1e3"] {
            assert!(parse_amount(bad).is_none(), "{bad}");
        }
        assert!(parse_amount("10000").is_some() && parse_amount("1").is_some());
        assert_eq!(
            percent_encode("@a $1 on Yes https://x.com/a?b=c"),
            "%40a%20%241%20on%20Yes%20https%3A%2F%2Fx.com%2Fa%3Fb%3Dc"
        );
    }
}
