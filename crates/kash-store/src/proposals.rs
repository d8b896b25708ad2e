//! Market proposals (`organizations-embeds-portal.md` §1): filed for an organization, approved
//! (the market opens) or rejected by the operator.

use sqlx::FromRow;

use crate::{Exec, StoreError};

/// Proposal states.
pub mod state {
    pub const PROPOSED: &str = "proposed";
    pub const APPROVED: &str = "approved";
    pub const REJECTED: &str = "rejected";
    pub const LIVE: &str = "live";
    pub const ALL: [&str; 4] = [PROPOSED, APPROVED, REJECTED, LIVE];
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ProposalRecord {
    pub id: String,
    pub organization_id: String,
    pub state: String,
    pub title: String,
    pub description: Option<String>,
    pub outcome_labels: String,
    pub freeze_at: Option<i64>,
    pub resolve_at: Option<i64>,
    pub resolution_sources: Option<String>,
    pub seed_atomic: i64,
    pub fee_bps: i64,
    pub sell_fee_bps: i64,
    pub category: Option<String>,
    pub tags: Option<String>,
    pub thread_id: Option<String>,
    pub partner_id: Option<String>,
    pub source_tweet_url: Option<String>,
    pub chapter_id: Option<String>,
    pub chapter_title: Option<String>,
    pub chapter_position: Option<i64>,
    pub chapter_total: Option<i64>,
    pub proposed_by: String,
    pub market_id: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub rejection_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ProposalRecord {
    /// The outcome labels (an unreadable list reads as none).
    pub fn labels(&self) -> Vec<String> {
        serde_json::from_str(&self.outcome_labels).unwrap_or_default()
    }

    /// The normalised tags (a JSON list; none when absent or unreadable).
    pub fn tag_list(&self) -> Vec<String> {
        self.tags
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

const COLUMNS: &str = "id, organization_id, state, title, description, outcome_labels, \
    freeze_at, resolve_at, resolution_sources, seed_atomic, fee_bps, sell_fee_bps, category, \
    tags, thread_id, partner_id, source_tweet_url, chapter_id, chapter_title, chapter_position, \
    chapter_total, proposed_by, market_id, decided_by, decided_at, rejection_reason, \
    created_at, updated_at";

pub async fn insert<'c>(exec: impl Exec<'c>, p: &ProposalRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO market_proposals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, \
         $27, $28)"
    ))
    .bind(&p.id)
    .bind(&p.organization_id)
    .bind(&p.state)
    .bind(&p.title)
    .bind(&p.description)
    .bind(&p.outcome_labels)
    .bind(p.freeze_at)
    .bind(p.resolve_at)
    .bind(&p.resolution_sources)
    .bind(p.seed_atomic)
    .bind(p.fee_bps)
    .bind(p.sell_fee_bps)
    .bind(&p.category)
    .bind(&p.tags)
    .bind(&p.thread_id)
    .bind(&p.partner_id)
    .bind(&p.source_tweet_url)
    .bind(&p.chapter_id)
    .bind(&p.chapter_title)
    .bind(p.chapter_position)
    .bind(p.chapter_total)
    .bind(&p.proposed_by)
    .bind(&p.market_id)
    .bind(&p.decided_by)
    .bind(p.decided_at)
    .bind(&p.rejection_reason)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<ProposalRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM market_proposals WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// Reads a proposal under a row lock (`for_update`: the engine's clause, empty on SQLite).
pub async fn lock<'c>(
    exec: impl Exec<'c>,
    id: &str,
    for_update: &str,
) -> Result<Option<ProposalRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM market_proposals WHERE id = $1{for_update}"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// Records the operator's decision: the new state, the market (approval) or the reason
/// (rejection).
pub async fn decide<'c>(exec: impl Exec<'c>, p: &ProposalRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE market_proposals SET state = $2, market_id = $3, decided_by = $4, \
         decided_at = $5, rejection_reason = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(&p.id)
    .bind(&p.state)
    .bind(&p.market_id)
    .bind(&p.decided_by)
    .bind(p.decided_at)
    .bind(&p.rejection_reason)
    .bind(p.updated_at)
    .execute(exec)
    .await?;
    Ok(())
}

/// Proposals, newest first (ties by id), optionally of one organization and/or in one state.
pub async fn list<'c>(
    exec: impl Exec<'c>,
    org_id: Option<&str>,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<ProposalRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM market_proposals \
         WHERE ($1 IS NULL OR organization_id = $1) AND ($2 IS NULL OR state = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(org_id)
    .bind(state)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}
