//! The market state, its validation and genesis.

use ruint::aliases::U256;

use super::error::{AmmError, AmmResult};
use super::math::{aggregate, check_outcome_count};
use crate::money::{Usdc, SUPPLY_CAP};

/// Largest protocol fee a market may charge, in basis points.
pub const MAX_FEE_BPS: u32 = 500;
/// Largest AMM sell fee a market may charge, in basis points.
pub const MAX_SELL_FEE_BPS: u32 = 10_000;
/// Default protocol fee, in basis points.
pub const DEFAULT_FEE_BPS: u32 = 100;
/// Default AMM sell fee, in basis points.
pub const DEFAULT_SELL_FEE_BPS: u32 = 50;
/// Smallest genesis seed: 20 USDC.
pub const MIN_SEED: Usdc = Usdc::from_atomic(20_000_000);

/// Everything the market maker knows about one seeded market.
///
/// Lifecycle phases before settlement (`ACTIVE`, `FROZEN`) and the clock are the caller's
/// business: this struct only distinguishes an open market from a resolved or cancelled one,
/// because that is what changes the arithmetic. Volume is the caller's too (it grows by a buy's
/// `amount_in` and a sell's `payout`).
///
/// `balance` is a [`Usdc`] (`u64` atomic, about 18.4 trillion USDC) rather than a wider
/// integer on purpose: the last winning claimer and the refunds can pay out the whole balance in
/// one transfer, and a transfer is a `Usdc`, so a balance the transfer type cannot carry would
/// strand funds. A buy that would take the balance past `u64` is therefore a range error
/// (`AMOUNT_TOO_LARGE`). While the market is open, states built by these functions keep
/// `reserve = balance · U` exactly (fees leave both; the AMM sell fee stays in both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketState {
    /// `s_i`, WAD, one per outcome; the outcome count is `supplies.len()`.
    pub supplies: Vec<U256>,
    /// The reserve `R`, WAD.
    pub reserve: U256,
    /// The aggregate `A = Σ term(a_i, s_i)`, always kept equal to that sum.
    pub a: U256,
    /// The creator's unsellable holding of every outcome, WAD (`R` at genesis).
    pub genesis_leg: U256,
    /// Atomic USDC held by the market.
    pub balance: Usdc,
    /// Protocol fee on buys and sells, basis points, at most 500.
    pub fee_bps: u32,
    /// AMM sell fee (stays in the reserve), basis points, at most 10 000.
    pub sell_fee_bps: u32,
    /// Open, or how the market was settled.
    pub settlement: Settlement,
}

/// Whether a market still trades, and if not, what its holders can claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Not settled: trading is allowed as far as the market maker is concerned.
    Open,
    /// Resolved: the winners' tokens share the reserve.
    Resolved {
        /// Winning outcome indices, ascending and distinct.
        winners: Vec<usize>,
        /// `W`: winning supply not yet redeemed (starts as `Σ s_w`).
        remaining_winning_supply: U256,
    },
    /// Cancelled: every token is refunded at its marginal price in the snapshot.
    Cancelled(CancelSnapshot),
}

/// The pricing state frozen at cancellation; refunds are priced from it while the live
/// `reserve` and `balance` shrink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelSnapshot {
    /// `R` at cancellation.
    pub reserve: U256,
    /// `A` at cancellation.
    pub a: U256,
    /// Supplies at cancellation.
    pub supplies: Vec<U256>,
}

impl MarketState {
    /// The outcome count `n`.
    pub fn outcome_count(&self) -> usize {
        self.supplies.len()
    }

    /// Tokens of outcome `k` that can still be sold: `s_k − genesisLeg`.
    pub fn sellable(&self, k: usize) -> AmmResult<U256> {
        let supply = self.supply(k)?;
        supply
            .checked_sub(self.genesis_leg)
            .ok_or(AmmError::CorruptState("supply below the genesis leg"))
    }

    /// `s_k`, or [`AmmError::InvalidOutcome`].
    pub fn supply(&self, k: usize) -> AmmResult<U256> {
        self.supplies
            .get(k)
            .copied()
            .ok_or(AmmError::InvalidOutcome {
                index: k,
                count: self.supplies.len(),
            })
    }

    /// Checks every stored value is in range and consistent, so that an error from an
    /// operation on this state can only be the input's fault.
    ///
    /// Checks: `2 ≤ n ≤ 100`; every supply, the reserve and the genesis leg `≤ 2^127 − 1`; every
    /// supply `≥ genesisLeg`; `A > 0` and `A` equal to `Σ term(a_i, s_i)` (the replace rule keeps
    /// it exact, so any difference is corruption); `feeBps ≤ 500`; `sellFeeBps ≤ 10000`; for a
    /// resolved market, distinct ascending in-range winners and `W ≤ Σ s_w`; for a cancelled
    /// one, a snapshot of `n` supplies within the cap, `R` within the cap and a positive `A`
    /// equal to the snapshot's own aggregate.
    pub fn validate(&self) -> AmmResult<()> {
        let corrupt = |what| Err(AmmError::CorruptState(what));
        let n = self.supplies.len();
        if check_outcome_count(n).is_err() {
            return corrupt("outcome count outside 2..=100");
        }
        if self.supplies.iter().any(|s| *s > SUPPLY_CAP) {
            return corrupt("supply above the cap");
        }
        if self.reserve > SUPPLY_CAP {
            return corrupt("reserve above the cap");
        }
        if self.genesis_leg > SUPPLY_CAP {
            return corrupt("genesis leg above the cap");
        }
        if self.supplies.iter().any(|s| *s < self.genesis_leg) {
            return corrupt("supply below the genesis leg");
        }
        if self.a.is_zero() {
            return corrupt("aggregate is zero");
        }
        if aggregate(&self.supplies).ok() != Some(self.a) {
            return corrupt("aggregate does not match the supplies");
        }
        if self.fee_bps > MAX_FEE_BPS {
            return corrupt("feeBps above 500");
        }
        if self.sell_fee_bps > MAX_SELL_FEE_BPS {
            return corrupt("sellFeeBps above 10000");
        }
        match &self.settlement {
            Settlement::Open => Ok(()),
            Settlement::Resolved {
                winners,
                remaining_winning_supply,
            } => {
                let Some(total) = winning_supply(&self.supplies, winners) else {
                    return corrupt("winning outcomes invalid");
                };
                if *remaining_winning_supply > total {
                    return corrupt("remaining winning supply above the winners' supply");
                }
                Ok(())
            }
            Settlement::Cancelled(snapshot) => {
                if snapshot.supplies.len() != n {
                    return corrupt("snapshot outcome count differs");
                }
                if snapshot.supplies.iter().any(|s| *s > SUPPLY_CAP) {
                    return corrupt("snapshot supply above the cap");
                }
                if snapshot.reserve > SUPPLY_CAP {
                    return corrupt("snapshot reserve above the cap");
                }
                if snapshot.a.is_zero() || aggregate(&snapshot.supplies).ok() != Some(snapshot.a) {
                    return corrupt("snapshot aggregate invalid");
                }
                Ok(())
            }
        }
    }

    /// Validates, and that the market is still open.
    pub(crate) fn validate_open(&self) -> AmmResult<()> {
        self.validate()?;
        match self.settlement {
            Settlement::Open => Ok(()),
            _ => Err(AmmError::NotOpen),
        }
    }
}

/// `Σ s_w` over `winners` if they are non-empty, strictly ascending and in range.
pub(crate) fn winning_supply(supplies: &[U256], winners: &[usize]) -> Option<U256> {
    let ascending = winners.windows(2).all(|pair| pair[0] < pair[1]);
    if winners.is_empty() || !ascending {
        return None;
    }
    winners
        .iter()
        .try_fold(U256::ZERO, |acc, &w| acc.checked_add(*supplies.get(w)?))
}

/// Creates the state of a freshly seeded market (`amm.md` Genesis).
///
/// `R = S·U`, every `s_i = R`, `A` from the supplies, `genesisLeg = R`, `balance = S`. Errors:
/// [`AmmError::InvalidOutcomeCount`] outside `2..=100`, [`AmmError::InvalidSeed`] below
/// 20 USDC, [`AmmError::InvalidFee`] for fees past their limits, [`AmmError::Range`] when
/// `S·U` exceeds the supply cap.
pub fn genesis(n: usize, seed: Usdc, fee_bps: u32, sell_fee_bps: u32) -> AmmResult<MarketState> {
    check_outcome_count(n)?;
    if seed < MIN_SEED {
        return Err(AmmError::InvalidSeed);
    }
    if fee_bps > MAX_FEE_BPS || sell_fee_bps > MAX_SELL_FEE_BPS {
        return Err(AmmError::InvalidFee);
    }
    let reserve = seed.to_wad();
    if reserve > SUPPLY_CAP {
        return Err(AmmError::Range("seed exceeds the supply cap"));
    }
    let supplies = vec![reserve; n];
    let a = aggregate(&supplies)?;
    Ok(MarketState {
        supplies,
        reserve,
        a,
        genesis_leg: reserve,
        balance: seed,
        fee_bps,
        sell_fee_bps,
        settlement: Settlement::Open,
    })
}
