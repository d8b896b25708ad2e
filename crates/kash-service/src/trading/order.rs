//! A trade request (`POST /v1/trades` body): parsed by hand from JSON so that every bad field is
//! named in `issues[]`, and reduced to the canonical identity that `Idempotency-Key` and
//! `clientRequestId` compare (`api.md` §5 Idempotency).

use std::collections::BTreeMap;

use kash_core::ids::{id_text, parse_uuid};
use kash_core::money::{AmountParseError, Usdc, Wad};
use kash_core::Issue;
use ruint::aliases::U256;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// What the trade asks the market maker for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// Spend this much USDC.
    Buy(Usdc),
    /// Sell the fewest tokens that pay out at least this much USDC.
    SellForAmount(Usdc),
    /// Sell exactly these tokens.
    SellTokens(U256),
    /// Sell the whole sellable holding.
    Close,
}

impl Spec {
    pub fn side(&self) -> Side {
        match self {
            Spec::Buy(_) => Side::Buy,
            _ => Side::Sell,
        }
    }

    /// The stored `sell_mode`.
    pub fn sell_mode(&self) -> Option<&'static str> {
        match self {
            Spec::Buy(_) => None,
            Spec::SellForAmount(_) => Some("amount"),
            Spec::SellTokens(_) => Some("tokens"),
            Spec::Close => Some("close"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub market_id: String,
    /// As sent (it may exceed the outcome count; that is checked against the market).
    pub outcome_index: u64,
    pub spec: Spec,
    /// The request's exact `amount` text, when it carried one.
    pub amount_text: Option<String>,
    pub client_request_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub channel: String,
}

pub const CHANNELS: [&str; 4] = ["api", "webapp", "embed", "x"];

fn token_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
}

fn metadata_key_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn parse_amount(v: &Value, field: &str, issues: &mut Vec<Issue>) -> Option<(Usdc, String)> {
    let Some(text) = v.as_str() else {
        issues.push(Issue::new(
            field,
            "must be a string: a decimal USDC amount such as \"12.5\"",
        ));
        return None;
    };
    match Usdc::parse_human(text) {
        Ok(a) if a.is_zero() => {
            issues.push(Issue::new(field, "must be greater than zero"));
            None
        }
        Ok(a) => Some((a, text.to_string())),
        // Past u64 is well-formed but out of range: the platform ceiling answers it.
        Err(AmountParseError::TooLarge { .. }) => Some((Usdc::MAX, text.to_string())),
        Err(_) => {
            issues.push(Issue::new(
                field,
                "must be a decimal string matching ^\\d+(\\.\\d{1,6})?$ (at most 6 decimals, no sign or exponent)",
            ));
            None
        }
    }
}

/// Parses the body. `Err` holds every bad field.
pub fn parse(raw: &[u8]) -> Result<Order, Vec<Issue>> {
    let text = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        raw
    };
    let value: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => return Err(vec![Issue::new("body", format!("malformed JSON: {e}"))]),
    };
    let Some(obj) = value.as_object() else {
        return Err(vec![Issue::new("body", "must be a JSON object")]);
    };
    let mut issues = Vec::new();
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());

    let market_id = match get("marketId") {
        None => {
            issues.push(Issue::new("marketId", "is required"));
            None
        }
        Some(v) => match v.as_str().and_then(parse_uuid) {
            Some(id) => Some(id_text(&id)),
            None => {
                issues.push(Issue::new("marketId", "must be a market id (UUID)"));
                None
            }
        },
    };
    let outcome_index = match get("outcomeIndex") {
        None => {
            issues.push(Issue::new("outcomeIndex", "is required"));
            None
        }
        Some(v) => match v.as_u64() {
            Some(i) => Some(i),
            None => {
                issues.push(Issue::new(
                    "outcomeIndex",
                    "must be an integer of at least 0",
                ));
                None
            }
        },
    };
    let side = match get("side").map(|v| v.as_str()) {
        None => {
            issues.push(Issue::new("side", "is required"));
            None
        }
        Some(Some("buy")) => Some(Side::Buy),
        Some(Some("sell")) => Some(Side::Sell),
        Some(_) => {
            issues.push(Issue::new("side", "must be \"buy\" or \"sell\""));
            None
        }
    };
    let amount = get("amount").map(|v| parse_amount(v, "amount", &mut issues));
    let tokens = get("tokens").map(|v| match v.as_str() {
        None => {
            issues.push(Issue::new("tokens", "must be a string of WAD token units"));
            None
        }
        Some(t) => match Wad::parse(t) {
            Ok(w) if w.is_zero() => {
                issues.push(Issue::new("tokens", "must be greater than zero"));
                None
            }
            Ok(w) => Some(w.raw()),
            Err(AmountParseError::TooLarge { .. }) => Some(U256::MAX),
            Err(_) => {
                issues.push(Issue::new(
                    "tokens",
                    "must be a string of decimal digits (WAD units)",
                ));
                None
            }
        },
    });
    let close = match get("closePosition") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            issues.push(Issue::new("closePosition", "must be a boolean"));
            false
        }
    };
    let spec = match side {
        Some(Side::Buy) => {
            if tokens.is_some() {
                issues.push(Issue::new("tokens", "is only accepted on sells"));
            }
            if close {
                issues.push(Issue::new("closePosition", "is only accepted on sells"));
            }
            match &amount {
                None => {
                    issues.push(Issue::new("amount", "is required"));
                    None
                }
                Some(a) => a.as_ref().map(|(a, _)| Spec::Buy(*a)),
            }
        }
        Some(Side::Sell) => {
            let given = [amount.is_some(), tokens.is_some(), close]
                .iter()
                .filter(|b| **b)
                .count();
            if given != 1 {
                issues.push(Issue::new(
                    "amount",
                    "a sell needs exactly one of amount, tokens or closePosition: true",
                ));
                None
            } else if let Some(a) = &amount {
                a.as_ref().map(|(a, _)| Spec::SellForAmount(*a))
            } else if let Some(t) = tokens {
                t.map(Spec::SellTokens)
            } else {
                Some(Spec::Close)
            }
        }
        None => None,
    };
    let client_request_id = match get("clientRequestId") {
        None => None,
        Some(v) => match v.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 128 && token_chars(s) => Some(s.to_string()),
            _ => {
                issues.push(Issue::new(
                    "clientRequestId",
                    "must be 1 to 128 characters of [A-Za-z0-9_-:.]",
                ));
                None
            }
        },
    };
    let metadata = match get("metadata") {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => parse_metadata(map, &mut issues),
        Some(_) => {
            issues.push(Issue::new("metadata", "must be an object of string values"));
            BTreeMap::new()
        }
    };
    let channel = match get("channel") {
        None => "api".to_string(),
        Some(v) => match v.as_str() {
            Some(c) if CHANNELS.contains(&c) => c.to_string(),
            _ => {
                issues.push(Issue::new(
                    "channel",
                    "must be one of api, webapp, embed, x",
                ));
                "api".to_string()
            }
        },
    };
    match (market_id, outcome_index, spec) {
        (Some(market_id), Some(outcome_index), Some(spec)) if issues.is_empty() => Ok(Order {
            market_id,
            outcome_index,
            amount_text: amount.flatten().map(|(_, t)| t),
            spec,
            client_request_id,
            metadata,
            channel,
        }),
        _ => Err(issues),
    }
}

fn parse_metadata(map: &Map<String, Value>, issues: &mut Vec<Issue>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if map.len() > 10 {
        issues.push(Issue::new("metadata", "at most 10 pairs"));
    }
    for (k, v) in map {
        let path = format!("metadata.{k}");
        if k.is_empty() || k.len() > 64 || !metadata_key_chars(k) {
            issues.push(Issue::new(
                path,
                "keys are 1 to 64 characters of [a-zA-Z0-9_-.]",
            ));
            continue;
        }
        match v.as_str() {
            Some(s) if s.chars().count() <= 500 => {
                out.insert(k.clone(), s.to_string());
            }
            Some(_) => issues.push(Issue::new(path, "values are at most 500 characters")),
            None => issues.push(Issue::new(path, "values must be strings")),
        }
    }
    out
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The identity of a valid order: (route, marketId, outcomeIndex, side, amount normalised,
/// tokens as an integer, closePosition, metadata key-sorted); absent members are null.
pub fn identity(order: &Order) -> String {
    let (amount, tokens, close) = match &order.spec {
        Spec::Buy(a) | Spec::SellForAmount(a) => {
            (json!(a.to_atomic_string()), Value::Null, Value::Null)
        }
        Spec::SellTokens(t) => (Value::Null, json!(t.to_string()), Value::Null),
        Spec::Close => (Value::Null, Value::Null, json!(true)),
    };
    let metadata = if order.metadata.is_empty() {
        Value::Null
    } else {
        json!(order.metadata)
    };
    let tuple = json!([
        "POST /v1/trades",
        order.market_id,
        order.outcome_index,
        order.spec.side().as_str(),
        amount,
        tokens,
        close,
        metadata
    ]);
    sha256_hex(&tuple.to_string())
}

/// The identity of a body that does not parse: its bytes, so only the same bytes match.
pub fn identity_of_invalid(raw: &[u8]) -> String {
    sha256_hex(&format!("invalid:{}", String::from_utf8_lossy(raw)))
}

/// SHA-256 of an `Idempotency-Key`, as stored.
pub fn key_hash(key: &str) -> String {
    sha256_hex(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(body: Value) -> Result<Order, Vec<Issue>> {
        parse(body.to_string().as_bytes())
    }

    #[test]
    fn identity_normalises_amounts_and_ignores_labels() {
        let m = "7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10";
        let a = order(json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "10"}))
            .unwrap();
        let b = order(
            json!({"marketId": m.to_uppercase(), "outcomeIndex": 0, "side": "buy",
            "amount": "10.000000", "clientRequestId": "x", "channel": "embed"}),
        )
        .unwrap();
        assert_eq!(identity(&a), identity(&b));
        let c = order(json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "10.1"}))
            .unwrap();
        assert_ne!(identity(&a), identity(&c));
    }

    #[test]
    fn malformed_amounts_name_the_field() {
        let m = "7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10";
        for bad in [
            json!("1e3"),
            json!("-1"),
            json!("0.0000001"),
            json!(""),
            json!(10),
            json!("0"),
        ] {
            let issues =
                order(json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": bad}))
                    .unwrap_err();
            assert!(
                issues.iter().any(|i| i.path == "amount"),
                "{bad}: {issues:?}"
            );
        }
    }
}
