//! Key tiers and their default limits (`api.md` §4).

use std::fmt;
use std::str::FromStr;

const ATOMIC_PER_USDC: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Free,
    Developer,
    Enterprise,
    Mm,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Free, Tier::Developer, Tier::Enterprise, Tier::Mm];

    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Developer => "developer",
            Tier::Enterprise => "enterprise",
            Tier::Mm => "mm",
        }
    }

    /// Daily spend cap, per-trade cap and high-value confirmation threshold in whole USDC
    /// (`None` = no gate). Requests/min are not here: two tiers take them from operator settings.
    const fn money_limits(self) -> (u64, u64, Option<u64>) {
        match self {
            Tier::Free => (1_000, 500, None),
            Tier::Developer => (10_000, 2_500, None),
            Tier::Enterprise => (100_000, 25_000, Some(25_000)),
            Tier::Mm => (1_000_000, 50_000, Some(50_000)),
        }
    }

    /// Default rolling 24 h buy cap, atomic USDC.
    pub const fn default_daily_cap_atomic(self) -> u64 {
        self.money_limits().0 * ATOMIC_PER_USDC
    }

    /// Default per-trade cap, atomic USDC.
    pub const fn default_per_trade_cap_atomic(self) -> u64 {
        self.money_limits().1 * ATOMIC_PER_USDC
    }

    /// Default high-value confirmation threshold, atomic USDC (`None`: no gate).
    pub const fn default_confirm_threshold_atomic(self) -> Option<u64> {
        match self.money_limits().2 {
            Some(whole) => Some(whole * ATOMIC_PER_USDC),
            None => None,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier `{0}` (expected free, developer, enterprise or mm)")]
pub struct UnknownTier(pub String);

impl FromStr for Tier {
    type Err = UnknownTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTier(s.to_string()))
    }
}

/// Requests/min per tier; the two operator-set tiers come from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierRateLimits {
    pub enterprise: u32,
    pub mm: u32,
}

impl Default for TierRateLimits {
    fn default() -> Self {
        TierRateLimits {
            enterprise: 3_000,
            mm: 6_000,
        }
    }
}

impl TierRateLimits {
    pub fn per_minute(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Free => 60,
            Tier::Developer => 300,
            Tier::Enterprise => self.enterprise,
            Tier::Mm => self.mm,
        }
    }
}
