//! The in-memory aggregator: renders, clicks and viewer hashes are added to maps on the
//! request path (no database write per render) and written in one transaction per flush.
//! A failed flush puts its counts back, so nothing counted is lost while the process lives;
//! graceful shutdown flushes after the HTTP server has finished its in-flight requests.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use kash_store::embeds::{self, CounterDelta, MarketClickDelta, ViewerRow};
use kash_store::{Db, StoreError};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CounterKey {
    org_id: String,
    day: String,
    kind: &'static str,
    target_id: String,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MarketKey {
    org_id: String,
    day: String,
    market_id: String,
    source: String,
}

#[derive(Default)]
struct Pending {
    counters: HashMap<CounterKey, (i64, i64)>,
    market_clicks: HashMap<MarketKey, i64>,
    viewers: HashSet<ViewerRow>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.market_clicks.is_empty() && self.viewers.is_empty()
    }

    fn merge(&mut self, other: Pending) {
        for (k, (r, c)) in other.counters {
            let e = self.counters.entry(k).or_default();
            e.0 += r;
            e.1 += c;
        }
        for (k, c) in other.market_clicks {
            *self.market_clicks.entry(k).or_default() += c;
        }
        self.viewers.extend(other.viewers);
    }
}

/// One counted event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub org_id: &'a str,
    pub day: &'a str,
    pub kind: &'static str,
    pub target_id: &'a str,
    pub source: &'a str,
    /// The viewer hash (renders only).
    pub viewer: Option<&'a str>,
}

#[derive(Default)]
pub struct EmbedTracker {
    pending: Mutex<Pending>,
    flushing: tokio::sync::Mutex<()>,
    /// Renders accepted since start (counted in memory), for benchmarks and metrics.
    pub renders_accepted: AtomicU64,
    pub clicks_accepted: AtomicU64,
}

impl EmbedTracker {
    fn key(e: &Event<'_>) -> CounterKey {
        CounterKey {
            org_id: e.org_id.to_string(),
            day: e.day.to_string(),
            kind: e.kind,
            target_id: e.target_id.to_string(),
            source: e.source.to_string(),
        }
    }

    fn with(&self, f: impl FnOnce(&mut Pending)) {
        // A poisoned lock means a panic while holding it; the maps are still consistent
        // (every update is a single insert), so keep counting.
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut pending);
    }

    pub fn render(&self, e: &Event<'_>) {
        let key = Self::key(e);
        let viewer = e.viewer.map(|v| ViewerRow {
            org_id: e.org_id.to_string(),
            day: e.day.to_string(),
            kind: e.kind.to_string(),
            target_id: e.target_id.to_string(),
            source: e.source.to_string(),
            viewer: v.to_string(),
        });
        self.with(|p| {
            p.counters.entry(key).or_default().0 += 1;
            if let Some(v) = viewer {
                p.viewers.insert(v);
            }
        });
        self.renders_accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn click(&self, e: &Event<'_>, market_id: &str) {
        let key = Self::key(e);
        let market = MarketKey {
            org_id: e.org_id.to_string(),
            day: e.day.to_string(),
            market_id: market_id.to_string(),
            source: e.source.to_string(),
        };
        self.with(|p| {
            p.counters.entry(key).or_default().1 += 1;
            *p.market_clicks.entry(market).or_default() += 1;
        });
        self.clicks_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes everything pending in one transaction; on failure the counts go back.
    pub async fn flush(&self, db: &Db) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock().await;
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *pending)
        };
        if batch.is_empty() {
            return Ok(());
        }
        match write(db, &batch).await {
            Ok(()) => Ok(()),
            Err(err) => {
                self.with(|p| p.merge(batch));
                Err(err)
            }
        }
    }

    /// Flushes every `interval` until `stop`, then once more.
    pub async fn run(
        self: std::sync::Arc<Self>,
        db: Db,
        interval: Duration,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => match self.flush(&db).await {
                    Ok(()) => metrics.embed_flush("ok"),
                    Err(err) => {
                        metrics.embed_flush("failed");
                        tracing::warn!(error = %err, "embed counters not flushed; retrying");
                    }
                },
            }
        }
        if let Err(err) = self.flush(&db).await {
            tracing::error!(error = %err, "embed counters not flushed at shutdown");
        }
    }
}

async fn write(db: &Db, batch: &Pending) -> Result<(), StoreError> {
    let counters: Vec<CounterDelta> = batch
        .counters
        .iter()
        .map(|(k, (renders, clicks))| CounterDelta {
            org_id: k.org_id.clone(),
            day: k.day.clone(),
            kind: k.kind.to_string(),
            target_id: k.target_id.clone(),
            source: k.source.clone(),
            renders: *renders,
            clicks: *clicks,
        })
        .collect();
    let market_clicks: Vec<MarketClickDelta> = batch
        .market_clicks
        .iter()
        .map(|(k, clicks)| MarketClickDelta {
            org_id: k.org_id.clone(),
            day: k.day.clone(),
            market_id: k.market_id.clone(),
            source: k.source.clone(),
            clicks: *clicks,
        })
        .collect();
    let viewers: Vec<ViewerRow> = batch.viewers.iter().cloned().collect();
    let mut tx = db.begin().await?;
    embeds::apply(&mut tx, &counters, &market_clicks, &viewers).await?;
    tx.commit().await?;
    Ok(())
}
