//! The per-endpoint circuit breaker of `webhooks.md`: opens after 5 consecutive failures, or
//! when more than half of at least 5 attempts in the last 60 s failed; stays open 30 s; then
//! one half-open probe decides. State is per process: each instance protects the receiver
//! from its own traffic (see `docs/webhooks.md`).

use std::collections::{HashMap, VecDeque};

pub const CONSECUTIVE_FAILURES: u32 = 5;
pub const WINDOW_MS: i64 = 60_000;
pub const WINDOW_MIN_ATTEMPTS: usize = 5;
pub const OPEN_MS: i64 = 30_000;
const MAX_ENDPOINTS: usize = 10_000;
const IDLE_MS: i64 = 10 * 60_000;

/// May an attempt to this endpoint go now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Go,
    /// The half-open probe: its outcome closes or reopens the breaker.
    Probe,
    /// Paused: try again at this time.
    Wait(i64),
}

#[derive(Debug, Default)]
struct Endpoint {
    consecutive: u32,
    recent: VecDeque<(i64, bool)>,
    open_until: Option<i64>,
    probe_started: Option<i64>,
    last_used: i64,
}

#[derive(Debug, Default)]
pub struct Breakers {
    endpoints: HashMap<String, Endpoint>,
    /// How long a probe may take before another may be sent (the request timeout).
    probe_limit_ms: i64,
}

impl Breakers {
    pub fn new(probe_limit_ms: i64) -> Self {
        Breakers {
            endpoints: HashMap::new(),
            probe_limit_ms,
        }
    }

    pub fn admit(&mut self, url: &str, now: i64) -> Admit {
        if self.endpoints.len() > MAX_ENDPOINTS {
            self.endpoints.retain(|_, e| now - e.last_used < IDLE_MS);
        }
        let limit = self.probe_limit_ms;
        let e = self.endpoints.entry(url.to_string()).or_default();
        e.last_used = now;
        if let Some(started) = e.probe_started {
            let done_by = started + limit + 1_000;
            if now < done_by {
                return Admit::Wait(done_by.max(now + 1_000));
            }
            // The probe never reported back (its task died): allow another.
            e.probe_started = None;
        }
        match e.open_until {
            None => Admit::Go,
            Some(until) if now < until => Admit::Wait(until),
            Some(_) => {
                e.probe_started = Some(now);
                Admit::Probe
            }
        }
    }

    pub fn record(&mut self, url: &str, now: i64, ok: bool, probe: bool) {
        let e = self.endpoints.entry(url.to_string()).or_default();
        e.last_used = now;
        while e
            .recent
            .front()
            .is_some_and(|(at, _)| *at <= now - WINDOW_MS)
        {
            e.recent.pop_front();
        }
        e.recent.push_back((now, ok));
        if probe {
            e.probe_started = None;
            if ok {
                e.open_until = None;
                e.consecutive = 0;
                e.recent.clear();
            } else {
                e.open_until = Some(now + OPEN_MS);
            }
            return;
        }
        if ok {
            e.consecutive = 0;
            return;
        }
        e.consecutive += 1;
        if e.open_until.is_some() {
            return;
        }
        let failed = e.recent.iter().filter(|(_, ok)| !ok).count();
        let rate_tripped = e.recent.len() >= WINDOW_MIN_ATTEMPTS && failed * 2 > e.recent.len();
        if e.consecutive >= CONSECUTIVE_FAILURES || rate_tripped {
            e.open_until = Some(now + OPEN_MS);
        }
    }

    /// Whether the breaker of `url` is open at `now` (metrics and tests).
    pub fn is_open(&self, url: &str, now: i64) -> bool {
        self.endpoints
            .get(url)
            .and_then(|e| e.open_until)
            .is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "https://example.com/hook";

    #[test]
    fn opens_after_five_consecutive_failures_and_probes() {
        let mut b = Breakers::new(10_000);
        for i in 0..4 {
            assert_eq!(b.admit(U, i), Admit::Go);
            b.record(U, i, false, false);
        }
        assert!(!b.is_open(U, 4));
        b.record(U, 4, false, false);
        assert!(b.is_open(U, 5));
        assert_eq!(b.admit(U, 5), Admit::Wait(4 + OPEN_MS));
        let t = 4 + OPEN_MS;
        assert_eq!(b.admit(U, t), Admit::Probe);
        // Only one probe at a time.
        assert!(matches!(b.admit(U, t + 1), Admit::Wait(_)));
        b.record(U, t + 2, false, true);
        assert_eq!(b.admit(U, t + 3), Admit::Wait(t + 2 + OPEN_MS));
        let t2 = t + 2 + OPEN_MS;
        assert_eq!(b.admit(U, t2), Admit::Probe);
        b.record(U, t2, true, true);
        assert_eq!(b.admit(U, t2 + 1), Admit::Go);
    }

    #[test]
    fn opens_on_failure_rate() {
        let mut b = Breakers::new(10_000);
        // ok, fail, ok, fail, fail, ok, fail: never 5 in a row, but 4 of 7 failed.
        let pattern = [true, false, true, false, false, true, false];
        for (i, ok) in pattern.iter().enumerate() {
            b.record(U, i as i64, *ok, false);
        }
        assert!(b.is_open(U, 10));
        // The window forgets attempts older than 60 s.
        let mut c = Breakers::new(10_000);
        for (i, ok) in [false, false, true].iter().enumerate() {
            c.record(U, i as i64, *ok, false);
        }
        for (i, ok) in [true, false, false].iter().enumerate() {
            c.record(U, WINDOW_MS + 10 + i as i64, *ok, false);
        }
        assert!(!c.is_open(U, WINDOW_MS + 20));
    }

    #[test]
    fn lost_probe_is_replaced() {
        let mut b = Breakers::new(1_000);
        for i in 0..5 {
            b.record(U, i, false, false);
        }
        let t = 4 + OPEN_MS;
        assert_eq!(b.admit(U, t), Admit::Probe);
        assert!(matches!(b.admit(U, t + 10), Admit::Wait(_)));
        assert_eq!(b.admit(U, t + 2_001), Admit::Probe);
    }
}
