//! Receiving webhooks: verify `X-Kash-Signature` over the raw body, then parse the event.
//!
//! ```
//! use kash_client::webhooks::{sign, verify, construct_event};
//! let body = br#"{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","type":"trade.completed","apiVersion":"2026-08-19","createdAt":"2026-05-02T12:39:56.789Z","data":{"tradeId":"7c9e6679-7425-40de-944b-e07fc1f90ae7","marketId":"7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10","outcomeIndex":0,"amount":"12.5","side":"buy","metadata":{},"status":"completed","txHash":"0xabc","tokensOut":"1"}}"#;
//! let now = 1_777_725_596_789;
//! let header = sign(&["whsec_example"], now, body);
//! assert!(verify(&header, body, &["whsec_example"], now).is_ok());
//! let event = construct_event(&header, body, &["whsec_example"], now).unwrap();
//! assert_eq!(event.event_type, "trade.completed");
//! assert_eq!(event.data.amount.as_deref(), Some("12.5"));
//! ```

use std::collections::BTreeMap;

use kash_core::signature::{self, Refusal};
use serde::{Deserialize, Serialize};

pub use kash_core::signature::TOLERANCE_MS;

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header does not parse (no `t`, no `v1=`, a `t` that is not an integer, a `v1` that
    /// is not 64 hex digits).
    #[error("the X-Kash-Signature header is malformed")]
    Malformed,
    /// `t` is further than the tolerance from now (a replayed or delayed delivery).
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    /// No `v1` matches any of the secrets.
    #[error("no v1 signature matches the body and secret(s)")]
    Mismatch,
    /// The body verified but is not a webhook event.
    #[error("the body is not a webhook event: {0}")]
    Body(String),
}

impl VerifyError {
    /// `malformed`, `stale`, `mismatch` or `body`.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "malformed",
            VerifyError::Stale => "stale",
            VerifyError::Mismatch => "mismatch",
            VerifyError::Body(_) => "body",
        }
    }
}

impl From<Refusal> for VerifyError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Malformed => VerifyError::Malformed,
            Refusal::Stale => VerifyError::Stale,
            Refusal::Mismatch => VerifyError::Mismatch,
        }
    }
}

/// Verifies a delivery: `header` is `X-Kash-Signature`, `raw_body` the exact bytes received
/// (before any JSON parsing), `secrets` your current secret and, during a rotation, the
/// previous one; `now_ms` Unix milliseconds. Fresh within 5 minutes, and any `v1=` equal (in
/// constant time) to HMAC-SHA256(secret, `"<t>.<raw body>"`) of any secret.
pub fn verify(
    header: &str,
    raw_body: &[u8],
    secrets: &[&str],
    now_ms: i64,
) -> Result<i64, VerifyError> {
    verify_within(header, raw_body, secrets, now_ms, TOLERANCE_MS)
}

/// [`verify`] with another tolerance; returns the signature's `t`.
pub fn verify_within(
    header: &str,
    raw_body: &[u8],
    secrets: &[&str],
    now_ms: i64,
    tolerance_ms: i64,
) -> Result<i64, VerifyError> {
    let sig = signature::parse(header.trim())?;
    let expected: Vec<[u8; 32]> = secrets
        .iter()
        .map(|s| signature::webhook_digest(s.trim(), sig.t, raw_body))
        .collect();
    signature::check_within(&sig, now_ms, tolerance_ms, &expected)?;
    Ok(sig.t)
}

/// A signature header for `body` at `t` (for tests of your own receiver).
pub fn sign(secrets: &[&str], t_ms: i64, body: &[u8]) -> String {
    signature::webhook_header(secrets, t_ms, body)
}

/// A `trade.*` event (`webhook.ping` from an operator's test has `data.apiKeyId` only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub api_version: String,
    pub created_at: String,
    pub data: EventData,
}

/// The `data` of an event; members absent from an event type are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    pub trade_id: Option<String>,
    pub market_id: Option<String>,
    pub outcome_index: Option<u32>,
    /// Human USDC decimal (`"12.5"`).
    pub amount: Option<String>,
    pub side: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub status: Option<String>,
    pub confirmation_expires_at: Option<String>,
    pub tx_hash: Option<String>,
    pub tokens_out: Option<String>,
    pub tokens_in: Option<String>,
    pub usdc_out: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// `webhook.ping` only.
    pub api_key_id: Option<String>,
}

/// Verifies, then parses the event.
pub fn construct_event(
    header: &str,
    raw_body: &[u8],
    secrets: &[&str],
    now_ms: i64,
) -> Result<WebhookEvent, VerifyError> {
    verify(header, raw_body, secrets, now_ms)?;
    serde_json::from_slice(raw_body).map_err(|e| VerifyError::Body(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_with_either_secret_and_refuses_the_rest() {
        let body = br#"{"id":"x"}"#;
        let now = 1_000_000;
        let header = sign(&["whsec_new", "whsec_old"], now, body);
        assert_eq!(verify(&header, body, &["whsec_old"], now), Ok(now));
        assert_eq!(
            verify(&header, body, &["whsec_x", "whsec_new"], now),
            Ok(now)
        );
        assert_eq!(
            verify(&header, body, &["whsec_x"], now),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"{}", &["whsec_new"], now),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&header, body, &["whsec_new"], now + TOLERANCE_MS + 1),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_within(&header, body, &["whsec_new"], now + 60_000, 30_000),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify("t=abc,v1=00", body, &["whsec_new"], now),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            construct_event(&header, body, &["whsec_new"], now).map(|_| ()),
            Err(VerifyError::Body(
                "missing field `type` at line 1 column 10".into()
            ))
        );
    }
}
