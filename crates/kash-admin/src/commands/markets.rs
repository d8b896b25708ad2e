use clap::Subcommand;
use kash_core::time::{from_unix_ms, parse_rfc3339, rfc3339_ms};
use kash_service::trading::markets::{self, MarketFields, NewMarket};
use kash_service::trading::proposals::{self, NewProposal};
use kash_service::Services;
use kash_store::markets::MarketRecord;
use kash_store::proposals::ProposalRecord;
use serde_json::json;

use super::accounts::usdc_arg;
use super::orgs::org_ref;
use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult, Failure};

// Parsed once per run: the size of the `create` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum MarketsCmd {
    /// Create and seed a market. With --org the organization's balance pays the seed, else the
    /// operator treasury does.
    Create {
        #[arg(long)]
        title: String,
        /// Comma-separated outcome labels (2 to 8), e.g. "Yes,No".
        #[arg(long)]
        outcomes: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        image_url: Option<String>,
        #[arg(long)]
        org: Option<String>,
        /// Seed in USDC (at least 20).
        #[arg(long, default_value = "20")]
        seed_usdc: String,
        /// When trading stops (RFC 3339).
        #[arg(long)]
        freeze_at: Option<String>,
        /// When resolution is due (RFC 3339).
        #[arg(long)]
        resolve_at: Option<String>,
        #[arg(long, default_value_t = 100)]
        fee_bps: u32,
        #[arg(long, default_value_t = 50)]
        sell_fee_bps: u32,
        /// Category (lower-cased; default `general`).
        #[arg(long)]
        category: Option<String>,
        /// Comma-separated tags.
        #[arg(long)]
        tags: Option<String>,
        /// A thread of the same organization.
        #[arg(long)]
        thread: Option<String>,
        /// A partner of the same organization.
        #[arg(long)]
        partner: Option<String>,
        /// The tweet the market comes from (https: on twitter.com or x.com).
        #[arg(long)]
        source_tweet_url: Option<String>,
        /// Chapter of the thread: markets sharing a chapter id form the chapter.
        #[arg(long)]
        chapter_id: Option<String>,
        #[arg(long)]
        chapter_title: Option<String>,
        /// Position of the chapter in the thread (1-based).
        #[arg(long)]
        chapter_position: Option<i64>,
        /// Number of chapters of the thread.
        #[arg(long)]
        chapter_total: Option<i64>,
    },
    /// Flag a market as featured on the public API (`/api/markets/featured`).
    Feature { id: String },
    /// Remove the featured flag.
    Unfeature { id: String },
    /// Stop trading now.
    Freeze { id: String },
    /// Cancel: holdings are refunded at the prices of this moment.
    Cancel { id: String },
    /// File a market proposal on an organization's behalf (it opens only when approved).
    Propose {
        /// The organization (id or slug).
        #[arg(long)]
        org: String,
        #[arg(long)]
        title: String,
        /// Comma-separated outcome labels (2 to 8), e.g. "Yes,No".
        #[arg(long)]
        outcomes: String,
        #[arg(long)]
        description: Option<String>,
        /// Seed in USDC (at least 20), paid from the organization's balance at approval.
        #[arg(long, default_value = "20")]
        seed_usdc: String,
        /// When trading stops (RFC 3339).
        #[arg(long)]
        freeze_at: Option<String>,
        /// When resolution is due (RFC 3339).
        #[arg(long)]
        resolve_at: Option<String>,
        /// How the outcome will be determined (free text).
        #[arg(long)]
        resolution_sources: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Comma-separated tags.
        #[arg(long)]
        tags: Option<String>,
        #[arg(long)]
        thread: Option<String>,
        #[arg(long)]
        partner: Option<String>,
        #[arg(long)]
        source_tweet_url: Option<String>,
        #[arg(long)]
        chapter_id: Option<String>,
        #[arg(long)]
        chapter_title: Option<String>,
        #[arg(long)]
        chapter_position: Option<i64>,
        #[arg(long)]
        chapter_total: Option<i64>,
    },
    /// Approve a proposal: the seed leaves the organization's balance and the market opens.
    Approve { id: String },
    /// Reject a proposal, with the reason the organization will see.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// List proposals, newest first.
    Proposals {
        /// Only this organization's (id or slug).
        #[arg(long)]
        org: Option<String>,
        /// proposed, approved, rejected or live.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Resolve with one or more winning outcomes.
    Resolve {
        id: String,
        /// Winning outcome index(es), e.g. 0 or 0,2.
        #[arg(long)]
        winner: String,
    },
}

fn time_arg(flag: &str, value: Option<&str>) -> Result<Option<i64>, Failure> {
    value
        .map(|v| {
            parse_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .ok_or_else(|| Failure::usage(flag, format!("`{v}` is not an RFC 3339 time")))
        })
        .transpose()
}

fn view(m: &MarketRecord) -> serde_json::Value {
    let ts = |v: Option<i64>| v.map(|ms| rfc3339_ms(from_unix_ms(ms)));
    json!({
        "id": m.id,
        "title": m.title,
        "phase": m.phase,
        "outcomes": m.labels(),
        "organizationId": m.organization_id,
        "seedUsdc": m.seed_atomic.to_string(),
        "liquidityUsdc": m.balance_atomic.to_string(),
        "winningOutcomes": m.winner_list(),
        "freezeAt": ts(m.freeze_at),
        "resolveAt": ts(m.resolve_at),
        "category": m.category,
        "tags": m.tag_list(),
        "threadId": m.thread_id,
        "partnerId": m.partner_id,
        "featured": m.featured_at.is_some(),
        "sourceTweetUrl": m.source_tweet_url,
        "chapterId": m.chapter_id,
        "chapterTitle": m.chapter_title,
        "chapterPosition": m.chapter_position,
        "chapterTotal": m.chapter_total,
    })
}

fn proposal_view(p: &ProposalRecord) -> serde_json::Value {
    let ts = |v: Option<i64>| v.map(|ms| rfc3339_ms(from_unix_ms(ms)));
    json!({
        "id": p.id,
        "organizationId": p.organization_id,
        "state": p.state,
        "title": p.title,
        "description": p.description,
        "outcomes": p.labels(),
        "freezeAt": ts(p.freeze_at),
        "resolveAt": ts(p.resolve_at),
        "resolutionSources": p.resolution_sources,
        "seedUsdc": p.seed_atomic.to_string(),
        "category": p.category,
        "tags": p.tag_list(),
        "threadId": p.thread_id,
        "partnerId": p.partner_id,
        "sourceTweetUrl": p.source_tweet_url,
        "chapterId": p.chapter_id,
        "chapterTitle": p.chapter_title,
        "chapterPosition": p.chapter_position,
        "chapterTotal": p.chapter_total,
        "proposedBy": p.proposed_by,
        "marketId": p.market_id,
        "decidedBy": p.decided_by,
        "decidedAt": ts(p.decided_at),
        "rejectionReason": p.rejection_reason,
        "createdAt": ts(Some(p.created_at)),
    })
}

fn proposal_line(p: &ProposalRecord) -> String {
    format!(
        "proposal {} \"{}\" of {} is {}",
        p.id, p.title, p.organization_id, p.state
    )
}

pub async fn run(svc: &Services, cmd: MarketsCmd, json_out: bool) -> CmdResult {
    let m = match cmd {
        MarketsCmd::Propose {
            org,
            title,
            outcomes,
            description,
            seed_usdc,
            freeze_at,
            resolve_at,
            resolution_sources,
            category,
            tags,
            thread,
            partner,
            source_tweet_url,
            chapter_id,
            chapter_title,
            chapter_position,
            chapter_total,
        } => {
            let new = NewProposal {
                organization_id: org_ref(svc, &org).await?.id,
                title,
                description,
                outcomes: outcomes.split(',').map(|o| o.trim().to_string()).collect(),
                freeze_at: time_arg("--freeze-at", freeze_at.as_deref())?,
                resolve_at: time_arg("--resolve-at", resolve_at.as_deref())?,
                resolution_sources,
                seed: usdc_arg("--seed-usdc", &seed_usdc)?,
                fields: MarketFields {
                    category,
                    tags,
                    thread_id: thread.map(|t| uuid_arg("--thread", &t)).transpose()?,
                    partner_id: partner.map(|p| uuid_arg("--partner", &p)).transpose()?,
                    source_tweet_url,
                    chapter_id,
                    chapter_title,
                    chapter_position,
                    chapter_total,
                },
            };
            let p = proposals::propose(svc, &new, &actor()).await?;
            return emit(json_out, &proposal_view(&p), || proposal_line(&p));
        }
        MarketsCmd::Approve { id } => {
            let (p, m) = proposals::approve(svc, &uuid_arg("ID", &id)?, &actor()).await?;
            let mut body = proposal_view(&p);
            body["market"] = view(&m);
            return emit(json_out, &body, || {
                format!("{}; market {} is {}", proposal_line(&p), m.id, m.phase)
            });
        }
        MarketsCmd::Reject { id, reason } => {
            let p = proposals::reject(svc, &uuid_arg("ID", &id)?, &reason, &actor()).await?;
            return emit(json_out, &proposal_view(&p), || proposal_line(&p));
        }
        MarketsCmd::Proposals { org, state, limit } => {
            let org = match org {
                Some(o) => Some(org_ref(svc, &o).await?.id),
                None => None,
            };
            let state = state.map(|s| s.trim().to_lowercase());
            let list = proposals::list(svc, org.as_deref(), state.as_deref(), limit).await?;
            let body = json!({
                "proposals": list.iter().map(proposal_view).collect::<Vec<_>>(),
                "count": list.len(),
            });
            return emit(json_out, &body, || {
                list.iter()
                    .map(proposal_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        MarketsCmd::Create {
            title,
            outcomes,
            description,
            image_url,
            org,
            seed_usdc,
            freeze_at,
            resolve_at,
            fee_bps,
            sell_fee_bps,
            category,
            tags,
            thread,
            partner,
            source_tweet_url,
            chapter_id,
            chapter_title,
            chapter_position,
            chapter_total,
        } => {
            let new = NewMarket {
                title,
                description,
                image_url,
                outcomes: outcomes.split(',').map(|o| o.trim().to_string()).collect(),
                organization_id: org.map(|o| uuid_arg("--org", &o)).transpose()?,
                seed: usdc_arg("--seed-usdc", &seed_usdc)?,
                freeze_at: time_arg("--freeze-at", freeze_at.as_deref())?,
                resolve_at: time_arg("--resolve-at", resolve_at.as_deref())?,
                fee_bps,
                sell_fee_bps,
                fields: MarketFields {
                    category,
                    tags,
                    thread_id: thread.map(|t| uuid_arg("--thread", &t)).transpose()?,
                    partner_id: partner.map(|p| uuid_arg("--partner", &p)).transpose()?,
                    source_tweet_url,
                    chapter_id,
                    chapter_title,
                    chapter_position,
                    chapter_total,
                },
            };
            markets::create(svc, &new, &actor()).await?
        }
        MarketsCmd::Feature { id } => {
            markets::set_featured(svc, &uuid_arg("ID", &id)?, true, &actor()).await?
        }
        MarketsCmd::Unfeature { id } => {
            markets::set_featured(svc, &uuid_arg("ID", &id)?, false, &actor()).await?
        }
        MarketsCmd::Freeze { id } => markets::freeze(svc, &uuid_arg("ID", &id)?, &actor()).await?,
        MarketsCmd::Cancel { id } => {
            markets::cancel(svc, &uuid_arg("ID", &id)?, false, &actor())
                .await?
                .market
        }
        MarketsCmd::Resolve { id, winner } => {
            let winners = winner
                .split(',')
                .map(|w| {
                    w.trim().parse::<usize>().map_err(|_| {
                        Failure::usage("--winner", format!("`{w}` is not an outcome index"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            markets::resolve(svc, &uuid_arg("ID", &id)?, &winners, &actor()).await?
        }
    };
    emit(json_out, &view(&m), || {
        format!("market {} \"{}\" is {}", m.id, m.title, m.phase)
    })
}
