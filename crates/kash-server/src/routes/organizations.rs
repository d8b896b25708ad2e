//! Programmatic organization data for org-scoped keys (`organizations-embeds-portal.md` §3):
//! `GET /v1/organizations/me`, `/embeds`, `/earnings` and `/revenue-events`. A user's key is
//! told the resource does not exist (404 `RESOURCE_NOT_FOUND`), as `/v1` answers for anything
//! not the caller's.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use kash_core::owner::Owner;
use kash_core::revenue::Brackets;
use kash_core::time::{from_unix_ms, rfc3339_ms};
use kash_core::{Issue, Problem};
use kash_store::embeds::{self, GroupBy};
use kash_store::orgs::{self, OrgRecord};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::cursor;
use crate::http::envelope::{Ctx, Data, List, Pagination, Single};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::query::QueryParams;
use crate::state::AppState;

/// Longest `from`–`to` span, in days (inclusive).
pub const MAX_RANGE_DAYS: i64 = 366;
/// Days covered when `from` is not given.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueBracketView {
    /// 30-day volume (USDC, decimal string) from which the rate applies.
    pub threshold_usdc: String,
    pub bps: u32,
}

/// The calling organization.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub display_name: Option<String>,
    pub tagline: Option<String>,
    pub color_primary: Option<String>,
    pub logo_url: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    pub contact_email: Option<String>,
    pub revenue_share_bps: i64,
    /// Volume brackets, when the operator set them (else the flat rate applies).
    pub revenue_brackets: Option<Vec<RevenueBracketView>>,
    /// Origins allowed to frame the organization's embeds; null = any site.
    pub frame_ancestors: Option<Vec<String>>,
    /// The self-serve tier of the organization's keys.
    pub tier: String,
    pub created_at: String,
}

impl From<&OrgRecord> for OrganizationView {
    fn from(o: &OrgRecord) -> Self {
        OrganizationView {
            id: o.id.clone(),
            name: o.name.clone(),
            slug: o.slug.clone(),
            display_name: o.display_name.clone(),
            tagline: o.tagline.clone(),
            color_primary: o.color_primary.clone(),
            logo_url: o.logo_url.clone(),
            status: o.status.clone(),
            contact_email: o.contact_email.clone(),
            revenue_share_bps: o.revenue_share_bps,
            revenue_brackets: o
                .revenue_brackets
                .as_deref()
                .and_then(|b| Brackets::from_json(b).ok())
                .map(|b| {
                    b.as_slice()
                        .iter()
                        .map(|x| RevenueBracketView {
                            threshold_usdc: x.threshold.to_human_string(),
                            bps: x.bps,
                        })
                        .collect()
                }),
            frame_ancestors: o
                .frame_ancestors
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
            tier: o.tier.clone(),
            created_at: rfc3339_ms(from_unix_ms(o.created_at)),
        }
    }
}

/// The caller's organization, or 404 for a user's key.
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

/// The organization that owns the calling key.
#[utoipa::path(get, path = "/v1/organizations/me", tag = "organizations",
    security(("ApiKey" = [])),
    responses(
        (status = 200, description = "`{organization, data, _meta}`", body = OrganizationView),
        (status = 404, description = "RESOURCE_NOT_FOUND for a user's key", body = crate::openapi::ProblemSchema),
    ))]
pub async fn me(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult<Json<Single<OrganizationView>>> {
    let org = caller_org(&state, &ctx).await?;
    Ok(Json(Single {
        name: "organization",
        value: OrganizationView::from(&org),
        meta: ctx.meta(),
    }))
}

#[derive(Serialize, ToSchema, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub struct EmbedTotals {
    pub renders: i64,
    pub clicks: i64,
    /// Distinct viewers of each day, summed over the days.
    pub unique_viewers: i64,
}

/// One group of `GET /v1/organizations/me/embeds`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedRow {
    /// `groupBy=source`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `groupBy=embed`: `market`, `thread` or `organization`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `groupBy=embed`: the embedded object's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `groupBy=day`: `YYYY-MM-DD` (every day of the range, zeros included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    pub renders: i64,
    pub clicks: i64,
    pub unique_viewers: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbedReport {
    pub from: String,
    pub to: String,
    /// `source`, `embed` or `day`.
    pub group_by: String,
    pub totals: EmbedTotals,
    pub rows: Vec<EmbedRow>,
}

/// `from`/`to` (UTC days, inclusive): `to` defaults to today and `from` to 29 days before it.
pub fn date_range(
    q: &QueryParams,
    today: NaiveDate,
    issues: &mut Vec<Issue>,
) -> Option<(NaiveDate, NaiveDate)> {
    let parse = |name: &str, issues: &mut Vec<Issue>| -> Option<Option<NaiveDate>> {
        match q.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(None),
            Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) if text.len() == 10 => Some(Some(d)),
                _ => {
                    issues.push(Issue::new(name, "must be a date YYYY-MM-DD"));
                    None
                }
            },
        }
    };
    let to = parse("to", issues);
    let from = parse("from", issues);
    let (Some(to), Some(from)) = (to, from) else {
        return None;
    };
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - chrono::Duration::days(DEFAULT_RANGE_DAYS - 1));
    if from > to {
        issues.push(Issue::new("from", "must not be after `to`"));
        return None;
    }
    if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
        issues.push(Issue::new(
            "to",
            format!("the range covers at most {MAX_RANGE_DAYS} days"),
        ));
        return None;
    }
    Some((from, to))
}

/// Renders, clicks and unique viewers of the organization's embeds.
#[utoipa::path(get, path = "/v1/organizations/me/embeds", tag = "organizations",
    security(("ApiKey" = [])),
    params(
        ("from" = Option<String>, Query, description = "First UTC day, YYYY-MM-DD (default: 29 days before `to`)"),
        ("to" = Option<String>, Query, description = "Last UTC day, YYYY-MM-DD (default: today); at most 366 days in all"),
        ("groupBy" = Option<String>, Query, description = "source, embed or day (default)"),
    ),
    responses(
        (status = 200, description = "`{data: {from, to, groupBy, totals, rows[]}, _meta}`", body = EmbedReport),
        (status = 400, description = "VALIDATION_FAILED", body = crate::openapi::ProblemSchema),
        (status = 404, description = "RESOURCE_NOT_FOUND for a user's key", body = crate::openapi::ProblemSchema),
    ))]
pub async fn embeds(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<Data<EmbedReport>>> {
    let org = caller_org(&state, &ctx).await?;
    let mut issues = Vec::new();
    let group = match q.get("groupBy").map(str::trim).filter(|v| !v.is_empty()) {
        None | Some("day") => Some(GroupBy::Day),
        Some("source") => Some(GroupBy::Source),
        Some("embed") => Some(GroupBy::Embed),
        Some(_) => {
            issues.push(Issue::new("groupBy", "must be source, embed or day"));
            None
        }
    };
    let range = date_range(&q, ctx.now.date_naive(), &mut issues);
    let (Some(group), Some((from, to))) = (group, range) else {
        return Err(Problem::validation(issues).into());
    };
    // Counts still in this instance's memory are written first, so a report read right after
    // a render includes it.
    state.embeds.flush(&state.svc.db).await?;
    let (from_s, to_s) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let db = state.svc.db.reader();
    let counts = embeds::counters(db, &org.id, &from_s, &to_s, group).await?;
    let viewers = embeds::unique_viewers(db, &org.id, &from_s, &to_s, group).await?;
    let mut merged: std::collections::BTreeMap<(String, String), EmbedTotals> = Default::default();
    for c in counts {
        let e = merged.entry((c.k1, c.k2)).or_default();
        e.renders += c.renders;
        e.clicks += c.clicks;
    }
    for v in viewers {
        merged.entry((v.k1, v.k2)).or_default().unique_viewers += v.viewers;
    }
    if group == GroupBy::Day {
        let mut day = from;
        while day <= to {
            merged
                .entry((day.format("%Y-%m-%d").to_string(), String::new()))
                .or_default();
            day += chrono::Duration::days(1);
        }
    }
    let mut totals = EmbedTotals::default();
    let rows: Vec<EmbedRow> = merged
        .into_iter()
        .map(|((k1, k2), t)| {
            totals.renders += t.renders;
            totals.clicks += t.clicks;
            let mut row = EmbedRow {
                source: None,
                kind: None,
                id: None,
                date: None,
                renders: t.renders,
                clicks: t.clicks,
                unique_viewers: t.unique_viewers,
            };
            match group {
                GroupBy::Source => row.source = Some(k1),
                GroupBy::Embed => {
                    row.kind = Some(k1);
                    row.id = Some(k2);
                }
                GroupBy::Day => row.date = Some(k1),
            }
            row
        })
        .collect();
    totals.unique_viewers = embeds::total_unique_viewers(db, &org.id, &from_s, &to_s).await?;
    Ok(Json(Data {
        data: EmbedReport {
            from: from_s,
            to: to_s,
            group_by: match group {
                GroupBy::Source => "source",
                GroupBy::Embed => "embed",
                GroupBy::Day => "day",
            }
            .to_string(),
            totals,
            rows,
        },
        meta: ctx.meta(),
    }))
}

/// `GET /v1/organizations/me/earnings`. Amounts are atomic USDC strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EarningsView {
    /// Accrued revenue share still in the settlement hold.
    pub accrued_usdc: String,
    /// Settled earnings awaiting payout.
    pub payable_usdc: String,
    /// Paid out into the organization's USDC balance, all time.
    pub paid_usdc: String,
    /// The rate the next trade in the organization's markets accrues at (its bracket, when
    /// brackets are set).
    pub share_bps: i64,
    /// `KASH_REVENUE_HOLD_DAYS`.
    pub hold_days: u32,
}

/// The organization's revenue-share earnings.
#[utoipa::path(get, path = "/v1/organizations/me/earnings", tag = "organizations",
    security(("ApiKey" = [])),
    responses(
        (status = 200, description = "`{earnings, data, _meta}`", body = EarningsView),
        (status = 404, description = "RESOURCE_NOT_FOUND for a user's key", body = crate::openapi::ProblemSchema),
    ))]
pub async fn earnings(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult<Json<Single<EarningsView>>> {
    let org = caller_org(&state, &ctx).await?;
    let e = kash_service::revenue::earnings(&state.svc, &org).await?;
    Ok(Json(Single {
        name: "earnings",
        value: EarningsView {
            accrued_usdc: e.accrued_atomic.to_string(),
            payable_usdc: e.payable_atomic.to_string(),
            paid_usdc: e.paid_atomic.to_string(),
            share_bps: e.share_bps,
            hold_days: e.hold_days,
        },
        meta: ctx.meta(),
    }))
}

/// One entry of the revenue-events ledger. Amounts are signed atomic USDC strings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueEventView {
    pub id: String,
    /// `revenue_share_settled`, `payout`, `market_creation_fee`, `trading_fee`, `redemption`,
    /// `refund`, `deposit`, `withdrawal` or `adjustment`.
    pub kind: String,
    pub amount_usdc: String,
    /// The balance of `account` after the event.
    pub balance_after_usdc: String,
    /// Ours: `balance` (the organization's USDC balance) or `payable` (settled earnings).
    pub account: String,
    pub ledger_transaction_id: Option<String>,
    /// The market (seed paid) or other object the event refers to.
    pub reference_id: Option<String>,
    pub occurred_at: String,
}

const REVENUE_EVENTS_DEFAULT_LIMIT: u32 = 25;

/// The organization's revenue events, newest first.
#[utoipa::path(get, path = "/v1/organizations/me/revenue-events", tag = "organizations",
    security(("ApiKey" = [])),
    params(
        ("kind" = Option<String>, Query, description = "Only events of this kind"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
        ("limit" = Option<u32>, Query, description = "1–100, default 25"),
    ),
    responses(
        (status = 200, description = "A page of revenue events", body = Vec<RevenueEventView>),
        (status = 400, description = "VALIDATION_FAILED", body = crate::openapi::ProblemSchema),
        (status = 404, description = "RESOURCE_NOT_FOUND for a user's key", body = crate::openapi::ProblemSchema),
    ))]
pub async fn revenue_events(
    State(state): State<AppState>,
    ctx: Ctx,
    q: QueryParams,
) -> ApiResult<Json<List<RevenueEventView>>> {
    let org = caller_org(&state, &ctx).await?;
    let mut issues = Vec::new();
    let kind = match q.get("kind").map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) if kash_store::revenue_events::KINDS.contains(&k) => Some(k.to_string()),
        Some(k) => {
            issues.push(Issue::new(
                "kind",
                format!(
                    "`{k}` is not one of {}",
                    kash_store::revenue_events::KINDS.join(", ")
                ),
            ));
            None
        }
    };
    let limit = match cursor::parse_limit(q.get("limit"), REVENUE_EVENTS_DEFAULT_LIMIT) {
        Ok(l) => l,
        Err(p) => {
            issues.extend(p.issues);
            REVENUE_EVENTS_DEFAULT_LIMIT
        }
    };
    if !issues.is_empty() {
        return Err(Problem::validation(issues).into());
    }
    // The cursor is bound to the organization and the filter (not the limit).
    let scope = format!(
        "organizations.revenue-events|{}|{}",
        org.id,
        kind.as_deref().unwrap_or("")
    );
    let mac_key = &state.svc.secrets.cursor_key;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(cursor::decode::<(i64, i64)>(mac_key, &scope, c)?),
        None => None,
    };
    let mut rows = kash_store::revenue_events::list(
        state.svc.db.reader(),
        &org.id,
        kind.as_deref(),
        before,
        i64::from(limit) + 1,
    )
    .await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => Some(cursor::encode(
            mac_key,
            &scope,
            &(last.occurred_at, last.seq),
        )),
        _ => None,
    };
    Ok(Json(List {
        data: rows
            .into_iter()
            .map(|r| RevenueEventView {
                id: r.id,
                kind: r.kind,
                amount_usdc: r.amount_atomic.to_string(),
                balance_after_usdc: r.balance_after_atomic.to_string(),
                account: r.account,
                ledger_transaction_id: r.ledger_tx_id,
                reference_id: r.reference_id,
                occurred_at: rfc3339_ms(from_unix_ms(r.occurred_at)),
            })
            .collect(),
        pagination: Pagination {
            cursor: next,
            has_more,
            limit,
        },
        meta: ctx.meta(),
    }))
}
