//! The retry schedule and the response classification of `webhooks.md`.

use rand::Rng;

/// Attempts per run (the original delivery, or one replay).
pub const MAX_ATTEMPTS: i64 = 10;

/// Offsets of the ten attempts from the run's base (`createdAt`, or the replay's time).
pub const OFFSETS_MS: [i64; 10] = [
    0, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000,
    86_400_000,
];

/// Every offset but the first moves by up to this share either way.
pub const JITTER: f64 = 0.2;

/// `Retry-After` is honoured up to one hour.
pub const RETRY_AFTER_CAP_MS: i64 = 3_600_000;

/// The failure codes recorded on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    Http3xx,
    Http4xx,
    Http5xx,
    Timeout,
    Network,
    CircuitOpen,
    UrlValidationFailed,
    TerminalClientError,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Http3xx => "http_3xx",
            FailureCode::Http4xx => "http_4xx",
            FailureCode::Http5xx => "http_5xx",
            FailureCode::Timeout => "timeout",
            FailureCode::Network => "network",
            FailureCode::CircuitOpen => "circuit_open",
            FailureCode::UrlValidationFailed => "url_validation_failed",
            FailureCode::TerminalClientError => "terminal_client_error",
        }
    }

    /// Whether the event may be tried again after this outcome.
    pub fn retryable(self) -> bool {
        self != FailureCode::TerminalClientError
    }
}

/// The outcome of a response status: `None` is delivered.
pub fn classify_status(status: u16) -> Option<FailureCode> {
    match status {
        200..=299 => None,
        300..=399 => Some(FailureCode::Http3xx),
        408 | 429 => Some(FailureCode::Http4xx),
        400..=499 => Some(FailureCode::TerminalClientError),
        _ => Some(FailureCode::Http5xx),
    }
}

/// The offset of attempt `index` (0-based), jittered by `factor` in `[-JITTER, JITTER]`.
pub fn jittered_offset(index: usize, factor: f64) -> i64 {
    let base = OFFSETS_MS[index.min(OFFSETS_MS.len() - 1)];
    if index == 0 {
        return 0;
    }
    let factor = factor.clamp(-JITTER, JITTER);
    base + (base as f64 * factor).round() as i64
}

/// When the next attempt of a run is due after `attempts_done` attempts (the last one ended at
/// `now_ms`), or `None` when the run is over. Never before the attempt that just ended, nor
/// before a (capped) `Retry-After`.
pub fn next_due(
    base_ms: i64,
    attempts_done: i64,
    now_ms: i64,
    retry_after_ms: Option<i64>,
) -> Option<i64> {
    if attempts_done >= MAX_ATTEMPTS {
        return None;
    }
    let index = usize::try_from(attempts_done.max(1)).unwrap_or(1);
    let factor = rand::thread_rng().gen_range(-JITTER..=JITTER);
    let scheduled = base_ms + jittered_offset(index, factor);
    let waited = now_ms + retry_after_ms.unwrap_or(0).clamp(0, RETRY_AFTER_CAP_MS);
    Some(scheduled.max(waited).max(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        assert_eq!(classify_status(200), None);
        assert_eq!(classify_status(204), None);
        assert_eq!(classify_status(302), Some(FailureCode::Http3xx));
        assert_eq!(classify_status(408), Some(FailureCode::Http4xx));
        assert_eq!(classify_status(429), Some(FailureCode::Http4xx));
        for terminal in [400, 401, 403, 404, 410, 422] {
            assert_eq!(
                classify_status(terminal),
                Some(FailureCode::TerminalClientError)
            );
        }
        assert_eq!(classify_status(500), Some(FailureCode::Http5xx));
        assert_eq!(classify_status(503), Some(FailureCode::Http5xx));
    }

    #[test]
    fn schedule_bounds() {
        for (i, &base) in OFFSETS_MS.iter().enumerate().skip(1) {
            assert_eq!(jittered_offset(i, 0.0), base);
            assert_eq!(jittered_offset(i, 1.0), base + base / 5);
            assert_eq!(jittered_offset(i, -1.0), base - base / 5);
        }
        assert_eq!(jittered_offset(0, 0.2), 0);
        for done in 1..10 {
            let due = next_due(0, done, 0, None).unwrap();
            let nominal = OFFSETS_MS[done as usize];
            assert!(
                due >= nominal * 4 / 5 && due <= nominal * 6 / 5,
                "{done}: {due}"
            );
        }
        assert_eq!(next_due(0, 10, 0, None), None);
        // Retry-After beyond the schedule wins, capped at an hour.
        assert_eq!(
            next_due(0, 1, 1_000, Some(10 * 3_600_000)),
            Some(1_000 + 3_600_000)
        );
        // An overdue attempt is due now, never in the past.
        assert_eq!(next_due(0, 1, 999_999_999, None), Some(999_999_999));
    }
}
