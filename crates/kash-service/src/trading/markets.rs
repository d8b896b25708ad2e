//! The market lifecycle (`amm.md` "Genesis", "Lifecycle"): create (genesis, seed paid by the
//! creator), freeze, cancel and resolve. Settlement of holdings is in [`super::settle`].

use kash_core::amm::{self, MarketState};
use kash_core::ids::{id_text, new_id};
use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::{ErrorCode, Issue, Problem};
use kash_store::ledger::{self, kind, Posting};
use kash_store::markets::{self as store, wads_json, MarketRecord};
use kash_store::positions::{self, PositionRecord};
use kash_store::sqlx::AnyConnection;
use kash_store::StoreError;

use super::accounts::{holder_account, signed, Holder};
use super::amm_problem;
use crate::{audit, ServiceError, Services};

/// Largest outcome count the API offers (the engine allows more).
pub const MAX_API_OUTCOMES: usize = 8;

#[derive(Debug, Clone)]
pub struct NewMarket {
    pub title: String,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub outcomes: Vec<String>,
    /// The creating organization; `None`: an operator market funded by the treasury.
    pub organization_id: Option<String>,
    pub seed: Usdc,
    pub freeze_at: Option<i64>,
    pub resolve_at: Option<i64>,
    pub fee_bps: u32,
    pub sell_fee_bps: u32,
    /// Category, tags, thread/partner attribution, source tweet and chapter
    /// (`organizations-embeds-portal.md` §1).
    pub fields: MarketFields,
}

/// The §1 fields a market gains. Text as given; [`create`] normalises and checks it.
#[derive(Debug, Clone, Default)]
pub struct MarketFields {
    /// Lower-cased; `general` when absent or empty.
    pub category: Option<String>,
    /// A comma list (the thread rule: lower-cased, deduplicated, ≤ 40 characters, ≤ 20).
    pub tags: Option<String>,
    /// A thread of the market's own organization.
    pub thread_id: Option<String>,
    /// A partner of the market's own organization.
    pub partner_id: Option<String>,
    /// `https:` on twitter.com, x.com, www.twitter.com or www.x.com.
    pub source_tweet_url: Option<String>,
    /// Chapter fields: only with a thread; `chapter_id` required when any is given.
    pub chapter_id: Option<String>,
    pub chapter_title: Option<String>,
    pub chapter_position: Option<i64>,
    pub chapter_total: Option<i64>,
}

/// Hosts a `sourceTweetUrl` may name.
pub const TWEET_HOSTS: [&str; 4] = ["twitter.com", "x.com", "www.twitter.com", "www.x.com"];

/// The normalised §1 fields, before the references are checked against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFields {
    pub category: String,
    pub tags: Vec<String>,
    pub thread_id: Option<String>,
    pub partner_id: Option<String>,
    pub source_tweet_url: Option<String>,
    pub chapter_id: Option<String>,
    pub chapter_title: Option<String>,
    pub chapter_position: Option<i64>,
    pub chapter_total: Option<i64>,
}

fn uuid_field(field: &str, value: Option<&str>, issues: &mut Vec<Issue>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    match kash_core::ids::parse_uuid(v) {
        Some(id) => Some(id_text(&id)),
        None => {
            issues.push(Issue::new(field, "must be a UUID"));
            None
        }
    }
}

/// Normalises and checks the §1 fields on their own (references are checked in [`create`]).
pub fn check_fields(f: &MarketFields, issues: &mut Vec<Issue>) -> CheckedFields {
    use crate::fields;
    use crate::threads::{DEFAULT_CATEGORY, MAX_CATEGORY};
    let category = match f.category.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_CATEGORY.to_string(),
        Some(c) => fields::required_text("category", &c.to_lowercase(), MAX_CATEGORY, issues),
    };
    let tags = fields::tags("tags", f.tags.as_deref().unwrap_or(""), issues);
    let source_tweet_url =
        fields::https_url("sourceTweetUrl", f.source_tweet_url.as_deref(), issues);
    if let Some(u) = &source_tweet_url {
        let host_ok = url::Url::parse(u).is_ok_and(|u| {
            u.host_str()
                .is_some_and(|h| TWEET_HOSTS.contains(&h.to_ascii_lowercase().as_str()))
        });
        if !host_ok {
            issues.push(Issue::new(
                "sourceTweetUrl",
                "must be an https:// URL on twitter.com, x.com, www.twitter.com or www.x.com",
            ));
        }
    }
    let thread_id = uuid_field("threadId", f.thread_id.as_deref(), issues);
    let partner_id = uuid_field("partnerId", f.partner_id.as_deref(), issues);
    let chapter_id = fields::optional_text("chapterId", f.chapter_id.as_deref(), 100, issues);
    let chapter_title =
        fields::optional_text("chapterTitle", f.chapter_title.as_deref(), 200, issues);
    let any_chapter =
        chapter_title.is_some() || f.chapter_position.is_some() || f.chapter_total.is_some();
    if chapter_id.is_none() && any_chapter {
        issues.push(Issue::new(
            "chapterId",
            "is required with the other chapter fields",
        ));
    }
    if chapter_id.is_some()
        && f.thread_id
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .is_empty()
    {
        issues.push(Issue::new(
            "chapterId",
            "a chapter belongs to a thread: give threadId",
        ));
    }
    if let Some(t) = f.chapter_total {
        if !(1..=1000).contains(&t) {
            issues.push(Issue::new("chapterTotal", "must be between 1 and 1000"));
        }
    }
    if let Some(p) = f.chapter_position {
        let max = f
            .chapter_total
            .filter(|t| (1..=1000).contains(t))
            .unwrap_or(1000);
        if !(1..=max).contains(&p) {
            issues.push(Issue::new(
                "chapterPosition",
                format!("must be between 1 and {max} (chapterTotal)"),
            ));
        }
    }
    CheckedFields {
        category,
        tags,
        thread_id,
        partner_id,
        source_tweet_url,
        chapter_id,
        chapter_title,
        chapter_position: f.chapter_position,
        chapter_total: f.chapter_total,
    }
}

/// Every check of [`create`] that needs no database (a proposal is checked with it when filed).
pub fn validate(m: &NewMarket) -> Result<CheckedFields, Problem> {
    let mut issues = Vec::new();
    let checked = check_fields(&m.fields, &mut issues);
    let title = m.title.trim();
    if title.is_empty() || title.chars().count() > 300 {
        issues.push(Issue::new("title", "must be 1 to 300 characters"));
    }
    if m.outcomes.len() < 2 || m.outcomes.len() > MAX_API_OUTCOMES {
        issues.push(Issue::new("outcomes", "a market has 2 to 8 outcomes"));
    }
    if m.outcomes
        .iter()
        .any(|o| o.trim().is_empty() || o.chars().count() > 100)
    {
        issues.push(Issue::new(
            "outcomes",
            "every label must be 1 to 100 characters",
        ));
    }
    if m.seed < amm::MIN_SEED {
        issues.push(Issue::new("seedUsdc", "the seed must be at least 20 USDC"));
    }
    if m.fee_bps > amm::MAX_FEE_BPS {
        issues.push(Issue::new("feeBps", "must be at most 500"));
    }
    if m.sell_fee_bps > amm::MAX_SELL_FEE_BPS {
        issues.push(Issue::new("sellFeeBps", "must be at most 10000"));
    }
    if let (Some(f), Some(r)) = (m.freeze_at, m.resolve_at) {
        if f > r {
            issues.push(Issue::new("freezeAt", "must not be after resolveAt"));
        }
    }
    if issues.is_empty() {
        Ok(checked)
    } else {
        Err(Problem::validation(issues))
    }
}

/// The thread and partner must belong to the market's organization (operator markets have
/// neither).
pub async fn check_references(
    conn: &mut AnyConnection,
    org: Option<&str>,
    f: &CheckedFields,
) -> Result<(), ServiceError> {
    let mut issues = Vec::new();
    if let Some(thread) = &f.thread_id {
        let t = kash_store::threads::get(&mut *conn, thread).await?;
        if t.is_none_or(|t| Some(t.org_id.as_str()) != org) {
            issues.push(Issue::new(
                "threadId",
                "must be a thread of the market's organization",
            ));
        }
    }
    if let Some(partner) = &f.partner_id {
        let p = kash_store::partners::get(&mut *conn, partner).await?;
        if p.is_none_or(|p| Some(p.org_id.as_str()) != org) {
            issues.push(Issue::new(
                "partnerId",
                "must be a partner of the market's organization",
            ));
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(issues).into())
    }
}

/// Runs genesis and opens the market; the seed leaves the creator's balance (an organization's
/// USDC account, or the treasury) in the same transaction. The creator holds the genesis leg
/// of every outcome, with the seed spread over the legs as its cost basis.
pub async fn create(
    svc: &Services,
    new: &NewMarket,
    actor: &str,
) -> Result<MarketRecord, ServiceError> {
    let mut tx = svc.db.begin().await?;
    let record = create_in(svc, &mut tx, new, actor).await?;
    tx.commit().await?;
    Ok(record)
}

/// [`create`] inside the caller's transaction (a proposal's approval opens its market in the
/// approval's own transaction). Nothing is committed here; an error leaves the caller to roll
/// back.
pub async fn create_in(
    svc: &Services,
    tx: &mut AnyConnection,
    new: &NewMarket,
    actor: &str,
) -> Result<MarketRecord, ServiceError> {
    let fields = validate(new)?;
    let state = amm::genesis(new.outcomes.len(), new.seed, new.fee_bps, new.sell_fee_bps)
        .map_err(|e| amm_problem(&e, "new"))?;
    let now = svc.now_ms();
    let id = id_text(&new_id());
    let holder = match &new.organization_id {
        Some(org) => {
            if kash_store::orgs::get(&mut *tx, org).await?.is_none() {
                return Err(Problem::not_found(format!("no organization {org}")).into());
            }
            Holder::Owner(Owner::Org(org.clone()))
        }
        None => Holder::Treasury,
    };
    check_references(tx, new.organization_id.as_deref(), &fields).await?;
    let creator = holder_account(tx, &holder, now).await?;
    let seed = signed(new.seed)?;
    if let Holder::Owner(_) = holder {
        let balance = ledger::lock_balance(&mut *tx, &creator, svc.db.for_update()).await?;
        if balance < seed {
            return Err(Problem::new(
                ErrorCode::InsufficientBalance,
                format!(
                    "the organization's balance is {} USDC; the seed is {} USDC",
                    Usdc::from_atomic(balance.max(0) as u64).to_human_string(),
                    new.seed.to_human_string()
                ),
            )
            .into());
        }
    }
    let market_account = ledger::ensure_account(tx, kind::MARKET, &id, now).await?;
    let record = MarketRecord {
        id: id.clone(),
        title: new.title.trim().to_string(),
        description: new.description.clone().filter(|d| !d.trim().is_empty()),
        image_url: new.image_url.clone().filter(|d| !d.trim().is_empty()),
        organization_id: new.organization_id.clone(),
        creator_account_id: creator.clone(),
        outcome_labels: serde_json::Value::from(
            new.outcomes
                .iter()
                .map(|o| o.trim().to_string())
                .collect::<Vec<_>>(),
        )
        .to_string(),
        outcome_count: new.outcomes.len() as i64,
        phase: "ACTIVE".into(),
        fee_bps: i64::from(new.fee_bps),
        sell_fee_bps: i64::from(new.sell_fee_bps),
        supplies: wads_json(&state.supplies),
        reserve: state.reserve.to_string(),
        aggregate: state.a.to_string(),
        genesis_leg: state.genesis_leg.to_string(),
        balance_atomic: seed,
        volume_atomic: 0,
        seed_atomic: seed,
        winners: None,
        remaining_winning_supply: None,
        snapshot_reserve: None,
        snapshot_aggregate: None,
        snapshot_supplies: None,
        freeze_at: new.freeze_at,
        resolve_at: new.resolve_at,
        frozen_at: None,
        resolved_at: None,
        cancelled_at: None,
        settled_at: None,
        trade_count: 0,
        created_at: now,
        updated_at: now,
        category: fields.category,
        tags: serde_json::Value::from(fields.tags).to_string(),
        thread_id: fields.thread_id,
        partner_id: fields.partner_id,
        featured_at: None,
        source_tweet_url: fields.source_tweet_url,
        chapter_id: fields.chapter_id,
        chapter_title: fields.chapter_title,
        chapter_position: fields.chapter_position,
        chapter_total: fields.chapter_total,
    };
    store::insert(&mut *tx, &record).await?;
    let posting_id = id_text(&new_id());
    ledger::post(
        tx,
        &Posting {
            id: &posting_id,
            kind: "market_seed",
            reference_id: Some(&id),
            memo: None,
            created_at: now,
            entries: vec![(creator.clone(), -seed), (market_account, seed)],
        },
    )
    .await?;
    if let Some(org) = &new.organization_id {
        let after = ledger::lock_balance(&mut *tx, &creator, "").await?;
        crate::revenue::record(
            tx,
            org,
            "market_creation_fee",
            kash_store::revenue_events::BALANCE,
            -seed,
            after,
            Some(&posting_id),
            Some(&id),
            now,
        )
        .await?;
    }
    let n = new.outcomes.len() as i64;
    for i in 0..n {
        // The seed is the creator's cost for all legs: floor(S / n) each, the rest on the last.
        let share = if i == n - 1 {
            seed - (seed / n) * (n - 1)
        } else {
            seed / n
        };
        let mut p = PositionRecord::empty(&creator, &id, i, now);
        p.shares = state.genesis_leg.to_string();
        p.locked_shares = state.genesis_leg.to_string();
        p.cost_basis_atomic = share;
        // Kash's SDK requires both times on every position: the legs were acquired now.
        p.first_trade_at = Some(now);
        p.last_trade_at = Some(now);
        positions::save(&mut *tx, &p).await?;
    }
    audit::lifecycle(
        &mut *tx,
        now,
        "market_created",
        actor,
        None,
        serde_json::json!({ "marketId": id, "seedAtomic": new.seed.to_atomic_string() }),
    )
    .await?;
    Ok(record)
}

/// Sets (`true`) or clears the operator's featured flag (`kash-admin markets feature|unfeature`).
/// Featuring a featured market keeps its original time.
pub async fn set_featured(
    svc: &Services,
    id: &str,
    featured: bool,
    actor: &str,
) -> Result<MarketRecord, ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let m = locked(svc, &mut tx, id).await?;
    let at = if featured {
        Some(m.featured_at.unwrap_or(now))
    } else {
        None
    };
    store::set_featured(&mut *tx, id, at, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        if featured {
            "market_featured"
        } else {
            "market_unfeatured"
        },
        actor,
        None,
        serde_json::json!({ "marketId": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(MarketRecord {
        featured_at: at,
        updated_at: now,
        ..m
    })
}

async fn locked(
    svc: &Services,
    conn: &mut AnyConnection,
    id: &str,
) -> Result<MarketRecord, ServiceError> {
    store::lock(&mut *conn, id, svc.db.for_update())
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::MarketNotFound, format!("no market {id}")).into())
}

fn state_of(m: &MarketRecord) -> Result<MarketState, ServiceError> {
    m.state().map_err(|e| {
        tracing::error!(market_id = %m.id, error = %e, "stored market state is corrupt");
        ServiceError::Problem(Problem::new(
            ErrorCode::MarketNotTradeable,
            "this market's state cannot be read",
        ))
    })
}

/// Stops trading (operator, or the worker at `freezeAt`). Freezing a frozen market changes
/// nothing; a settled one is refused.
pub async fn freeze(svc: &Services, id: &str, actor: &str) -> Result<MarketRecord, ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let mut m = locked(svc, &mut tx, id).await?;
    match m.phase.as_str() {
        "FROZEN" => return Ok(m),
        "ACTIVE" | "UNSEEDED" => {}
        other => {
            return Err(Problem::new(
                ErrorCode::MarketNotTradeable,
                format!("the market is {other}"),
            )
            .into())
        }
    }
    let state = state_of(&m)?;
    m.phase = "FROZEN".into();
    m.frozen_at = Some(now);
    store::save_state(&mut *tx, &m, &state, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "market_frozen",
        actor,
        None,
        serde_json::json!({ "marketId": id }),
    )
    .await?;
    let m = store::get(&mut *tx, id).await?.ok_or_else(|| missing(id))?;
    tx.commit().await?;
    Ok(m)
}

/// Resolves with one or more winners (`W = Σ s_w`).
pub async fn resolve(
    svc: &Services,
    id: &str,
    winners: &[usize],
    actor: &str,
) -> Result<MarketRecord, ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let mut m = locked(svc, &mut tx, id).await?;
    if m.phase == "RESOLVED" || m.phase == "CANCELLED" {
        return Err(Problem::new(
            ErrorCode::MarketNotTradeable,
            format!("the market is already {}", m.phase),
        )
        .into());
    }
    let mut sorted = winners.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != winners.len() || sorted.iter().any(|w| *w as i64 >= m.outcome_count) {
        return Err(Problem::invalid(
            "winner",
            format!(
                "winners must be distinct outcome indices below {}",
                m.outcome_count
            ),
        )
        .into());
    }
    let state = state_of(&m)?;
    let after = amm::resolve(&state, &sorted).map_err(|e| amm_problem(&e, id))?;
    m.phase = "RESOLVED".into();
    m.resolved_at = Some(now);
    store::save_state(&mut *tx, &m, &after, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "market_resolved",
        actor,
        None,
        serde_json::json!({ "marketId": id, "winners": sorted }),
    )
    .await?;
    let m = store::get(&mut *tx, id).await?.ok_or_else(|| missing(id))?;
    tx.commit().await?;
    Ok(m)
}

/// Whether a cancellation changed anything.
pub struct Cancelled {
    pub market: MarketRecord,
    pub already: bool,
}

/// Cancels: freezes `(R, A, supplies)` as the refund snapshot. `grace_only`: the public route's
/// rule (only once `resolveAt` + the grace period has passed).
pub async fn cancel(
    svc: &Services,
    id: &str,
    grace_only: bool,
    actor: &str,
) -> Result<Cancelled, ServiceError> {
    let now = svc.now_ms();
    let mut tx = svc.db.begin().await?;
    let mut m = locked(svc, &mut tx, id).await?;
    match m.phase.as_str() {
        "CANCELLED" => {
            return Ok(Cancelled {
                market: m,
                already: true,
            })
        }
        "RESOLVED" => {
            return Err(Problem::new(
                ErrorCode::MarketNotCancellable,
                "the market is resolved; it can no longer be cancelled",
            )
            .into())
        }
        _ => {}
    }
    if grace_only {
        let grace_ms = (svc.settings.cancel_grace_hours as i64).saturating_mul(3_600_000);
        let due = m.resolve_at.map(|r| r.saturating_add(grace_ms));
        match due {
            Some(due) if now >= due => {}
            Some(due) => {
                return Err(Problem::new(
                    ErrorCode::MarketNotCancellable,
                    format!(
                    "the market can be cancelled from {} (resolveAt plus the {} h grace period)",
                    kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(due)),
                    svc.settings.cancel_grace_hours
                ),
                )
                .into())
            }
            None => {
                return Err(Problem::new(
                    ErrorCode::MarketNotCancellable,
                    "the market has no resolveAt, so the grace-period cancellation does not apply",
                )
                .into())
            }
        }
    }
    let state = state_of(&m)?;
    let after = amm::cancel(&state).map_err(|e| amm_problem(&e, id))?;
    m.phase = "CANCELLED".into();
    m.cancelled_at = Some(now);
    store::save_state(&mut *tx, &m, &after, now).await?;
    audit::lifecycle(
        &mut *tx,
        now,
        "market_cancelled",
        actor,
        None,
        serde_json::json!({ "marketId": id }),
    )
    .await?;
    let m = store::get(&mut *tx, id).await?.ok_or_else(|| missing(id))?;
    tx.commit().await?;
    Ok(Cancelled {
        market: m,
        already: false,
    })
}

/// Freezes every active market whose `freezeAt` has passed; returns how many.
pub async fn freeze_due(svc: &Services) -> Result<usize, ServiceError> {
    let due = store::due_to_freeze(svc.db.reader(), svc.now_ms()).await?;
    let mut n = 0;
    for id in due {
        match freeze(svc, &id, "worker:freeze").await {
            Ok(_) => n += 1,
            Err(ServiceError::Problem(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The store error for a market row that should exist.
pub fn missing(id: &str) -> StoreError {
    StoreError::Corrupt(format!("market {id} vanished"))
}
