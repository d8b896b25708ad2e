//! Revenue-share rates (`organizations-embeds-portal.md` §2): an organization's flat
//! `revenueShareBps`, or volume brackets that scale the share with its completed volume over
//! the preceding 30 days. Only parsing, validation and the rate lookup live here; applying a
//! rate to a trade's fee belongs to the trade's transaction.

use serde::{Deserialize, Serialize};

use crate::money::Usdc;

pub const MAX_BPS: u32 = 10_000;
/// More brackets than this is a typo, not a pricing plan.
pub const MAX_BRACKETS: usize = 20;

/// One bracket: from `threshold` of 30-day volume (inclusive), the rate is `bps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bracket {
    pub threshold: Usdc,
    pub bps: u32,
}

/// Brackets, thresholds strictly increasing, the first at 0 (so every volume has a rate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brackets(Vec<Bracket>);

impl Brackets {
    /// Parses the operator's list `"0:3000,100000:4000,1000000:5000"`: thresholds in USDC
    /// (decimals up to 6 places), rates in basis points.
    pub fn parse(text: &str) -> Result<Brackets, String> {
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim) {
            let Some((threshold, bps)) = item.split_once(':') else {
                return Err(format!("`{item}` is not THRESHOLD_USDC:BPS"));
            };
            let threshold = Usdc::parse_human(threshold.trim())
                .map_err(|_| format!("`{threshold}` is not a USDC amount"))?;
            let bps: u32 = bps
                .trim()
                .parse()
                .map_err(|_| format!("`{bps}` is not a whole number of basis points"))?;
            out.push(Bracket { threshold, bps });
        }
        Brackets::new(out)
    }

    pub fn new(brackets: Vec<Bracket>) -> Result<Brackets, String> {
        if brackets.is_empty() || brackets.len() > MAX_BRACKETS {
            return Err(format!("give 1 to {MAX_BRACKETS} brackets"));
        }
        if !brackets[0].threshold.is_zero() {
            return Err("the first bracket must start at 0".into());
        }
        if brackets
            .windows(2)
            .any(|w| w[0].threshold >= w[1].threshold)
        {
            return Err("thresholds must increase strictly".into());
        }
        if let Some(b) = brackets.iter().find(|b| b.bps > MAX_BPS) {
            return Err(format!("{} bps is above {MAX_BPS}", b.bps));
        }
        Ok(Brackets(brackets))
    }

    pub fn as_slice(&self) -> &[Bracket] {
        &self.0
    }

    /// The rate for an organization whose completed 30-day volume (excluding the trade being
    /// charged) is `volume`: the last bracket whose threshold it has reached.
    pub fn rate_for(&self, volume: Usdc) -> u32 {
        self.0
            .iter()
            .rev()
            .find(|b| volume >= b.threshold)
            .map_or(0, |b| b.bps)
    }

    /// The stored form: JSON `[[threshold_atomic, bps], …]`.
    pub fn to_json(&self) -> String {
        let pairs: Vec<(u64, u32)> = self
            .0
            .iter()
            .map(|b| (b.threshold.atomic(), b.bps))
            .collect();
        serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
    }

    pub fn from_json(text: &str) -> Result<Brackets, String> {
        let pairs: Vec<(u64, u32)> =
            serde_json::from_str(text).map_err(|e| format!("stored brackets: {e}"))?;
        Brackets::new(
            pairs
                .into_iter()
                .map(|(t, bps)| Bracket {
                    threshold: Usdc::from_atomic(t),
                    bps,
                })
                .collect(),
        )
    }

    /// The operator's notation again (`0:3000,100000:4000`).
    pub fn to_list(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{}:{}", b.threshold.to_human_string(), b.bps))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usdc(whole: u64) -> Usdc {
        Usdc::from_atomic(whole * 1_000_000)
    }

    #[test]
    fn parses_and_finds_rates() {
        let b = Brackets::parse("0:3000,100000:4000,1000000:5000").unwrap();
        assert_eq!(b.rate_for(Usdc::ZERO), 3000);
        assert_eq!(b.rate_for(usdc(99_999)), 3000);
        assert_eq!(b.rate_for(usdc(100_000)), 4000);
        assert_eq!(b.rate_for(usdc(5_000_000)), 5000);
        assert_eq!(Brackets::from_json(&b.to_json()).unwrap(), b);
        assert_eq!(b.to_list(), "0:3000,100000:4000,1000000:5000");
        assert_eq!(
            Brackets::parse("0:3000, 12.5:4000").unwrap().as_slice()[1].threshold,
            Usdc::from_atomic(12_500_000)
        );
    }

    #[test]
    fn refuses_bad_lists() {
        for bad in [
            "",
            "100:3000",
            "0:3000,0:4000",
            "0:3000,10:4000,5:5000",
            "0:10001",
            "0:-1",
            "0:abc",
            "x:100",
            "0",
            "0:1,1.1234567:2",
        ] {
            assert!(Brackets::parse(bad).is_err(), "{bad:?} accepted");
        }
        let many: Vec<String> = (0..21).map(|i| format!("{i}:1")).collect();
        assert!(Brackets::parse(&many.join(",")).is_err());
    }
}
