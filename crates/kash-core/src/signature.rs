//! The `X-Kash-Signature` scheme (`webhooks.md`): `t=<unix-ms>,v1=<hex>[,v1=<hex>…]`, an
//! HMAC-SHA256 over a timestamped message. Used to sign webhook deliveries, to verify signed
//! request bodies, and by receivers to verify deliveries.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Signatures older or newer than this are `stale`.
pub const TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// Longest header we parse; longer ones are `malformed` before any work is done.
pub const MAX_HEADER_LEN: usize = 4096;

/// Why a signature was refused (the `signatureReason` member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Stale,
    Mismatch,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Stale => "stale",
            Refusal::Mismatch => "mismatch",
        }
    }
}

/// A parsed header: the timestamp and every `v1` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub t: i64,
    pub v1: Vec<[u8; 32]>,
}

/// Parses `t=…,v1=…[,v1=…]`. Unknown keys (future schemes such as `v2=`) are skipped; a `t`
/// that is not an integer, a repeated `t`, a `v1` that is not 64 hex digits, or no `v1` at all
/// is malformed.
pub fn parse(header: &str) -> Result<SignatureHeader, Refusal> {
    if header.len() > MAX_HEADER_LEN {
        return Err(Refusal::Malformed);
    }
    let mut t = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(Refusal::Malformed)?;
        match key.trim() {
            "t" => {
                let value = value.trim();
                if t.is_some()
                    || value.is_empty()
                    || !value.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                {
                    return Err(Refusal::Malformed);
                }
                t = Some(value.parse::<i64>().map_err(|_| Refusal::Malformed)?);
            }
            "v1" => {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(value.trim(), &mut digest).map_err(|_| Refusal::Malformed)?;
                v1.push(digest);
            }
            _ => {}
        }
    }
    match (t, v1.is_empty()) {
        (Some(t), false) => Ok(SignatureHeader { t, v1 }),
        _ => Err(Refusal::Malformed),
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn mac(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so construction cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in message {
        m.update(part);
    }
    m.finalize().into_bytes().into()
}

/// The webhook form: `<t>.<raw body>`.
pub fn webhook_digest(secret: &str, t: i64, body: &[u8]) -> [u8; 32] {
    mac(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body])
}

/// The request form of Kash's current scheme: `<t>.<METHOD>.<path>.<raw body>`, keyed with
/// the API key.
pub fn request_digest(api_key: &str, t: i64, method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    mac(
        api_key.as_bytes(),
        &[
            t.to_string().as_bytes(),
            b".",
            method.to_ascii_uppercase().as_bytes(),
            b".",
            path.as_bytes(),
            b".",
            body,
        ],
    )
}

/// A header value signing `body` at `t` with each secret in turn (new secret first during a
/// rotation overlap).
pub fn webhook_header(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(webhook_digest(secret, t, body)));
    }
    header
}

/// Checks a parsed header: fresh within [`TOLERANCE_MS`], and at least one `v1` equal (in
/// constant time) to one of the `expected` digests.
pub fn check(sig: &SignatureHeader, now_ms: i64, expected: &[[u8; 32]]) -> Result<(), Refusal> {
    check_within(sig, now_ms, TOLERANCE_MS, expected)
}

/// [`check`] with another freshness window (receivers may choose their own).
pub fn check_within(
    sig: &SignatureHeader,
    now_ms: i64,
    tolerance_ms: i64,
    expected: &[[u8; 32]],
) -> Result<(), Refusal> {
    if now_ms.abs_diff(sig.t) > tolerance_ms.unsigned_abs() {
        return Err(Refusal::Stale);
    }
    let mut found = subtle::Choice::from(0u8);
    for given in &sig.v1 {
        for want in expected {
            found |= given.ct_eq(want);
        }
    }
    if bool::from(found) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}

/// Receiver-side verification of a webhook delivery against one or more secrets.
pub fn verify_webhook(
    header: &str,
    body: &[u8],
    secrets: &[&str],
    now_ms: i64,
) -> Result<(), Refusal> {
    let sig = parse(header)?;
    let expected: Vec<[u8; 32]> = secrets
        .iter()
        .map(|s| webhook_digest(s, sig.t, body))
        .collect();
    check(&sig, now_ms, &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let body = br#"{"id":"x"}"#;
        let header = webhook_header(&["whsec_new", "whsec_old"], 1_000_000, body);
        assert!(verify_webhook(&header, body, &["whsec_old"], 1_000_000).is_ok());
        assert!(verify_webhook(&header, body, &["whsec_new"], 1_000_000 + TOLERANCE_MS).is_ok());
        assert_eq!(
            verify_webhook(&header, body, &["whsec_new"], 1_000_000 + TOLERANCE_MS + 1),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify_webhook(&header, body, &["whsec_other"], 1_000_000),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify_webhook(&header, b"tampered", &["whsec_new"], 1_000_000),
            Err(Refusal::Mismatch)
        );
        for bad in [
            "",
            "t=abc,v1=00",
            "t=1",
            "v1=ab",
            "t=1,v1=zz",
            "t=1,t=2,v1=aa",
            "garbage",
            &format!("t=1,v1={}", "a".repeat(MAX_HEADER_LEN)),
        ] {
            assert_eq!(parse(bad).unwrap_err(), Refusal::Malformed, "{bad}");
        }
        assert!(parse(&format!("t=5,v2=zz,v1={}", "0".repeat(64))).is_ok());
    }

    #[test]
    fn request_form_binds_method_and_path() {
        let a = request_digest("kash_test_x", 1, "post", "/v1/trades", b"{}");
        assert_eq!(
            a,
            request_digest("kash_test_x", 1, "POST", "/v1/trades", b"{}")
        );
        assert_ne!(
            a,
            request_digest("kash_test_x", 1, "POST", "/v1/redemptions", b"{}")
        );
    }
}
