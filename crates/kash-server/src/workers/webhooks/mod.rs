//! The webhook delivery worker (`webhooks.md`, "Delivery").
//!
//! One loop per process takes new events from the outbox (stamping `outboxEmittedAt` and
//! choosing each key's queue head), claims due queue heads under a lease, and sends each in
//! its own task; a single writer task records outcomes in batches (one transaction per batch)
//! and promotes each key's next event. Nothing is held in memory that the database does not
//! also know: a crash loses at most the outcome of attempts in flight, whose leases expire and
//! which are then attempted again (at-least-once). No transaction is ever open across an HTTP
//! request.

pub mod breaker;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kash_core::signature;
use kash_service::webhooks::schedule::{next_due, FailureCode};
use kash_service::webhooks::sender::Sender;
use kash_service::webhooks::RETENTION_MS;
use kash_service::Services;
use kash_store::webhooks::{self as store, EventRow, KeyTarget, Outcome, Recorded};
use kash_store::StoreError;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use breaker::{Admit, Breakers};

/// Leases outlive the request timeout by this much before another worker may take over.
const LEASE_MARGIN_MS: i64 = 5_000;
/// Outcomes recorded per transaction, at most.
const WRITE_BATCH: usize = 512;
/// Keys whose new events are taken per transaction.
const INTAKE_KEYS: usize = 250;
const PURGE_EVERY_MS: i64 = 3_600_000;
const PURGE_BATCH: i64 = 5_000;
const POSTGRES_WRITERS: usize = 4;

/// The writers' inboxes; a key always goes to the same one.
struct Outcomes(Vec<mpsc::Sender<Recorded>>);

impl Outcomes {
    fn for_key(&self, api_key_id: &str) -> mpsc::Sender<Recorded> {
        let h = api_key_id.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        self.0[h % self.0.len()].clone()
    }
}

/// How a worker behaves; from the settings, shortened by tests.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub timeout: Duration,
    pub poll: Duration,
    pub concurrency: usize,
}

impl WorkerConfig {
    pub fn from_settings(svc: &Services) -> Self {
        let s = &svc.settings;
        WorkerConfig {
            timeout: Duration::from_millis(s.webhook_timeout_ms),
            poll: Duration::from_millis(s.webhook_poll_ms),
            concurrency: s.webhook_concurrency as usize,
        }
    }
}

pub struct WebhookWorker {
    svc: Services,
    metrics: Arc<Metrics>,
    sender: Sender,
    config: WorkerConfig,
    /// Lease owner: unique per process, so a restarted process never mistakes an old lease
    /// for its own.
    owner: String,
    breakers: Mutex<Breakers>,
    /// Opened secrets by sealed value (opening costs an AEAD pass per attempt otherwise).
    secrets: Mutex<HashMap<String, String>>,
    in_flight: AtomicUsize,
    wake: Notify,
}

impl WebhookWorker {
    pub fn new(svc: Services, metrics: Arc<Metrics>) -> anyhow::Result<Arc<Self>> {
        let config = WorkerConfig::from_settings(&svc);
        let sender = Sender::new(config.timeout, svc.settings.webhook_allow_private)?;
        let timeout_ms = i64::try_from(config.timeout.as_millis()).unwrap_or(i64::MAX / 4);
        Ok(Arc::new(WebhookWorker {
            svc,
            metrics,
            sender,
            owner: format!("w-{}", ulid::Ulid::new()),
            breakers: Mutex::new(Breakers::new(timeout_ms)),
            secrets: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            wake: Notify::new(),
            config,
        }))
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.config.timeout.as_millis()).unwrap_or(i64::MAX / 4) + LEASE_MARGIN_MS
    }

    /// Runs until `stop`; attempts in flight then finish (bounded by the timeout) and their
    /// outcomes are recorded before this returns.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        // PostgreSQL: several writers, each owning a share of the keys (so a key's outcomes
        // stay in order), overlap their round trips. SQLite has one writer connection anyway.
        let writers = match self.svc.db.backend() {
            kash_store::Backend::Postgres => POSTGRES_WRITERS,
            kash_store::Backend::Sqlite => 1,
        };
        let mut senders = Vec::with_capacity(writers);
        let mut tasks = Vec::with_capacity(writers);
        for _ in 0..writers {
            let (tx, rx) = mpsc::channel::<Recorded>(self.config.concurrency * 2 + 16);
            senders.push(tx);
            tasks.push(tokio::spawn(self.clone().write_outcomes(rx)));
        }
        let results = Outcomes(senders);
        let mut last_purge: Option<i64> = None;
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let now = self.svc.now_ms();
            if last_purge.is_none_or(|at| now.saturating_sub(at) >= PURGE_EVERY_MS) {
                last_purge = Some(now);
                self.purge(now).await;
            }
            let full = match self.cycle(&results).await {
                Ok(full) => {
                    failures = 0;
                    full
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    if failures.is_power_of_two() {
                        tracing::warn!(error = %err, failures, "webhook worker: database error; retrying");
                    }
                    false
                }
            };
            // With every slot filled, wait for outcomes to free some (the writer wakes us);
            // otherwise for the next poll, or a wake-up when outcomes promote new heads.
            let _ = full;
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
        drop(results);
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Intake, then claim and dispatch. True when every free slot was filled.
    async fn cycle(self: &Arc<Self>, results: &Outcomes) -> Result<bool, StoreError> {
        self.intake().await?;
        let free = self
            .config
            .concurrency
            .saturating_sub(self.in_flight.load(Ordering::SeqCst));
        if free == 0 {
            return Ok(true);
        }
        let now = self.svc.now_ms();
        let claimed = store::claim_due(
            self.svc.db.writer(),
            self.svc.db.backend(),
            &self.owner,
            now,
            now + self.lease_ms(),
            free as i64,
        )
        .await?;
        if claimed.is_empty() {
            return Ok(false);
        }
        let full = claimed.len() >= free;
        let mut key_ids: Vec<String> = claimed.iter().map(|e| e.api_key_id.clone()).collect();
        key_ids.sort_unstable();
        key_ids.dedup();
        let targets: HashMap<String, KeyTarget> =
            match store::key_targets(self.svc.db.reader(), &key_ids).await {
                Ok(list) => list
                    .into_iter()
                    .map(|t| (t.api_key_id.clone(), t))
                    .collect(),
                Err(err) => {
                    // The leases expire and the events are claimed again.
                    return Err(err);
                }
            };
        let mut seen = HashSet::new();
        for event in claimed {
            if !seen.insert(event.api_key_id.clone()) {
                // Never two of one key at once (the queue guarantees it; this is a belt).
                continue;
            }
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            let target = targets.get(&event.api_key_id).cloned();
            let worker = self.clone();
            let results = results.for_key(&event.api_key_id);
            tokio::spawn(async move {
                let recorded = worker.attempt(event, target).await;
                if results.send(recorded).await.is_err() {
                    worker.in_flight.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
        Ok(full)
    }

    /// Takes new events from the outbox and gives each affected key a queue head.
    async fn intake(&self) -> Result<(), StoreError> {
        let keys = store::keys_with_new_events(
            self.svc.db.reader(),
            self.svc.db.backend(),
            (INTAKE_KEYS * 8) as i64,
        )
        .await?;
        for chunk in keys.chunks(INTAKE_KEYS) {
            let now = self.svc.now_ms();
            let mut tx = self.svc.db.begin().await?;
            store::lock_keys(&mut tx, self.svc.db.backend(), chunk).await?;
            for key in chunk {
                store::take_new_events(&mut *tx, self.svc.db.backend(), key, now).await?;
                store::ensure_head(&mut *tx, self.svc.db.backend(), key).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn purge(&self, now: i64) {
        loop {
            match store::purge_settled(self.svc.db.writer(), now - RETENTION_MS, PURGE_BATCH).await
            {
                Ok(n) if n as i64 == PURGE_BATCH => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook retention purge failed; will retry");
                    break;
                }
            }
        }
    }

    fn open_secrets(&self, target: &KeyTarget, now: i64) -> Vec<String> {
        let mut cache = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 50_000 {
            cache.clear();
        }
        let mut out = Vec::with_capacity(2);
        for sealed in target.sealed_secrets(now) {
            if let Some(open) = cache.get(sealed) {
                out.push(open.clone());
                continue;
            }
            match self.svc.secrets.secret_box.open(sealed) {
                Ok(open) => {
                    cache.insert(sealed.to_string(), open.clone());
                    out.push(open);
                }
                Err(err) => {
                    tracing::error!(key_id = %target.api_key_id, error = %err, "webhook secret cannot be opened")
                }
            }
        }
        out
    }

    /// One attempt of one event (or its postponement), ready to record.
    async fn attempt(&self, event: EventRow, target: Option<KeyTarget>) -> Recorded {
        let recorded = |outcome| Recorded {
            seq: event.seq,
            api_key_id: event.api_key_id.clone(),
            replay_count: event.replay_count,
            outcome,
        };
        let Some((target, url)) = target.and_then(|t| t.webhook_url.clone().map(|u| (t, u))) else {
            self.metrics.webhook_outcome("no_url");
            return recorded(Outcome::NoUrl);
        };
        let now = self.svc.now_ms();
        let admit = self
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(&url, now);
        if let Admit::Wait(until) = admit {
            self.metrics.webhook_outcome("circuit_open");
            return recorded(Outcome::Postponed {
                until,
                failure_code: FailureCode::CircuitOpen.as_str(),
            });
        }
        let secrets = self.open_secrets(&target, now);
        if secrets.is_empty() {
            // A misconfigured KASH_SECRETS_KEY: nothing can be signed. Try again later rather
            // than send unsigned requests or spend the event's attempts.
            return recorded(Outcome::Postponed {
                until: now + 60_000,
                failure_code: FailureCode::Network.as_str(),
            });
        }
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let t = self.svc.now_ms();
        let header = signature::webhook_header(&refs, t, event.body.as_bytes());
        let out = self
            .sender
            .post(
                &url,
                &event.id,
                &event.api_version,
                &header,
                Bytes::from(event.body.clone()),
            )
            .await;
        let ended = self.svc.now_ms();
        self.breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(&url, ended, out.failure.is_none(), admit == Admit::Probe);
        let (status, next) = match out.failure {
            None => ("delivered", None),
            Some(code) if !code.retryable() => ("failed", None),
            Some(_) => match next_due(
                event.schedule_base(),
                event.run_attempts + 1,
                ended,
                out.retry_after_ms,
            ) {
                Some(due) => ("retrying", Some(due)),
                None => ("failed", None),
            },
        };
        self.metrics
            .webhook_outcome(out.failure.map_or("delivered", |f| f.as_str()));
        recorded(Outcome::Attempt {
            at_ms: t,
            status,
            status_code: out.status_code.map(i64::from),
            failure_code: out.failure.map(|f| f.as_str()),
            error_message: out.error_message,
            next_attempt_at: next,
        })
    }

    /// Records outcomes in batches until every sender is gone.
    async fn write_outcomes(self: Arc<Self>, mut rx: mpsc::Receiver<Recorded>) {
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < WRITE_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            let mut tries = 0u32;
            loop {
                match self.commit(&batch).await {
                    Ok(()) => break,
                    Err(err) => {
                        tries += 1;
                        if tries >= 20 {
                            // The leases expire and these events are attempted again.
                            tracing::error!(error = %err, count = batch.len(), "webhook outcomes could not be recorded; they will be retried");
                            break;
                        }
                        tracing::warn!(error = %err, "recording webhook outcomes failed; retrying");
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
                    }
                }
            }
            self.in_flight.fetch_sub(batch.len(), Ordering::SeqCst);
            batch.clear();
            self.wake.notify_one();
        }
    }

    async fn commit(&self, batch: &[Recorded]) -> Result<(), StoreError> {
        let mut keys: Vec<String> = batch.iter().map(|r| r.api_key_id.clone()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut tx = self.svc.db.begin().await?;
        let backend = self.svc.db.backend();
        store::lock_keys(&mut tx, backend, &keys).await?;
        if backend == kash_store::Backend::Postgres {
            // A few round trips per batch rather than two per event.
            store::record_batch_pg(&mut tx, &self.owner, batch).await?;
            store::ensure_heads_pg(&mut tx, &keys).await?;
        } else {
            for r in batch {
                if !store::record(&mut *tx, &self.owner, r).await? {
                    tracing::debug!(seq = r.seq, "outcome dropped: the lease was taken over");
                }
            }
            for key in &keys {
                store::ensure_head(&mut *tx, backend, key).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
