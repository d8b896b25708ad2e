//! Fail closed, then break: while the limiter store fails, requests are refused with
//! `503 RATE_LIMIT_UNAVAILABLE`; after ten consecutive failures the breaker opens and requests
//! are served unmetered (logged loudly) for 30 s, after which one call probes the store again.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

use super::{LimiterStore, StoreUnavailable};

pub const FAILURES_TO_OPEN: u32 = 10;
pub const OPEN_FOR_MS: i64 = 30_000;

/// What a guarded call produced.
#[derive(Debug)]
pub enum Guarded<T> {
    /// The store answered.
    Answer(T),
    /// The breaker is open: proceed without metering.
    Unmetered,
}

pub struct Breaker {
    store: Arc<dyn LimiterStore>,
    consecutive_failures: AtomicU32,
    open_until_ms: AtomicI64,
}

impl Breaker {
    pub fn new(store: Arc<dyn LimiterStore>) -> Self {
        Breaker {
            store,
            consecutive_failures: AtomicU32::new(0),
            open_until_ms: AtomicI64::new(0),
        }
    }

    pub fn store(&self) -> &dyn LimiterStore {
        self.store.as_ref()
    }

    pub fn is_open(&self, now_ms: i64) -> bool {
        now_ms < self.open_until_ms.load(Ordering::Acquire)
    }

    pub async fn call<'a, T, F, Fut>(
        &'a self,
        now_ms: i64,
        f: F,
    ) -> Result<Guarded<T>, StoreUnavailable>
    where
        F: FnOnce(&'a dyn LimiterStore) -> Fut,
        Fut: Future<Output = Result<T, StoreUnavailable>> + 'a,
    {
        if self.is_open(now_ms) {
            return Ok(Guarded::Unmetered);
        }
        match f(self.store.as_ref()).await {
            Ok(answer) => {
                if self.consecutive_failures.swap(0, Ordering::AcqRel) >= FAILURES_TO_OPEN {
                    tracing::warn!("limiter store answers again: rate limits are enforced again");
                }
                Ok(Guarded::Answer(answer))
            }
            Err(err) => {
                let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
                if failures >= FAILURES_TO_OPEN {
                    self.open_until_ms
                        .store(now_ms + OPEN_FOR_MS, Ordering::Release);
                    tracing::error!(
                        failures,
                        error = %err,
                        "LIMITER BREAKER OPEN: the limiter store keeps failing; serving requests UNMETERED (no rate limits, no lockouts) for 30 s"
                    );
                } else {
                    tracing::warn!(failures, error = %err, "limiter store failed; refusing the request");
                }
                Err(err)
            }
        }
    }
}
