//! `GET /v1/organizations/me/analytics` (`organizations-embeds-portal.md` §3 "Daily org
//! analytics", "Programmatic access"): trade and embed figures of the calling organization's
//! markets per UTC day, market or partner. Org-scoped keys only; a user's key is told the
//! resource does not exist (404 `RESOURCE_NOT_FOUND`).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use kash_core::owner::Owner;
use kash_core::{Issue, Problem};
use kash_store::embeds::{self, GroupBy};
use kash_store::org_analytics::{self as store, Group, DAY_MS};
use kash_store::orgs::{self, OrgRecord};
use serde::Serialize;
use utoipa::ToSchema;

use super::organizations::date_range;
use crate::http::envelope::{Ctx, Data};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::query::QueryParams;
use crate::state::AppState;

/// Figures of one group, or of the whole range.
#[derive(Serialize, ToSchema, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsFigures {
    /// Atomic USDC (string) of completed trades: buy amounts plus sell payouts.
    pub volume: String,
    pub trades: i64,
    /// Distinct traders within the group (the totals: within the whole range).
    pub unique_traders: i64,
    /// Markets ACTIVE at any time in the group's span.
    pub active_markets: i64,
    /// Traders whose first completed trade anywhere was in one of these markets.
    pub new_users: i64,
    pub renders: i64,
    pub clicks: i64,
    /// Distinct viewers of each day, summed over the days.
    pub unique_viewers: i64,
}

/// One row: the group's key and its figures.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsRow {
    /// `groupBy=day`: `YYYY-MM-DD` (every day of the range, zeros included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `groupBy=market`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market_id: Option<String>,
    /// `groupBy=partner`: the partner, null for markets without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<Option<String>>,
    #[serde(flatten)]
    pub figures: AnalyticsFigures,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsReport {
    pub from: String,
    pub to: String,
    /// `day`, `market` or `partner`.
    pub group_by: String,
    pub totals: AnalyticsFigures,
    pub rows: Vec<AnalyticsRow>,
}

#[derive(Default, Clone, Copy)]
struct Acc {
    volume: i64,
    trades: i64,
    unique_traders: i64,
    active_markets: i64,
    new_users: i64,
    renders: i64,
    clicks: i64,
    unique_viewers: i64,
}

impl Acc {
    fn figures(self) -> AnalyticsFigures {
        AnalyticsFigures {
            volume: self.volume.max(0).to_string(),
            trades: self.trades,
            unique_traders: self.unique_traders,
            active_markets: self.active_markets,
            new_users: self.new_users,
            renders: self.renders,
            clicks: self.clicks,
            unique_viewers: self.unique_viewers,
        }
    }
}

async fn caller_org(state: &AppState, ctx: &Ctx) -> ApiResult<OrgRecord> {
    let Owner::Org(org_id) = &ctx.caller()?.key.owner else {
        return Err(
            Problem::not_found("organization routes answer only organization-scoped keys").into(),
        );
    };
    orgs::get(state.svc.db.reader(), org_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("key owner organization {org_id} is missing")))
}

fn day_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A day number (Unix ms / 86 400 000) as `YYYY-MM-DD`.
fn day_of_number(n: &str) -> Option<String> {
    let n: i64 = n.parse().ok()?;
    chrono::DateTime::from_timestamp_millis(n.checked_mul(DAY_MS)?)
        .map(|t| day_text(t.date_naive()))
}

/// Trade and embed figures of the organization's markets.
#[utoipa::path(get, path = "/v1/organizations/me/analytics", tag = "organizations",
    security(("ApiKey" = [])),
    params(
        ("from" = Option<String>, Query, description = "First UTC day, YYYY-MM-DD (default: 29 days before `to`)"),
        ("to" = Option<String>, Query, description = "Last UTC day, YYYY-MM-DD (default: today); at most 366 days in all"),
        ("groupBy" = Option<String>, Query, description = "day (default), market or partner"),
    ),
    responses(
        (status = 200, description = "`{data: {from, to, groupBy, totals, rows[]}, _meta}`", body = AnalyticsReport),
        (status = 400, description = "VALIDATION_FAILED", body = crate::openapi::ProblemSchema),
        (status = 404, description = "RESOURCE_NOT_FOUND for a user's key", body = crate::openapi::ProblemSchema),
    ))]
pub async fn analytics(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<Data<AnalyticsReport>>> {
    let org = caller_org(&state, &ctx).await?;
    let mut issues = Vec::new();
    let group = match q.get("groupBy").map(str::trim).filter(|v| !v.is_empty()) {
        None | Some("day") => Some(Group::Day),
        Some("market") => Some(Group::Market),
        Some("partner") => Some(Group::Partner),
        Some(_) => {
            issues.push(Issue::new("groupBy", "must be day, market or partner"));
            None
        }
    };
    let range = date_range(&q, ctx.now.date_naive(), &mut issues);
    let (Some(group), Some((from, to))) = (group, range) else {
        return Err(Problem::validation(issues).into());
    };
    // Embed counts still in this instance's memory are written first.
    state.embeds.flush(&state.svc.db).await?;
    let db = state.svc.db.reader();
    let (from_ms, to_ms) = (day_ms(from), day_ms(to) + DAY_MS);
    let (from_s, to_s) = (day_text(from), day_text(to));

    let mut rows: BTreeMap<String, Acc> = BTreeMap::new();
    for t in store::trades(db, &org.id, from_ms, to_ms, group).await? {
        let a = rows.entry(t.k).or_default();
        a.volume = t.volume;
        a.trades = t.trades;
        a.unique_traders = t.unique_traders;
    }
    for n in store::new_users(db, &org.id, from_ms, to_ms, group).await? {
        rows.entry(n.k).or_default().new_users = n.n;
    }
    let spans = store::active_spans(db, &org.id, from_ms, to_ms).await?;
    match group {
        Group::Day => {
            let mut day = from;
            while day <= to {
                let start = day_ms(day);
                let end = start + DAY_MS;
                let n = spans
                    .iter()
                    .filter(|s| s.created_at < end && s.ended_at.is_none_or(|e| e >= start))
                    .count() as i64;
                let key = (start / DAY_MS).to_string();
                rows.entry(key).or_default().active_markets = n;
                day += chrono::Duration::days(1);
            }
            let counts = embeds::counters(db, &org.id, &from_s, &to_s, GroupBy::Day).await?;
            let viewers = embeds::unique_viewers(db, &org.id, &from_s, &to_s, GroupBy::Day).await?;
            let number = |d: &str| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .ok()
                    .map(|d| (day_ms(d) / DAY_MS).to_string())
            };
            for c in counts {
                if let Some(k) = number(&c.k1) {
                    let a = rows.entry(k).or_default();
                    a.renders += c.renders;
                    a.clicks += c.clicks;
                }
            }
            for v in viewers {
                if let Some(k) = number(&v.k1) {
                    rows.entry(k).or_default().unique_viewers += v.viewers;
                }
            }
        }
        Group::Market | Group::Partner => {
            let mut per: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
            for s in &spans {
                let k = match group {
                    Group::Market => s.id.clone(),
                    _ => s.partner_id.clone().unwrap_or_default(),
                };
                per.entry(k).or_default().insert(&s.id);
            }
            for (k, ids) in per {
                rows.entry(k).or_default().active_markets = ids.len() as i64;
            }
            for e in store::market_embeds(db, &org.id, &from_s, &to_s, group).await? {
                let a = rows.entry(e.k).or_default();
                a.renders += e.renders;
                a.clicks += e.clicks;
                a.unique_viewers += e.viewers;
            }
        }
        Group::All => {}
    }

    // Totals over the whole range: distinct traders and markets across it; all embeds.
    let mut totals = Acc::default();
    if let Some(t) = store::trades(db, &org.id, from_ms, to_ms, Group::All)
        .await?
        .into_iter()
        .next()
    {
        totals.volume = t.volume;
        totals.trades = t.trades;
        totals.unique_traders = t.unique_traders;
    }
    totals.new_users = store::new_users(db, &org.id, from_ms, to_ms, Group::All)
        .await?
        .into_iter()
        .map(|n| n.n)
        .sum();
    totals.active_markets = spans.len() as i64;
    for c in embeds::counters(db, &org.id, &from_s, &to_s, GroupBy::Day).await? {
        totals.renders += c.renders;
        totals.clicks += c.clicks;
    }
    totals.unique_viewers = embeds::total_unique_viewers(db, &org.id, &from_s, &to_s).await?;

    let mut out: Vec<AnalyticsRow> = Vec::with_capacity(rows.len());
    for (k, a) in rows {
        let mut row = AnalyticsRow {
            date: None,
            market_id: None,
            partner_id: None,
            figures: a.figures(),
        };
        match group {
            Group::Day => row.date = day_of_number(&k),
            Group::Market => row.market_id = Some(k),
            Group::Partner => row.partner_id = Some(Some(k).filter(|k| !k.is_empty())),
            Group::All => {}
        }
        out.push(row);
    }
    Ok(Json(Data {
        data: AnalyticsReport {
            from: from_s,
            to: to_s,
            group_by: match group {
                Group::Day => "day",
                Group::Market => "market",
                Group::Partner => "partner",
                Group::All => "all",
            }
            .to_string(),
            totals: totals.figures(),
            rows: out,
        },
        meta: ctx.meta(),
    }))
}
