//! The checks of a trade after the market and outcome are known, in the contract's order
//! (`api.md` §5): platform ceiling, per-trade cap, daily cap, balance or position — then the
//! market maker's answer. Pure: the caller reads the inputs under its locks and applies the
//! result in the same transaction, so a quote, an acceptance and an execution agree exactly.

use kash_core::amm::{self, BuyResult, MarketState, SellResult};
use kash_core::money::{Usdc, SUPPLY_CAP};
use kash_core::tier::Tier;
use kash_core::{ErrorCode, Problem};
use kash_store::keys::ApiKeyRecord;
use ruint::aliases::U256;

use super::amm_problem;
use super::order::Spec;

/// A key's money limits, atomic USDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub ceiling: u64,
    pub per_trade: u64,
    pub daily: u64,
    pub confirm_threshold: Option<u64>,
}

impl Limits {
    pub fn of(key: &ApiKeyRecord, ceiling: u64) -> Limits {
        let tier: Tier = key.tier.parse().unwrap_or(Tier::Free);
        let pick = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
        Limits {
            ceiling,
            per_trade: pick(key.per_trade_cap_atomic)
                .unwrap_or(tier.default_per_trade_cap_atomic()),
            daily: pick(key.daily_cap_atomic).unwrap_or(tier.default_daily_cap_atomic()),
            confirm_threshold: pick(key.confirm_threshold_atomic)
                .or(tier.default_confirm_threshold_atomic()),
        }
    }
}

/// What the market maker will do.
#[derive(Debug, Clone)]
pub enum Fill {
    Buy(BuyResult),
    Sell(SellResult),
}

impl Fill {
    pub fn state_after(&self) -> &MarketState {
        match self {
            Fill::Buy(b) => &b.state_after,
            Fill::Sell(s) => &s.state_after,
        }
    }
}

/// A trade that passed every check.
#[derive(Debug, Clone)]
pub struct Planned {
    pub fill: Fill,
    /// The USDC measure of the caps: the buy's amount or the sell's payout.
    pub measure: Usdc,
    /// Whether the high-value gate applies (measure ≥ threshold).
    pub gated: bool,
}

/// The state the checks read.
pub struct Inputs<'a> {
    pub market_id: &'a str,
    pub state: &'a MarketState,
    pub outcome: usize,
    pub spec: &'a Spec,
    /// The trader's USDC balance.
    pub balance: Usdc,
    /// Tokens the trader may sell (holding minus any genesis leg).
    pub sellable: U256,
    pub limits: Limits,
    /// The key's rolling 24 h buys, this trade excluded.
    pub daily_used: Usdc,
}

fn human(atomic: u64) -> String {
    Usdc::from_atomic(atomic).to_human_string()
}

fn insufficient_position(detail: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::InsufficientPosition, detail)
}

/// Runs the checks; the first failure wins.
pub fn plan(i: &Inputs<'_>) -> Result<Planned, Problem> {
    let amm_err = |e: amm::AmmError| amm_problem(&e, i.market_id);
    // The measure of a tokens/close sell is the payout quoted now; a sell the market cannot
    // quote for range reasons is AMOUNT_TOO_LARGE, one the holding cannot cover is decided at
    // the position step.
    let mut deferred: Option<Problem> = None;
    let mut quoted: Option<SellResult> = None;
    let measure = match i.spec {
        Spec::Buy(a) | Spec::SellForAmount(a) => *a,
        Spec::SellTokens(t) if *t > SUPPLY_CAP => {
            return Err(Problem::new(
                ErrorCode::AmountTooLarge,
                "tokens is above the supply cap of 2^127 − 1 units",
            ))
        }
        Spec::SellTokens(t) => match amm::sell(i.state, i.outcome, *t) {
            Ok(r) => {
                let payout = r.payout;
                quoted = Some(r);
                payout
            }
            Err(e @ amm::AmmError::Range(_)) => return Err(amm_err(e)),
            Err(e) => {
                deferred = Some(amm_err(e));
                Usdc::ZERO
            }
        },
        Spec::Close => {
            if i.sellable.is_zero() {
                deferred = Some(insufficient_position(
                    "there is no sellable holding to close",
                ));
                Usdc::ZERO
            } else {
                match amm::sell(i.state, i.outcome, i.sellable) {
                    Ok(r) => {
                        let payout = r.payout;
                        quoted = Some(r);
                        payout
                    }
                    Err(e @ amm::AmmError::Range(_)) => return Err(amm_err(e)),
                    Err(e) => {
                        deferred = Some(amm_err(e));
                        Usdc::ZERO
                    }
                }
            }
        }
    };
    let m = measure.atomic();
    if m > i.limits.ceiling {
        return Err(Problem::new(
            ErrorCode::AmountTooLarge,
            format!(
                "{} USDC is above the platform's per-trade ceiling of {} USDC",
                human(m),
                human(i.limits.ceiling)
            ),
        ));
    }
    if m > i.limits.per_trade {
        return Err(Problem::new(
            ErrorCode::SpendingLimitExceeded,
            format!(
                "per-trade cap: {} USDC exceeds this key's cap of {} USDC by {} USDC",
                human(m),
                human(i.limits.per_trade),
                human(m - i.limits.per_trade)
            ),
        )
        .with("cap", "per_trade"));
    }
    if let Spec::Buy(amount) = i.spec {
        let total = i.daily_used.atomic().saturating_add(amount.atomic());
        if total > i.limits.daily {
            return Err(Problem::new(
                ErrorCode::SpendingLimitExceeded,
                format!(
                    "daily cap: {} USDC bought in the last 24 h plus {} USDC exceeds this key's cap of {} USDC by {} USDC",
                    human(i.daily_used.atomic()),
                    human(amount.atomic()),
                    human(i.limits.daily),
                    human(total - i.limits.daily)
                ),
            )
            .with("cap", "daily_volume"));
        }
    }
    let fill = match i.spec {
        Spec::Buy(amount) => {
            if i.balance < *amount {
                return Err(Problem::new(
                    ErrorCode::InsufficientBalance,
                    format!(
                        "the balance is {} USDC; the buy needs {} USDC",
                        i.balance.to_human_string(),
                        amount.to_human_string()
                    ),
                ));
            }
            Fill::Buy(amm::buy(i.state, i.outcome, *amount).map_err(amm_err)?)
        }
        Spec::SellForAmount(target) => {
            match amm::sell_for_target(i.state, i.outcome, *target, i.sellable).map_err(amm_err)? {
                Some((_, r)) => Fill::Sell(r),
                None => {
                    return Err(insufficient_position(format!(
                        "the sellable holding cannot pay out {} USDC",
                        target.to_human_string()
                    )))
                }
            }
        }
        Spec::SellTokens(t) => {
            if *t > i.sellable {
                return Err(insufficient_position(format!(
                    "the sell needs {t} tokens; {} can be sold",
                    i.sellable
                )));
            }
            match (deferred, quoted) {
                (Some(p), _) => return Err(p),
                (None, Some(r)) => Fill::Sell(r),
                (None, None) => Fill::Sell(amm::sell(i.state, i.outcome, *t).map_err(amm_err)?),
            }
        }
        Spec::Close => match (deferred, quoted) {
            (Some(p), _) => return Err(p),
            (None, Some(r)) => Fill::Sell(r),
            (None, None) => return Err(insufficient_position("there is no sellable holding")),
        },
    };
    let measure = match &fill {
        Fill::Buy(b) => b.amount_in,
        Fill::Sell(s) => match i.spec {
            Spec::SellForAmount(target) => *target,
            _ => s.payout,
        },
    };
    let gated = i
        .limits
        .confirm_threshold
        .is_some_and(|t| measure.atomic() >= t);
    Ok(Planned {
        fill,
        measure,
        gated,
    })
}
