//! Webhook delivery state (`webhooks.md`): the queue the delivery worker works through, the
//! listing and replay of events, and the webhook secret rotation columns of a key.
//!
//! The queue. Among a key's *active* events (`pending`, `retrying`) the one with the smallest
//! `seq` is the head; only the head has `next_attempt_at`. Claiming work therefore reads the
//! due index (at most one row per key) and per-key FIFO with one delivery in flight follows
//! from the data, on any number of instances. Heads are chosen by [`ensure_head`], which on
//! PostgreSQL runs under a per-key advisory lock (taken by [`lock_keys`] before any row lock,
//! in key order, so it cannot deadlock).

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use crate::{Backend, Exec, StoreError};

/// Statuses of an event that is still to be delivered.
pub const ACTIVE: &str = "('pending', 'retrying')";

/// Every status an event can have, as the API spells them.
pub const STATUSES: [&str; 5] = ["none", "pending", "retrying", "delivered", "failed"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub api_key_id: String,
    pub event_type: String,
    pub api_version: String,
    pub trade_id: Option<String>,
    pub body: String,
    pub created_at: i64,
    pub status: String,
    pub attempts: i64,
    pub run_attempts: i64,
    pub run_started_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub outbox_emitted_at: Option<i64>,
    pub replay_count: i64,
    pub last_attempted_at: Option<i64>,
    pub last_delivered_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_failure_code: Option<String>,
    pub last_error_message: Option<String>,
    pub terminal_failure_at: Option<i64>,
}

impl EventRow {
    /// Where this event's retry schedule is anchored: `createdAt`, or the time of the replay.
    pub fn schedule_base(&self) -> i64 {
        self.run_started_at.unwrap_or(self.created_at)
    }
}

const EVENT_COLUMNS: &str = "seq, id, api_key_id, event_type, api_version, trade_id, body, \
    created_at, status, attempts, run_attempts, run_started_at, next_attempt_at, \
    outbox_emitted_at, replay_count, last_attempted_at, last_delivered_at, last_status_code, \
    last_failure_code, last_error_message, terminal_failure_at";

impl<'r> FromRow<'r, AnyRow> for EventRow {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(EventRow {
            seq: row.try_get("seq")?,
            id: row.try_get("id")?,
            api_key_id: row.try_get("api_key_id")?,
            event_type: row.try_get("event_type")?,
            api_version: row.try_get("api_version")?,
            trade_id: row.try_get("trade_id")?,
            body: row.try_get("body")?,
            created_at: row.try_get("created_at")?,
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            run_attempts: row.try_get("run_attempts")?,
            run_started_at: row.try_get("run_started_at")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            outbox_emitted_at: row.try_get("outbox_emitted_at")?,
            replay_count: row.try_get("replay_count")?,
            last_attempted_at: row.try_get("last_attempted_at")?,
            last_delivered_at: row.try_get("last_delivered_at")?,
            last_status_code: row.try_get("last_status_code")?,
            last_failure_code: row.try_get("last_failure_code")?,
            last_error_message: row.try_get("last_error_message")?,
            terminal_failure_at: row.try_get("terminal_failure_at")?,
        })
    }
}

/// SQLite's planner has no statistics here and would pick the wide status index for the
/// queue queries (a scan over every pending event); name the intended index there.
/// PostgreSQL plans from statistics and needs no hint.
fn hint(backend: Backend, index: &str) -> String {
    match backend {
        Backend::Sqlite => format!(" INDEXED BY {index}"),
        Backend::Postgres => String::new(),
    }
}

/// A stable 64-bit lock id for a key (PostgreSQL advisory locks).
fn lock_id(api_key_id: &str) -> i64 {
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in api_key_id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Serialises queue changes of these keys with every other instance until the transaction
/// ends (PostgreSQL; SQLite's single writer already serialises). Keys are locked in sorted
/// order, before any row lock, so two transactions can never wait on each other in a cycle.
pub async fn lock_keys(
    tx: &mut crate::Tx,
    backend: Backend,
    api_key_ids: &[String],
) -> Result<(), StoreError> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let mut ids: Vec<i64> = api_key_ids.iter().map(|k| lock_id(k)).collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(1_000) {
        // One round trip per chunk. The ids are our own integers (not input), so they are
        // written inline; the `OFFSET 0` subquery fixes the order the locks are taken in.
        let values: Vec<String> = chunk.iter().map(|id| format!("({id})")).collect();
        sqlx::query(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT pg_advisory_xact_lock(v) FROM \
             (SELECT v FROM (VALUES {}) AS t(v) ORDER BY v OFFSET 0) AS s) AS l",
            values.join(", ")
        ))
        .fetch_all(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Makes the smallest active event of a key its head (due at its schedule base) unless the key
/// has a head already. Call with the key locked ([`lock_keys`]). Invariant relied on: only an
/// active event ever has `next_attempt_at` (every change that ends an event's activity clears
/// it), so "has a head" is one probe of the head index.
pub async fn ensure_head<'c>(
    exec: impl Exec<'c>,
    backend: Backend,
    api_key_id: &str,
) -> Result<bool, StoreError> {
    let active = hint(backend, "webhook_events_active_idx");
    let head = hint(backend, "webhook_events_head_idx");
    let done = sqlx::query(&format!(
        "UPDATE webhook_events SET next_attempt_at = COALESCE(run_started_at, created_at) \
         WHERE seq = (SELECT MIN(seq) FROM webhook_events{active} WHERE api_key_id = $1 AND status IN {ACTIVE}) \
         AND next_attempt_at IS NULL AND status IN {ACTIVE} \
         AND NOT EXISTS (SELECT 1 FROM webhook_events h{head} WHERE h.api_key_id = $1 \
             AND h.next_attempt_at IS NOT NULL)"
    ))
    .bind(api_key_id)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Keys with events not yet taken from the outbox (oldest first), at most `limit` of them.
pub async fn keys_with_new_events<'c>(
    exec: impl Exec<'c>,
    backend: Backend,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT api_key_id FROM webhook_events{} WHERE outbox_emitted_at IS NULL \
         AND status = 'pending' ORDER BY seq LIMIT $1",
        hint(backend, "webhook_events_intake_idx")
    ))
    .bind(limit)
    .fetch_all(exec)
    .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .map(|(k,)| k)
        .filter(|k| seen.insert(k.clone()))
        .collect())
}

/// Takes a key's new events from the outbox (stamps `outbox_emitted_at`); returns how many.
pub async fn take_new_events<'c>(
    exec: impl Exec<'c>,
    backend: Backend,
    api_key_id: &str,
    now_ms: i64,
) -> Result<u64, StoreError> {
    // Through the key's active events (its queue), not its whole history.
    Ok(sqlx::query(&format!(
        "UPDATE webhook_events SET outbox_emitted_at = $1 WHERE seq IN (SELECT seq FROM \
         webhook_events{} WHERE api_key_id = $2 AND status IN {ACTIVE} \
         AND outbox_emitted_at IS NULL)",
        hint(backend, "webhook_events_active_idx")
    ))
    .bind(now_ms)
    .bind(api_key_id)
    .execute(exec)
    .await?
    .rows_affected())
}

/// Claims up to `limit` due queue heads for `owner` until `lease_until`. On PostgreSQL rows
/// another instance is claiming are skipped (`SKIP LOCKED`). A claimed head's
/// `next_attempt_at` moves to the lease's end, so heads in flight drop out of the due range
/// (claiming reads due rows only) and come back by themselves if their worker dies.
pub async fn claim_due<'c>(
    exec: impl Exec<'c>,
    backend: Backend,
    owner: &str,
    now_ms: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    Ok(sqlx::query_as(&format!(
        "UPDATE webhook_events SET lease_until = $1, lease_owner = $2, next_attempt_at = $1, \
         outbox_emitted_at = COALESCE(outbox_emitted_at, $3) \
         WHERE seq IN (SELECT seq FROM webhook_events{} WHERE next_attempt_at <= $3 \
             AND status IN {ACTIVE} AND (lease_until IS NULL OR lease_until <= $3) \
             ORDER BY next_attempt_at, seq LIMIT $4{lock}) \
         RETURNING {EVENT_COLUMNS}",
        hint(backend, "webhook_events_due_idx")
    ))
    .bind(lease_until)
    .bind(owner)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The outcome of one claimed event, as the worker records it.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An attempt was made.
    Attempt {
        at_ms: i64,
        /// `delivered`, `retrying` or `failed` (terminal).
        status: &'static str,
        status_code: Option<i64>,
        failure_code: Option<&'static str>,
        error_message: Option<String>,
        /// When the next attempt is due (`retrying` only).
        next_attempt_at: Option<i64>,
    },
    /// Not attempted (breaker open): the attempt keeps its number and is due at `until`.
    Postponed {
        until: i64,
        failure_code: &'static str,
    },
    /// The key has no webhook URL any more: the event is set aside as `none`.
    NoUrl,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub seq: i64,
    pub api_key_id: String,
    /// `replay_count` when claimed: a replay made meanwhile starts its own run afresh.
    pub replay_count: i64,
    pub outcome: Outcome,
}

/// Records one outcome (the caller locks the key and calls [`ensure_head`] afterwards). Only
/// the lease holder may record; a result whose lease was taken over is dropped (false).
pub async fn record<'c>(
    exec: impl Exec<'c>,
    owner: &str,
    r: &Recorded,
) -> Result<bool, StoreError> {
    let done = match &r.outcome {
        Outcome::Attempt {
            at_ms,
            status,
            status_code,
            failure_code,
            error_message,
            next_attempt_at,
        } => {
            let delivered = i64::from(*status == "delivered");
            let terminal = i64::from(*status == "failed");
            sqlx::query(
                "UPDATE webhook_events SET attempts = attempts + 1, last_attempted_at = $1, \
                 last_status_code = $2, last_failure_code = $3, last_error_message = $4, \
                 last_delivered_at = CASE WHEN $5 = 1 THEN $1 ELSE last_delivered_at END, \
                 run_attempts = CASE WHEN replay_count = $6 THEN run_attempts + 1 ELSE run_attempts END, \
                 status = CASE WHEN replay_count = $6 THEN $7 ELSE status END, \
                 terminal_failure_at = CASE WHEN replay_count = $6 AND $8 = 1 THEN $1 ELSE terminal_failure_at END, \
                 next_attempt_at = CASE WHEN replay_count = $6 THEN $9 ELSE $1 END, \
                 lease_until = NULL, lease_owner = NULL \
                 WHERE seq = $10 AND lease_owner = $11",
            )
            .bind(*at_ms)
            .bind(*status_code)
            .bind(*failure_code)
            .bind(error_message.as_deref())
            .bind(delivered)
            .bind(r.replay_count)
            .bind(*status)
            .bind(terminal)
            .bind(*next_attempt_at)
            .bind(r.seq)
            .bind(owner)
            .execute(exec)
            .await?
        }
        Outcome::Postponed {
            until,
            failure_code,
        } => {
            sqlx::query(
                "UPDATE webhook_events SET next_attempt_at = $1, last_failure_code = $2, \
                 lease_until = NULL, lease_owner = NULL WHERE seq = $3 AND lease_owner = $4",
            )
            .bind(*until)
            .bind(*failure_code)
            .bind(r.seq)
            .bind(owner)
            .execute(exec)
            .await?
        }
        Outcome::NoUrl => {
            sqlx::query(
                "UPDATE webhook_events SET status = 'none', next_attempt_at = NULL, \
                 lease_until = NULL, lease_owner = NULL WHERE seq = $1 AND lease_owner = $2",
            )
            .bind(r.seq)
            .bind(owner)
            .execute(exec)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// One row of [`record_batch_pg`]'s `VALUES`: kind, attempt time, status, HTTP status, failure
/// code, error message, next due time.
type BatchRow<'a> = (
    &'a str,
    Option<i64>,
    Option<&'a str>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
);

/// PostgreSQL: records many outcomes in one statement (one round trip instead of one per
/// event), with the same rules as [`record`]. Returns how many rows were updated.
pub async fn record_batch_pg(
    tx: &mut crate::Tx,
    owner: &str,
    batch: &[Recorded],
) -> Result<u64, StoreError> {
    const COLS: usize = 9;
    let mut updated = 0;
    for chunk in batch.chunks(1_000) {
        let mut rows = Vec::with_capacity(chunk.len());
        for i in 0..chunk.len() {
            let b = i * COLS + 2;
            rows.push(format!(
                "(CAST(${} AS BIGINT), CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS BIGINT), \
                 CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS TEXT), \
                 CAST(${} AS BIGINT))",
                b,
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        let sql = format!(
            "UPDATE webhook_events AS e SET \
             attempts = e.attempts + CASE WHEN v.kind = 'a' THEN 1 ELSE 0 END, \
             last_attempted_at = CASE WHEN v.kind = 'a' THEN v.at ELSE e.last_attempted_at END, \
             last_status_code = CASE WHEN v.kind = 'a' THEN v.code ELSE e.last_status_code END, \
             last_failure_code = CASE WHEN v.kind IN ('a', 'p') THEN v.fcode ELSE e.last_failure_code END, \
             last_error_message = CASE WHEN v.kind = 'a' THEN v.err ELSE e.last_error_message END, \
             last_delivered_at = CASE WHEN v.kind = 'a' AND v.status = 'delivered' THEN v.at ELSE e.last_delivered_at END, \
             run_attempts = CASE WHEN v.kind = 'a' AND e.replay_count = v.rc THEN e.run_attempts + 1 ELSE e.run_attempts END, \
             status = CASE WHEN v.kind = 'n' THEN 'none' \
                 WHEN v.kind = 'a' AND e.replay_count = v.rc THEN v.status ELSE e.status END, \
             terminal_failure_at = CASE WHEN v.kind = 'a' AND e.replay_count = v.rc AND v.status = 'failed' \
                 THEN v.at ELSE e.terminal_failure_at END, \
             next_attempt_at = CASE WHEN v.kind = 'n' THEN NULL WHEN v.kind = 'p' THEN v.next \
                 WHEN e.replay_count = v.rc THEN v.next ELSE v.at END, \
             lease_until = NULL, lease_owner = NULL \
             FROM (VALUES {}) AS v(seq, rc, kind, at, status, code, fcode, err, next) \
             WHERE e.seq = v.seq AND e.lease_owner = $1",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(owner);
        for r in chunk {
            let (kind, at, status, code, fcode, err, next): BatchRow<'_> = match &r.outcome {
                Outcome::Attempt {
                    at_ms,
                    status,
                    status_code,
                    failure_code,
                    error_message,
                    next_attempt_at,
                } => (
                    "a",
                    Some(*at_ms),
                    Some(*status),
                    *status_code,
                    *failure_code,
                    error_message.as_deref(),
                    *next_attempt_at,
                ),
                Outcome::Postponed {
                    until,
                    failure_code,
                } => (
                    "p",
                    None,
                    None,
                    None,
                    Some(*failure_code),
                    None,
                    Some(*until),
                ),
                Outcome::NoUrl => ("n", None, None, None, None, None, None),
            };
            q = q
                .bind(r.seq)
                .bind(r.replay_count)
                .bind(kind)
                .bind(at)
                .bind(status)
                .bind(code)
                .bind(fcode)
                .bind(err)
                .bind(next);
        }
        updated += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(updated)
}

/// PostgreSQL: [`ensure_head`] for many keys in one statement (each key at most once).
pub async fn ensure_heads_pg(
    tx: &mut crate::Tx,
    api_key_ids: &[String],
) -> Result<u64, StoreError> {
    let mut done = 0;
    for chunk in api_key_ids.chunks(1_000) {
        let marks: Vec<String> = (1..=chunk.len())
            .map(|i| format!("(CAST(${i} AS TEXT))"))
            .collect();
        let sql = format!(
            "UPDATE webhook_events AS e SET next_attempt_at = COALESCE(e.run_started_at, e.created_at) \
             FROM (SELECT (SELECT MIN(w.seq) FROM webhook_events w WHERE w.api_key_id = k.id \
                     AND w.status IN {ACTIVE}) AS head \
                   FROM (VALUES {}) AS k(id) \
                   WHERE NOT EXISTS (SELECT 1 FROM webhook_events h WHERE h.api_key_id = k.id \
                     AND h.next_attempt_at IS NOT NULL)) AS t \
             WHERE e.seq = t.head AND e.next_attempt_at IS NULL AND e.status IN {ACTIVE}",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for k in chunk {
            q = q.bind(k);
        }
        done += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(done)
}

/// The webhook target and signing secrets of a key, as the worker needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTarget {
    pub api_key_id: String,
    pub webhook_url: Option<String>,
    pub secret_enc: Option<String>,
    pub prev_secret_enc: Option<String>,
    pub prev_until: Option<i64>,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl KeyTarget {
    /// The sealed secrets that sign at `now_ms`: the current one, then the previous one during
    /// its overlap.
    pub fn sealed_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut out = Vec::with_capacity(2);
        if let Some(s) = &self.secret_enc {
            out.push(s.as_str());
        }
        if let (Some(p), Some(until)) = (&self.prev_secret_enc, self.prev_until) {
            if now_ms < until {
                out.push(p.as_str());
            }
        }
        out
    }
}

const TARGET_COLUMNS: &str = "id, webhook_url, webhook_secret_enc, webhook_secret_prev_enc, \
    webhook_secret_prev_until, webhook_secret_rotated_at, revoked_at";

fn target_from_row(row: &AnyRow) -> Result<KeyTarget, sqlx::Error> {
    Ok(KeyTarget {
        api_key_id: row.try_get("id")?,
        webhook_url: row.try_get("webhook_url")?,
        secret_enc: row.try_get("webhook_secret_enc")?,
        prev_secret_enc: row.try_get("webhook_secret_prev_enc")?,
        prev_until: row.try_get("webhook_secret_prev_until")?,
        rotated_at: row.try_get("webhook_secret_rotated_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub async fn key_target<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    lock: &str,
) -> Result<Option<KeyTarget>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {TARGET_COLUMNS} FROM api_keys WHERE id = $1{lock}"
    ))
    .bind(api_key_id)
    .fetch_optional(exec)
    .await?;
    row.as_ref()
        .map(target_from_row)
        .transpose()
        .map_err(StoreError::from)
}

/// Targets of several keys (one query per 500 ids).
pub async fn key_targets(
    pool: &sqlx::AnyPool,
    ids: &[String],
) -> Result<Vec<KeyTarget>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {TARGET_COLUMNS} FROM api_keys WHERE id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for row in q.fetch_all(pool).await? {
            out.push(target_from_row(&row)?);
        }
    }
    Ok(out)
}

/// Stores a rotation: `new_enc` becomes current, the old current is kept until `prev_until`.
pub async fn store_rotation<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    new_enc: &str,
    prev_enc: Option<&str>,
    prev_until: Option<i64>,
    rotated_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE api_keys SET webhook_secret_enc = $1, webhook_secret_prev_enc = $2, \
         webhook_secret_prev_until = $3, webhook_secret_rotated_at = $4 WHERE id = $5",
    )
    .bind(new_enc)
    .bind(prev_enc)
    .bind(prev_until)
    .bind(rotated_at)
    .bind(api_key_id)
    .execute(exec)
    .await?;
    Ok(())
}

/// Filters of the event listing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub statuses: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Keyset position: rows strictly older than `(created_at, seq)`.
    pub before: Option<(i64, i64)>,
}

/// A key's events, newest first.
pub async fn list_events<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM webhook_events WHERE api_key_id = $1");
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if !f.statuses.is_empty() {
        let marks: Vec<String> = f.statuses.iter().map(|_| next()).collect();
        sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
    }
    if f.from_ms.is_some() {
        sql.push_str(&format!(" AND created_at >= {}", next()));
    }
    if f.to_ms.is_some() {
        sql.push_str(&format!(" AND created_at <= {}", next()));
    }
    if f.before.is_some() {
        let (a, b, c) = (next(), next(), next());
        sql.push_str(&format!(
            " AND (created_at < {a} OR (created_at = {b} AND seq < {c}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, seq DESC LIMIT {}",
        next()
    ));
    let mut q = sqlx::query_as(&sql).bind(api_key_id);
    for s in &f.statuses {
        q = q.bind(s);
    }
    if let Some(v) = f.from_ms {
        q = q.bind(v);
    }
    if let Some(v) = f.to_ms {
        q = q.bind(v);
    }
    if let Some((at, seq)) = f.before {
        q = q.bind(at).bind(at).bind(seq);
    }
    Ok(q.bind(limit).fetch_all(exec).await?)
}

pub async fn get_event<'c>(exec: impl Exec<'c>, id: &str) -> Result<Option<EventRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// Starts a replay of an event (any status): a new run of the schedule from `now_ms`, the
/// history (attempts, last results) kept. A head waiting for its next attempt is due at once;
/// an event in flight starts its new run when its current attempt ends. The caller checks the
/// replay cap, locks the key and calls [`ensure_head`] afterwards.
pub async fn start_replay<'c>(
    exec: impl Exec<'c>,
    seq: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhook_events SET replay_count = replay_count + 1, status = 'pending', \
         run_started_at = $1, run_attempts = 0, terminal_failure_at = NULL, \
         next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL \
             WHEN lease_until IS NOT NULL AND lease_until > $1 THEN next_attempt_at ELSE $1 END \
         WHERE seq = $2",
    )
    .bind(now_ms)
    .bind(seq)
    .execute(exec)
    .await?;
    Ok(())
}

/// Events of a key an operator bulk replay selects.
pub async fn select_for_bulk<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    statuses: &[String],
    since_ms: Option<i64>,
) -> Result<Vec<EventRow>, StoreError> {
    list_events(
        exec,
        api_key_id,
        &ListFilter {
            statuses: statuses.to_vec(),
            from_ms: since_ms,
            ..ListFilter::default()
        },
        1_000_000,
    )
    .await
    .map(|mut rows| {
        // Replay oldest first, so the queue keeps event order.
        rows.reverse();
        rows
    })
}

/// `webhookDelivery` of a trade (`api.md` §5): the state of its latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    pub status: String,
    pub attempts: i64,
    pub last_attempted_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_failure_code: Option<String>,
    pub terminal_failure_at: Option<i64>,
}

pub async fn delivery_summary<'c>(
    exec: impl Exec<'c>,
    trade_id: &str,
) -> Result<Option<DeliverySummary>, StoreError> {
    let row = sqlx::query(
        "SELECT status, attempts, last_attempted_at, last_status_code, last_failure_code, \
         terminal_failure_at FROM webhook_events WHERE trade_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(trade_id)
    .fetch_optional(exec)
    .await?;
    row.map(|row| {
        Ok(DeliverySummary {
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            last_attempted_at: row.try_get("last_attempted_at")?,
            last_status_code: row.try_get("last_status_code")?,
            last_failure_code: row.try_get("last_failure_code")?,
            terminal_failure_at: row.try_get("terminal_failure_at")?,
        })
    })
    .transpose()
    .map_err(|e: sqlx::Error| e.into())
}

/// Every event of a trade, oldest first (its trace shows their deliveries).
pub async fn events_of_trade<'c>(
    exec: impl Exec<'c>,
    trade_id: &str,
) -> Result<Vec<EventRow>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE trade_id = $1 ORDER BY seq"
    ))
    .bind(trade_id)
    .fetch_all(exec)
    .await?)
}

/// The `webhooks` window of `GET /v1/account/usage`: events raised since `since_ms`, and how
/// many of them are delivered and terminally failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageCounts {
    pub emitted: i64,
    pub delivered: i64,
    pub failed: i64,
}

pub async fn usage_since<'c>(
    exec: impl Exec<'c>,
    api_key_id: &str,
    since_ms: i64,
) -> Result<UsageCounts, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS emitted, \
         CAST(COALESCE(SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END), 0) AS BIGINT) AS delivered, \
         CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed \
         FROM webhook_events WHERE api_key_id = $1 AND created_at >= $2",
    )
    .bind(api_key_id)
    .bind(since_ms)
    .fetch_one(exec)
    .await?;
    Ok(UsageCounts {
        emitted: row.try_get("emitted")?,
        delivered: row.try_get("delivered")?,
        failed: row.try_get("failed")?,
    })
}

/// Deletes settled events (delivered, terminally failed, never sent) whose last activity is
/// older than `before_ms`, at most `limit` at a time; returns how many.
pub async fn purge_settled<'c>(
    exec: impl Exec<'c>,
    before_ms: i64,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM webhook_events WHERE seq IN (SELECT seq FROM webhook_events \
         WHERE status IN ('delivered', 'failed', 'none') \
         AND COALESCE(terminal_failure_at, last_delivered_at, created_at) < $1 LIMIT $2)",
    )
    .bind(before_ms)
    .bind(limit)
    .execute(exec)
    .await?
    .rows_affected())
}

/// How many events are still to be delivered (metrics, benchmarks).
pub async fn count_active<'c>(exec: impl Exec<'c>) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events WHERE status IN {ACTIVE}"
    ))
    .fetch_one(exec)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_are_stable() {
        assert_eq!(lock_id("a"), lock_id("a"));
        assert_ne!(lock_id("a"), lock_id("b"));
    }
}
