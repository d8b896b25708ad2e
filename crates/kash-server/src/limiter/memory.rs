//! The in-process limiter store (single node).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{bucket, sliding_decision, Decision, LimiterStore, LockoutPolicy, StoreUnavailable};

#[derive(Default)]
struct State {
    windows: HashMap<String, VecDeque<i64>>,
    buckets: HashMap<String, (i64, i64)>,
    failures: HashMap<String, VecDeque<i64>>,
    locks: HashMap<String, i64>,
    ops: u64,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, StoreUnavailable> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreUnavailable("in-process limiter state poisoned".into()))?;
        state.ops += 1;
        if state.ops % 10_000 == 0 {
            evict_idle(&mut state);
        }
        Ok(f(&mut state))
    }
}

/// Drops entries that can no longer affect a decision, so idle keys do not accumulate.
fn evict_idle(state: &mut State) {
    state.windows.retain(|_, log| !log.is_empty());
    state.failures.retain(|_, log| !log.is_empty());
    if let Some(latest) = state.buckets.values().map(|(_, at)| *at).max() {
        // A bucket untouched for an hour is full again for every limit we use.
        state.buckets.retain(|_, (_, at)| latest - *at < 3_600_000);
    }
}

fn prune(log: &mut VecDeque<i64>, window_ms: i64, now_ms: i64) {
    while log.front().is_some_and(|t| *t <= now_ms - window_ms) {
        log.pop_front();
    }
}

#[async_trait]
impl LimiterStore for MemoryStore {
    async fn sliding_window(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, StoreUnavailable> {
        self.with(|state| {
            let log = state.windows.entry(key.to_string()).or_default();
            prune(log, window_ms, now_ms);
            let allowed = log.len() < limit as usize;
            if allowed {
                log.push_back(now_ms);
            }
            sliding_decision(
                allowed,
                limit,
                log.len() as u64,
                log.front().copied().unwrap_or(now_ms),
                log.back().copied().unwrap_or(now_ms),
                window_ms,
                now_ms,
            )
        })
    }

    async fn token_bucket(
        &self,
        key: &str,
        capacity: u32,
        period_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, StoreUnavailable> {
        self.with(|state| {
            let prior = state.buckets.get(key).copied();
            let (units, decision) = bucket::take(
                prior.map(|p| p.0),
                prior.map(|p| p.1),
                capacity,
                period_ms,
                now_ms,
            );
            state.buckets.insert(key.to_string(), (units, now_ms));
            decision
        })
    }

    async fn locked_until(&self, ip: &str, now_ms: i64) -> Result<Option<i64>, StoreUnavailable> {
        self.with(|state| match state.locks.get(ip).copied() {
            Some(until) if until > now_ms => Some(until),
            Some(_) => {
                state.locks.remove(ip);
                None
            }
            None => None,
        })
    }

    async fn record_failure(
        &self,
        ip: &str,
        policy: LockoutPolicy,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreUnavailable> {
        self.with(|state| {
            let log = state.failures.entry(ip.to_string()).or_default();
            prune(log, policy.window_ms, now_ms);
            log.push_back(now_ms);
            if log.len() > policy.max_failures as usize {
                let until = now_ms + policy.lock_ms;
                state.locks.insert(ip.to_string(), until);
                log.clear();
                Some(until)
            } else {
                None
            }
        })
    }

    async fn ping(&self) -> Result<(), StoreUnavailable> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sliding_window_admits_limit_then_refuses() {
        let store = MemoryStore::new();
        for i in 0..60 {
            let d = store
                .sliding_window("k", 60, 60_000, 1_000 + i)
                .await
                .unwrap();
            assert!(d.allowed);
            assert_eq!(d.remaining, 59 - i as u32);
        }
        let refused = store.sliding_window("k", 60, 60_000, 2_000).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_ms, 1_000 + 60_000 - 2_000);
        // Once the first request leaves the window, one slot frees.
        let later = store.sliding_window("k", 60, 60_000, 61_001).await.unwrap();
        assert!(later.allowed);
    }

    #[tokio::test]
    async fn lockout_after_more_than_max() {
        let store = MemoryStore::new();
        let policy = LockoutPolicy {
            max_failures: 20,
            window_ms: 300_000,
            lock_ms: 900_000,
        };
        for i in 0..20 {
            assert_eq!(store.record_failure("ip", policy, i).await.unwrap(), None);
        }
        assert_eq!(store.locked_until("ip", 20).await.unwrap(), None);
        assert_eq!(
            store.record_failure("ip", policy, 20).await.unwrap(),
            Some(900_020)
        );
        assert_eq!(store.locked_until("ip", 21).await.unwrap(), Some(900_020));
        assert_eq!(store.locked_until("other", 21).await.unwrap(), None);
        assert_eq!(store.locked_until("ip", 900_020).await.unwrap(), None);
    }
}
