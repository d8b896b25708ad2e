//! Programmatic organization data for org-scoped keys (`organizations-embeds-portal.md` §3):
//! `GET /v1/organizations/me` and `GET /v1/organizations/me/embeds`. A user's key is told the
//! resource does not exist (404 `RESOURCE_NOT_FOUND`), as `/v1` answers for anything not the
//! caller's. (Analytics, earnings and revenue events need trades and arrive with them.)

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

use crate::http::envelope::{Ctx, Data, Single};
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
