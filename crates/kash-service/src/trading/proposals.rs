//! Market proposals (`organizations-embeds-portal.md` §1 "Market creation for organizations"):
//! an organization files a proposal; the operator approves it — the seed leaves the
//! organization's balance, genesis runs and the market opens, all in the approval's one
//! transaction — or rejects it with a reason. Proposals are not markets: no `/api` or `/v1`
//! list shows them.

use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::{Issue, Problem};
use kash_store::markets::MarketRecord;
use kash_store::proposals::{self as store, state, ProposalRecord};

use super::accounts::signed;
use super::markets::{self, MarketFields, NewMarket};
use crate::{audit, ServiceError, Services};

/// The market maker fees of an approved proposal's market (the `markets create` defaults).
pub const PROPOSAL_FEE_BPS: u32 = 100;
pub const PROPOSAL_SELL_FEE_BPS: u32 = 50;
/// Longest resolution-sources text.
pub const MAX_RESOLUTION_SOURCES: usize = 2000;
/// Longest rejection reason.
pub const MAX_REASON: usize = 1000;

/// A proposal as filed.
#[derive(Debug, Clone)]
pub struct NewProposal {
    pub organization_id: String,
    pub title: String,
    pub description: Option<String>,
    pub outcomes: Vec<String>,
    pub freeze_at: Option<i64>,
    pub resolve_at: Option<i64>,
    pub resolution_sources: Option<String>,
    pub seed: Usdc,
    pub fields: MarketFields,
}

impl NewProposal {
    fn market(&self) -> NewMarket {
        NewMarket {
            title: self.title.clone(),
            description: self.description.clone(),
            image_url: None,
            outcomes: self.outcomes.clone(),
            organization_id: Some(self.organization_id.clone()),
            seed: self.seed,
            freeze_at: self.freeze_at,
            resolve_at: self.resolve_at,
            fee_bps: PROPOSAL_FEE_BPS,
            sell_fee_bps: PROPOSAL_SELL_FEE_BPS,
            fields: self.fields.clone(),
        }
    }
}

/// The market an approval opens, from the stored proposal.
fn market_of(p: &ProposalRecord) -> Result<NewMarket, ServiceError> {
    let seed = u64::try_from(p.seed_atomic)
        .map_err(|_| kash_store::StoreError::Corrupt(format!("proposal {} seed", p.id)))?;
    let bps = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(NewMarket {
        title: p.title.clone(),
        description: p.description.clone(),
        image_url: None,
        outcomes: p.labels(),
        organization_id: Some(p.organization_id.clone()),
        seed: Usdc::from_atomic(seed),
        freeze_at: p.freeze_at,
        resolve_at: p.resolve_at,
        fee_bps: bps(p.fee_bps),
        sell_fee_bps: bps(p.sell_fee_bps),
        fields: MarketFields {
            category: p.category.clone(),
            tags: Some(p.tag_list().join(",")),
            thread_id: p.thread_id.clone(),
            partner_id: p.partner_id.clone(),
            source_tweet_url: p.source_tweet_url.clone(),
            chapter_id: p.chapter_id.clone(),
            chapter_title: p.chapter_title.clone(),
            chapter_position: p.chapter_position,
            chapter_total: p.chapter_total,
        },
    })
}

fn not_found(id: &str) -> ServiceError {
    Problem::not_found(format!("no market proposal {id}")).into()
}

/// Only a `proposed` proposal can be decided; anything else is refused naming its state.
fn still_open(p: &ProposalRecord, verb: &str) -> Result<(), ServiceError> {
    if p.state == state::PROPOSED {
        return Ok(());
    }
    Err(Problem::invalid(
        "state",
        format!(
            "proposal {} is {}; only a proposed proposal can be {verb}",
            p.id, p.state
        ),
    )
    .with("state", p.state.clone())
    .into())
}

/// Files a proposal. Its market fields get every check `markets::create` makes (the same
/// code), so an approval fails only on what can change meanwhile (balance, status, references).
pub async fn propose(
    svc: &Services,
    new: &NewProposal,
    actor: &str,
) -> Result<ProposalRecord, ServiceError> {
    let market = new.market();
    let (checked, mut issues) = match markets::validate(&market) {
        Ok(c) => (Some(c), Vec::new()),
        Err(p) => (None, p.issues),
    };
    let sources = crate::fields::optional_text(
        "resolutionSources",
        new.resolution_sources.as_deref(),
        MAX_RESOLUTION_SOURCES,
        &mut issues,
    );
    let Some(checked) = checked.filter(|_| issues.is_empty()) else {
        return Err(Problem::validation(issues).into());
    };
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    if kash_store::orgs::get(&mut *tx, &new.organization_id)
        .await?
        .is_none()
    {
        return Err(Problem::not_found(format!("no organization {}", new.organization_id)).into());
    }
    markets::check_references(&mut tx, Some(&new.organization_id), &checked).await?;
    let record = ProposalRecord {
        id: id_text(&new_id()),
        organization_id: new.organization_id.clone(),
        state: state::PROPOSED.into(),
        title: new.title.trim().to_string(),
        description: new.description.clone().filter(|d| !d.trim().is_empty()),
        outcome_labels: serde_json::Value::from(
            new.outcomes
                .iter()
                .map(|o| o.trim().to_string())
                .collect::<Vec<_>>(),
        )
        .to_string(),
        freeze_at: new.freeze_at,
        resolve_at: new.resolve_at,
        resolution_sources: sources,
        seed_atomic: signed(new.seed)?,
        fee_bps: i64::from(PROPOSAL_FEE_BPS),
        sell_fee_bps: i64::from(PROPOSAL_SELL_FEE_BPS),
        category: Some(checked.category),
        tags: Some(serde_json::Value::from(checked.tags).to_string()),
        thread_id: checked.thread_id,
        partner_id: checked.partner_id,
        source_tweet_url: checked.source_tweet_url,
        chapter_id: checked.chapter_id,
        chapter_title: checked.chapter_title,
        chapter_position: checked.chapter_position,
        chapter_total: checked.chapter_total,
        proposed_by: actor.to_string(),
        market_id: None,
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
        created_at: now,
        updated_at: now,
    };
    store::insert(&mut *tx, &record).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "market_proposed",
        actor,
        None,
        serde_json::json!({
            "proposalId": record.id,
            "organizationId": record.organization_id,
            "seedAtomic": new.seed.to_atomic_string(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// Approves: in one transaction, locks the proposal and the organization, refuses a decided
/// proposal or a suspended organization, runs `markets::create` (seed from the organization's
/// balance, `INSUFFICIENT_BALANCE` if short; genesis; the market opens) and marks the proposal
/// `live`. Any refusal changes nothing.
pub async fn approve(
    svc: &Services,
    id: &str,
    actor: &str,
) -> Result<(ProposalRecord, MarketRecord), ServiceError> {
    let mut tx = svc.db.begin().await?;
    let mut p = store::lock(&mut *tx, id, svc.db.for_update())
        .await?
        .ok_or_else(|| not_found(id))?;
    still_open(&p, "approved")?;
    let org = kash_store::orgs::lock(&mut *tx, &p.organization_id, svc.db.for_update())
        .await?
        .ok_or_else(|| {
            ServiceError::from(Problem::not_found(format!(
                "no organization {}",
                p.organization_id
            )))
        })?;
    if org.status != "active" {
        return Err(Problem::invalid(
            "organizationId",
            format!(
                "organization {} is {}; its proposals cannot be approved",
                org.id, org.status
            ),
        )
        .into());
    }
    let market = markets::create_in(svc, &mut tx, &market_of(&p)?, actor).await?;
    let now = svc.now_ms();
    p.state = state::LIVE.into();
    p.market_id = Some(market.id.clone());
    p.decided_by = Some(actor.to_string());
    p.decided_at = Some(now);
    p.updated_at = now;
    store::decide(&mut *tx, &p).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "market_proposal_approved",
        actor,
        None,
        serde_json::json!({
            "proposalId": p.id,
            "organizationId": p.organization_id,
            "marketId": market.id,
            "seedAtomic": p.seed_atomic.to_string(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok((p, market))
}

/// Rejects with a reason (required, at most 1000 characters).
pub async fn reject(
    svc: &Services,
    id: &str,
    reason: &str,
    actor: &str,
) -> Result<ProposalRecord, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(Problem::validation(vec![Issue::new(
            "reason",
            format!("must be 1 to {MAX_REASON} characters"),
        )])
        .into());
    }
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let mut p = store::lock(&mut *tx, id, svc.db.for_update())
        .await?
        .ok_or_else(|| not_found(id))?;
    still_open(&p, "rejected")?;
    p.state = state::REJECTED.into();
    p.rejection_reason = Some(reason.to_string());
    p.decided_by = Some(actor.to_string());
    p.decided_at = Some(now);
    p.updated_at = now;
    store::decide(&mut *tx, &p).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "market_proposal_rejected",
        actor,
        None,
        serde_json::json!({
            "proposalId": p.id,
            "organizationId": p.organization_id,
            "reason": reason,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

/// Proposals, newest first; `state` must be one of the four states.
pub async fn list(
    svc: &Services,
    org_id: Option<&str>,
    state_filter: Option<&str>,
    limit: i64,
) -> Result<Vec<ProposalRecord>, ServiceError> {
    if let Some(s) = state_filter {
        if !state::ALL.contains(&s) {
            return Err(
                Problem::invalid("state", "must be proposed, approved, rejected or live").into(),
            );
        }
    }
    Ok(store::list(svc.db.reader(), org_id, state_filter, limit.clamp(1, 1000)).await?)
}

/// One proposal.
pub async fn get(svc: &Services, id: &str) -> Result<ProposalRecord, ServiceError> {
    store::get(svc.db.reader(), id)
        .await?
        .ok_or_else(|| not_found(id))
}
