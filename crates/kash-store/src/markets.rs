//! Markets and their exact market-maker state. WAD values are stored as decimal text and
//! converted to and from [`MarketState`] here, so no caller ever sees a half-parsed state.

use kash_core::amm::{CancelSnapshot, MarketState, Settlement};
use kash_core::money::Usdc;
use ruint::aliases::U256;
use sqlx::FromRow;

use crate::{Exec, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MarketRecord {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub organization_id: Option<String>,
    pub creator_account_id: String,
    pub outcome_labels: String,
    pub outcome_count: i64,
    pub phase: String,
    pub fee_bps: i64,
    pub sell_fee_bps: i64,
    pub supplies: String,
    pub reserve: String,
    pub aggregate: String,
    pub genesis_leg: String,
    pub balance_atomic: i64,
    pub volume_atomic: i64,
    pub seed_atomic: i64,
    pub winners: Option<String>,
    pub remaining_winning_supply: Option<String>,
    pub snapshot_reserve: Option<String>,
    pub snapshot_aggregate: Option<String>,
    pub snapshot_supplies: Option<String>,
    pub freeze_at: Option<i64>,
    pub resolve_at: Option<i64>,
    pub frozen_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub settled_at: Option<i64>,
    pub trade_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Lower-cased label (`general` by default).
    pub category: String,
    /// JSON list of lower-cased strings.
    pub tags: String,
    pub thread_id: Option<String>,
    pub partner_id: Option<String>,
    /// When the operator featured the market; `None`: not featured.
    pub featured_at: Option<i64>,
    pub source_tweet_url: Option<String>,
    pub chapter_id: Option<String>,
    pub chapter_title: Option<String>,
    pub chapter_position: Option<i64>,
    pub chapter_total: Option<i64>,
}

pub const COLUMNS: &str = "id, title, description, image_url, organization_id, \
    creator_account_id, outcome_labels, outcome_count, phase, fee_bps, sell_fee_bps, supplies, \
    reserve, aggregate, genesis_leg, balance_atomic, volume_atomic, seed_atomic, winners, \
    remaining_winning_supply, snapshot_reserve, snapshot_aggregate, snapshot_supplies, \
    freeze_at, resolve_at, frozen_at, resolved_at, cancelled_at, settled_at, trade_count, \
    created_at, updated_at, category, tags, thread_id, partner_id, featured_at, \
    source_tweet_url, chapter_id, chapter_title, chapter_position, chapter_total";

fn corrupt(id: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("market {id}: {what}"))
}

fn wad(id: &str, text: &str) -> Result<U256, StoreError> {
    text.parse::<U256>()
        .map_err(|_| corrupt(id, "WAD value is not a decimal integer"))
}

fn wads(id: &str, json: &str) -> Result<Vec<U256>, StoreError> {
    let texts: Vec<String> =
        serde_json::from_str(json).map_err(|_| corrupt(id, "supplies are not a JSON list"))?;
    texts.iter().map(|t| wad(id, t)).collect()
}

/// A list of WAD values as stored (`["1", "2"]`).
pub fn wads_json(values: &[U256]) -> String {
    serde_json::Value::from(values.iter().map(|v| v.to_string()).collect::<Vec<_>>()).to_string()
}

impl MarketRecord {
    /// Outcome labels in index order.
    pub fn labels(&self) -> Vec<String> {
        serde_json::from_str(&self.outcome_labels).unwrap_or_default()
    }

    /// Tags in stored order.
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    /// Winning outcomes, ascending (empty unless resolved).
    pub fn winner_list(&self) -> Vec<usize> {
        self.winners
            .as_deref()
            .and_then(|w| serde_json::from_str(w).ok())
            .unwrap_or_default()
    }

    /// The market-maker state this row stores.
    pub fn state(&self) -> Result<MarketState, StoreError> {
        let id = &self.id;
        let bps = |v: i64| u32::try_from(v).map_err(|_| corrupt(id, "fee out of range"));
        let settlement = match self.phase.as_str() {
            "RESOLVED" => Settlement::Resolved {
                winners: self.winner_list(),
                remaining_winning_supply: wad(
                    id,
                    self.remaining_winning_supply.as_deref().unwrap_or(""),
                )?,
            },
            "CANCELLED" => Settlement::Cancelled(CancelSnapshot {
                reserve: wad(id, self.snapshot_reserve.as_deref().unwrap_or(""))?,
                a: wad(id, self.snapshot_aggregate.as_deref().unwrap_or(""))?,
                supplies: wads(id, self.snapshot_supplies.as_deref().unwrap_or(""))?,
            }),
            _ => Settlement::Open,
        };
        Ok(MarketState {
            supplies: wads(id, &self.supplies)?,
            reserve: wad(id, &self.reserve)?,
            a: wad(id, &self.aggregate)?,
            genesis_leg: wad(id, &self.genesis_leg)?,
            balance: Usdc::from_atomic(
                u64::try_from(self.balance_atomic).map_err(|_| corrupt(id, "negative balance"))?,
            ),
            fee_bps: bps(self.fee_bps)?,
            sell_fee_bps: bps(self.sell_fee_bps)?,
            settlement,
        })
    }

    /// Trading has stopped: not `ACTIVE`, or `now ≥ freezeAt` whatever the worker has done.
    pub fn tradeable(&self, now_ms: i64) -> bool {
        self.phase == "ACTIVE" && self.freeze_at.is_none_or(|at| now_ms < at)
    }

    /// The lifecycle phase as of `now` (`ACTIVE` past `freezeAt` is `FROZEN`).
    pub fn phase_at(&self, now_ms: i64) -> &str {
        if self.phase == "ACTIVE" && !self.tradeable(now_ms) {
            "FROZEN"
        } else {
            &self.phase
        }
    }
}

/// Signed atomic USDC for a BIGINT column.
pub fn atomic_i64(value: Usdc) -> Result<i64, StoreError> {
    i64::try_from(value.atomic())
        .map_err(|_| StoreError::Corrupt("USDC amount exceeds the BIGINT range".into()))
}

pub async fn insert<'c>(exec: impl Exec<'c>, m: &MarketRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO markets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, \
         $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42)"
    ))
    .bind(&m.id)
    .bind(&m.title)
    .bind(&m.description)
    .bind(&m.image_url)
    .bind(&m.organization_id)
    .bind(&m.creator_account_id)
    .bind(&m.outcome_labels)
    .bind(m.outcome_count)
    .bind(&m.phase)
    .bind(m.fee_bps)
    .bind(m.sell_fee_bps)
    .bind(&m.supplies)
    .bind(&m.reserve)
    .bind(&m.aggregate)
    .bind(&m.genesis_leg)
    .bind(m.balance_atomic)
    .bind(m.volume_atomic)
    .bind(m.seed_atomic)
    .bind(&m.winners)
    .bind(&m.remaining_winning_supply)
    .bind(&m.snapshot_reserve)
    .bind(&m.snapshot_aggregate)
    .bind(&m.snapshot_supplies)
    .bind(m.freeze_at)
    .bind(m.resolve_at)
    .bind(m.frozen_at)
    .bind(m.resolved_at)
    .bind(m.cancelled_at)
    .bind(m.settled_at)
    .bind(m.trade_count)
    .bind(m.created_at)
    .bind(m.updated_at)
    .bind(&m.category)
    .bind(&m.tags)
    .bind(&m.thread_id)
    .bind(&m.partner_id)
    .bind(m.featured_at)
    .bind(&m.source_tweet_url)
    .bind(&m.chapter_id)
    .bind(&m.chapter_title)
    .bind(m.chapter_position)
    .bind(m.chapter_total)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn get<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<MarketRecord>, StoreError> {
    lock(exec, id, "").await
}

/// The market, its row locked for the rest of the transaction (PostgreSQL).
pub async fn lock<'c>(
    exec: impl Exec<'c>,
    id: &str,
    for_update: &str,
) -> Result<Option<MarketRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM markets WHERE id = $1{for_update}"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// Writes a new market-maker state (and the settlement columns it implies), the phase, the
/// volume and the trade count.
pub async fn save_state<'c>(
    exec: impl Exec<'c>,
    m: &MarketRecord,
    state: &MarketState,
    now_ms: i64,
) -> Result<(), StoreError> {
    let (winners, remaining) = match &state.settlement {
        Settlement::Resolved {
            winners,
            remaining_winning_supply,
        } => (
            Some(serde_json::Value::from(winners.clone()).to_string()),
            Some(remaining_winning_supply.to_string()),
        ),
        _ => (None, None),
    };
    let (snap_r, snap_a, snap_s) = match &state.settlement {
        Settlement::Cancelled(s) => (
            Some(s.reserve.to_string()),
            Some(s.a.to_string()),
            Some(wads_json(&s.supplies)),
        ),
        _ => (None, None, None),
    };
    sqlx::query(
        "UPDATE markets SET supplies = $1, reserve = $2, aggregate = $3, balance_atomic = $4, \
         winners = $5, remaining_winning_supply = $6, snapshot_reserve = $7, \
         snapshot_aggregate = $8, snapshot_supplies = $9, phase = $10, volume_atomic = $11, \
         trade_count = $12, frozen_at = $13, resolved_at = $14, cancelled_at = $15, \
         updated_at = $16 WHERE id = $17",
    )
    .bind(wads_json(&state.supplies))
    .bind(state.reserve.to_string())
    .bind(state.a.to_string())
    .bind(atomic_i64(state.balance)?)
    .bind(winners)
    .bind(remaining)
    .bind(snap_r)
    .bind(snap_a)
    .bind(snap_s)
    .bind(&m.phase)
    .bind(m.volume_atomic)
    .bind(m.trade_count)
    .bind(m.frozen_at)
    .bind(m.resolved_at)
    .bind(m.cancelled_at)
    .bind(now_ms)
    .bind(&m.id)
    .execute(exec)
    .await?;
    Ok(())
}

/// Marks a settled market as fully redeemed by the automatic run.
pub async fn mark_settled<'c>(
    exec: impl Exec<'c>,
    id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE markets SET settled_at = $1 WHERE id = $2 AND settled_at IS NULL")
        .bind(now_ms)
        .bind(id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Markets newest first, optionally filtered by stored phases, after a keyset position.
pub async fn list<'c>(
    exec: impl Exec<'c>,
    phases: &[String],
    before: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<MarketRecord>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM markets WHERE 1 = 1");
    let mut n = 0;
    if !phases.is_empty() {
        let marks: Vec<String> = phases
            .iter()
            .map(|_| {
                n += 1;
                format!("${n}")
            })
            .collect();
        sql.push_str(&format!(" AND phase IN ({})", marks.join(", ")));
    }
    if before.is_some() {
        sql.push_str(&format!(
            " AND (created_at < ${} OR (created_at = ${} AND id < ${}))",
            n + 1,
            n + 1,
            n + 2
        ));
        n += 2;
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ${}",
        n + 1
    ));
    let mut query = sqlx::query_as(&sql);
    for p in phases {
        query = query.bind(p.as_str());
    }
    if let Some((at, id)) = &before {
        query = query.bind(*at).bind(id.as_str());
    }
    Ok(query.bind(limit).fetch_all(exec).await?)
}

/// Sets or clears the operator's featured flag; whether the market exists.
pub async fn set_featured<'c>(
    exec: impl Exec<'c>,
    id: &str,
    featured_at: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE markets SET featured_at = $1, updated_at = $2 WHERE id = $3")
        .bind(featured_at)
        .bind(now_ms)
        .bind(id)
        .execute(exec)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Active markets whose `freezeAt` has passed.
pub async fn due_to_freeze<'c>(
    exec: impl Exec<'c>,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM markets WHERE phase = 'ACTIVE' AND freeze_at IS NOT NULL AND freeze_at <= $1",
    )
    .bind(now_ms)
    .fetch_all(exec)
    .await?)
}

/// Resolved or cancelled markets the automatic redemption has not finished.
pub async fn unsettled<'c>(exec: impl Exec<'c>) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM markets WHERE phase IN ('RESOLVED', 'CANCELLED') AND settled_at IS NULL \
         ORDER BY updated_at",
    )
    .fetch_all(exec)
    .await?)
}

pub async fn all_ids<'c>(exec: impl Exec<'c>) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM markets ORDER BY created_at, id")
            .fetch_all(exec)
            .await?,
    )
}
