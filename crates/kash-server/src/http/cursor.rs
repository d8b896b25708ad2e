//! Keyset pagination (`api.md` §1): opaque base64url cursors carrying the last row's sort key,
//! bound by a MAC to the route and filters that produced them. A cursor that does not decode or
//! verify — tampered, or replayed against other filters — is `400 VALIDATION_FAILED`.
//! Cursors do not expire: one stays valid while its row exists.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kash_core::{Issue, Problem};
use serde::de::DeserializeOwned;
use serde::Serialize;

const MAC_LEN: usize = 16;

fn mac(key: &[u8; 32], scope: &str, payload: &[u8]) -> [u8; 32] {
    kash_core::signature::mac(key, &[scope.as_bytes(), &[0u8], payload])
}

/// Encodes a position (any serialisable sort key, e.g. `(created_at_ms, id)`) for `scope`
/// (route + canonical filters + caller).
pub fn encode<T: Serialize>(key: &[u8; 32], scope: &str, position: &T) -> String {
    let payload = serde_json::to_vec(position).unwrap_or_default();
    let mut bytes = payload.clone();
    bytes.extend_from_slice(&mac(key, scope, &payload)[..MAC_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a cursor produced by [`encode`] for the same scope.
pub fn decode<T: DeserializeOwned>(
    key: &[u8; 32],
    scope: &str,
    cursor: &str,
) -> Result<T, Problem> {
    let bad = || {
        Problem::validation(vec![Issue::new(
            "cursor",
            "is not a valid cursor for this listing",
        )])
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    if bytes.len() <= MAC_LEN {
        return Err(bad());
    }
    let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
    if !kash_service::secrets::ct_eq(tag, &mac(key, scope, payload)[..MAC_LEN]) {
        return Err(bad());
    }
    serde_json::from_slice(payload).map_err(|_| bad())
}

/// Rows fetched as `limit + 1` → the page and whether more follow.
pub fn split_page<T>(mut rows: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    (rows, has_more)
}

/// `limit`: absent → `default`; above 100 → 100; below 1 or not an integer → 400.
pub fn parse_limit(raw: Option<&str>, default: u32) -> Result<u32, Problem> {
    match raw {
        None => Ok(default),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n.min(100) as u32),
            _ => Err(Problem::validation(vec![Issue::new(
                "limit",
                "must be an integer of at least 1 (values above 100 are treated as 100)",
            )])),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bind_to_scope() {
        let key = [7u8; 32];
        let c = encode(
            &key,
            "trades|status=completed",
            &(1_700_000_000_000i64, "abc"),
        );
        let back: (i64, String) = decode(&key, "trades|status=completed", &c).unwrap();
        assert_eq!(back, (1_700_000_000_000, "abc".to_string()));
        assert!(decode::<(i64, String)>(&key, "trades|status=failed", &c).is_err());
        assert!(decode::<(i64, String)>(&[8u8; 32], "trades|status=completed", &c).is_err());
        let mut tampered = c.clone().into_bytes();
        tampered[2] ^= 1;
        assert!(decode::<(i64, String)>(
            &key,
            "trades|status=completed",
            std::str::from_utf8(&tampered).unwrap_or("x")
        )
        .is_err());
        assert!(decode::<(i64, String)>(&key, "s", "!!!").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None, 20).unwrap(), 20);
        assert_eq!(parse_limit(Some("101"), 20).unwrap(), 100);
        assert_eq!(parse_limit(Some("1"), 20).unwrap(), 1);
        for bad in ["0", "-1", "1.5", "abc", ""] {
            assert!(parse_limit(Some(bad), 20).is_err(), "{bad}");
        }
    }
}
