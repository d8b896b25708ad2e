//! Time on the wire and the injectable clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// RFC 3339, UTC, milliseconds, `Z` (`2026-05-02T12:39:56.789Z`): the only timestamp form on
/// `/v1` and in webhooks; Kash's SDK rejects offsets such as `+00:00`.
pub fn rfc3339_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds since the Unix epoch to a UTC time (out-of-range values clamp to the epoch).
pub fn from_unix_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Parses an RFC 3339 timestamp given by a user (any offset) into UTC.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The source of "now" for every rule that depends on time, so tests can move time instead of
/// sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The wall clock shifted by an adjustable offset: tests advance it to cross windows and
/// deadlines while the server keeps running.
#[derive(Debug, Default, Clone)]
pub struct OffsetClock {
    offset_ms: Arc<AtomicI64>,
}

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_millis_z() {
        let t = from_unix_ms(1_777_725_596_789);
        assert_eq!(rfc3339_ms(t), "2026-05-02T12:39:56.789Z");
        assert_eq!(
            rfc3339_ms(from_unix_ms(1_777_725_596_000)),
            "2026-05-02T12:39:56.000Z"
        );
        assert_eq!(parse_rfc3339("2026-05-02T14:39:56.789+02:00"), Some(t));
    }

    #[test]
    fn offset_clock_moves() {
        let clock = OffsetClock::new();
        let before = clock.now_ms();
        clock.advance(chrono::Duration::hours(1));
        assert!(clock.now_ms() - before >= 3_600_000);
    }
}
