//! The limiter store: request quotas (sliding windows and token buckets) and the per-IP
//! brute-force lockout behind one interface, with an in-process implementation for a single
//! node and a Redis implementation for a fleet. [`guarded::Guarded`] adds the fail-closed
//! behaviour and the circuit breaker of `RATE_LIMIT_UNAVAILABLE`.

pub mod guarded;
pub mod memory;
pub mod redis;

use async_trait::async_trait;

/// The outcome of one metered request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When the budget is full again (Unix ms).
    pub reset_at_ms: i64,
    /// When a refused request may be retried (ms from now); 0 when allowed.
    pub retry_after_ms: i64,
}

/// A store that could not answer.
#[derive(Debug, thiserror::Error)]
#[error("limiter store unavailable: {0}")]
pub struct StoreUnavailable(pub String);

/// Lockout parameters (`api.md` §3): more than `max_failures` credential failures within
/// `window_ms` lock the IP for `lock_ms`.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window_ms: i64,
    pub lock_ms: i64,
}

#[async_trait]
pub trait LimiterStore: Send + Sync + 'static {
    /// Counts one request against `limit` requests per sliding `window_ms`.
    async fn sliding_window(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, StoreUnavailable>;

    /// Takes one token from a bucket of `capacity` that refills `capacity` tokens per
    /// `period_ms`.
    async fn token_bucket(
        &self,
        key: &str,
        capacity: u32,
        period_ms: i64,
        now_ms: i64,
    ) -> Result<Decision, StoreUnavailable>;

    /// The end of a running lockout of `ip` (Unix ms), if any.
    async fn locked_until(&self, ip: &str, now_ms: i64) -> Result<Option<i64>, StoreUnavailable>;

    /// Records one credential failure of `ip`; returns the lockout end when this failure
    /// started (or extended) a lockout.
    async fn record_failure(
        &self,
        ip: &str,
        policy: LockoutPolicy,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreUnavailable>;

    /// Answers when the store does (readiness).
    async fn ping(&self) -> Result<(), StoreUnavailable>;
}

/// The decision for a sliding-window log holding `count` requests between `oldest` and
/// `newest` after this request (`allowed`: whether this one was added).
pub(crate) fn sliding_decision(
    allowed: bool,
    limit: u32,
    count: u64,
    oldest_ms: i64,
    newest_ms: i64,
    window_ms: i64,
    now_ms: i64,
) -> Decision {
    Decision {
        allowed,
        limit,
        remaining: limit.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)),
        reset_at_ms: newest_ms + window_ms,
        retry_after_ms: if allowed {
            0
        } else {
            oldest_ms + window_ms - now_ms
        },
    }
}

/// Token-bucket arithmetic in integers: one token is `period_ms` units and the bucket gains
/// `capacity` units per millisecond, so `capacity` tokens refill per period exactly.
pub(crate) mod bucket {
    use super::Decision;

    /// The decision for a bucket left holding `units` after a request.
    pub fn decision(
        units: i64,
        allowed: bool,
        capacity: u32,
        period_ms: i64,
        now_ms: i64,
    ) -> Decision {
        let per_ms = i64::from(capacity).max(1);
        let full = i64::from(capacity) * period_ms;
        Decision {
            allowed,
            limit: capacity,
            remaining: u32::try_from(units / period_ms).unwrap_or(u32::MAX),
            reset_at_ms: now_ms + (full - units + per_ms - 1) / per_ms,
            retry_after_ms: if allowed {
                0
            } else {
                (period_ms - units + per_ms - 1) / per_ms
            },
        }
    }

    /// State after a request: (units left, decision).
    pub fn take(
        units: Option<i64>,
        last_ms: Option<i64>,
        capacity: u32,
        period_ms: i64,
        now_ms: i64,
    ) -> (i64, Decision) {
        let cap = i64::from(capacity);
        let full = cap * period_ms;
        let elapsed = (now_ms - last_ms.unwrap_or(now_ms)).max(0);
        let mut units = units
            .unwrap_or(full)
            .saturating_add(elapsed.saturating_mul(cap))
            .min(full);
        let allowed = units >= period_ms;
        if allowed {
            units -= period_ms;
        }
        let decision = decision(units, allowed, capacity, period_ms, now_ms);
        (units, decision)
    }
}

#[cfg(test)]
mod tests {
    use super::bucket::take;

    #[test]
    fn bucket_refills_exactly() {
        let (units, d) = take(None, None, 60, 60_000, 0);
        assert!(d.allowed);
        assert_eq!(d.remaining, 59);
        // 59 more drain it.
        let mut state = (units, 0);
        for _ in 0..59 {
            let (u, d) = take(Some(state.0), Some(state.1), 60, 60_000, 0);
            assert!(d.allowed);
            state = (u, 0);
        }
        let (_, refused) = take(Some(state.0), Some(0), 60, 60_000, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_ms, 1_000);
        // One second later exactly one token is back.
        let (_, again) = take(Some(state.0), Some(0), 60, 60_000, 1_000);
        assert!(again.allowed);
        assert_eq!(again.remaining, 0);
    }
}
