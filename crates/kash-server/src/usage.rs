//! Per-key usage counting without a database write per request: counts are aggregated in
//! memory and added to the per-minute counters every second (and on shutdown). Each instance
//! adds its own deltas, so a fleet's counts sum correctly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kash_store::{keys, usage, Db, StoreError};
use tokio_util::sync::CancellationToken;

pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub const REQUESTS: &str = "requests";
pub const RATE_LIMITED: &str = "rate_limited";

#[derive(Default)]
struct Pending {
    counts: HashMap<(String, &'static str, i64), i64>,
    last_used: HashMap<String, i64>,
}

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<Pending>,
    /// Serialises flushes so a flush requested by a handler never races the timer's.
    flushing: tokio::sync::Mutex<()>,
}

fn minute(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(60_000)
}

impl UsageRecorder {
    pub fn count(&self, key_id: &str, metric: &'static str, now_ms: i64) {
        if let Ok(mut p) = self.pending.lock() {
            *p.counts
                .entry((key_id.to_string(), metric, minute(now_ms)))
                .or_default() += 1;
        }
    }

    pub fn used(&self, key_id: &str, now_ms: i64) {
        if let Ok(mut p) = self.pending.lock() {
            let at = p.last_used.entry(key_id.to_string()).or_default();
            *at = (*at).max(now_ms);
        }
    }

    /// Writes everything pending. On failure the counts are put back for the next flush.
    pub async fn flush(&self, db: &Db) -> Result<(), StoreError> {
        let _guard = self.flushing.lock().await;
        let taken = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        if taken.counts.is_empty() && taken.last_used.is_empty() {
            return Ok(());
        }
        let result = async {
            let mut tx = db.begin().await?;
            for ((key, metric, bucket), delta) in &taken.counts {
                usage::add(&mut *tx, key, metric, *bucket, *delta).await?;
            }
            // In key-id order: trade batches lock keys in that order too (no deadlock).
            let mut touched: Vec<_> = taken.last_used.iter().collect();
            touched.sort();
            for (key, at) in touched {
                keys::touch_last_used(&mut *tx, key, *at).await?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        if result.is_err() {
            if let Ok(mut p) = self.pending.lock() {
                for (cell, delta) in taken.counts {
                    *p.counts.entry(cell).or_default() += delta;
                }
                for (key, at) in taken.last_used {
                    let slot = p.last_used.entry(key).or_default();
                    *slot = (*slot).max(at);
                }
            }
        }
        result
    }

    pub async fn run(self: std::sync::Arc<Self>, db: Db, stop: CancellationToken) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    if let Err(err) = self.flush(&db).await {
                        tracing::warn!(error = %err, "usage counters not flushed; retrying");
                    }
                }
            }
        }
        if let Err(err) = self.flush(&db).await {
            tracing::error!(error = %err, "usage counters lost at shutdown");
        }
    }
}
