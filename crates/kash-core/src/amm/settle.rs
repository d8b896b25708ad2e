//! Resolution, cancellation and redemptions (`amm.md` "Lifecycle" and "Settlement").

use ruint::aliases::U256;

use super::derived::marginal_price;
use super::error::{AmmError, AmmResult};
use super::math::{mul_div, sub};
use super::state::{winning_supply, CancelSnapshot, MarketState, Settlement};
use crate::money::{Usdc, U, WAD};

/// How a redemption was priced (the API's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedemptionKind {
    /// From a resolved market: winners share the reserve, losers get 0.
    Resolved,
    /// From a cancelled market: a refund at the snapshot's marginal price.
    Cancelled,
}

/// One holder's redemption of `t` tokens of one outcome. No fee is charged on redemptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redemption {
    /// Resolved or cancelled.
    pub kind: RedemptionKind,
    /// The outcome redeemed.
    pub outcome: usize,
    /// Tokens redeemed, WAD.
    pub tokens: U256,
    /// Atomic USDC moving from the market to the holder (may be zero).
    pub payout: Usdc,
    /// The market after the redemption.
    pub state_after: MarketState,
}

/// Resolves an open market with the given winning outcomes; `W = Σ s_w`.
///
/// `winners` may come in any order; it is stored ascending. Errors: [`AmmError::NotOpen`] if
/// already settled, [`AmmError::InvalidWinners`] when empty, repeated or out of range.
pub fn resolve(state: &MarketState, winners: &[usize]) -> AmmResult<MarketState> {
    state.validate_open()?;
    let mut sorted = winners.to_vec();
    sorted.sort_unstable();
    let remaining_winning_supply =
        winning_supply(&state.supplies, &sorted).ok_or(AmmError::InvalidWinners)?;
    let mut after = state.clone();
    after.settlement = Settlement::Resolved {
        winners: sorted,
        remaining_winning_supply,
    };
    Ok(after)
}

/// Cancels an open market, freezing `(R, A, supplies)` as the refund snapshot.
pub fn cancel(state: &MarketState) -> AmmResult<MarketState> {
    state.validate_open()?;
    let mut after = state.clone();
    after.settlement = Settlement::Cancelled(CancelSnapshot {
        reserve: state.reserve,
        a: state.a,
        supplies: state.supplies.clone(),
    });
    Ok(after)
}

/// Redeems `t` tokens of outcome `k` in a resolved or cancelled market, whichever it is.
///
/// [`AmmError::NotSettled`] on an open market.
pub fn redeem(state: &MarketState, k: usize, t: U256) -> AmmResult<Redemption> {
    match state.settlement {
        Settlement::Open => {
            state.validate()?;
            Err(AmmError::NotSettled)
        }
        Settlement::Resolved { .. } => redeem_resolved(state, k, t),
        Settlement::Cancelled(_) => refund_cancelled(state, k, t),
    }
}

/// Redeems `t` tokens of outcome `k` in a resolved market.
///
/// Winning tokens: `payout = floor(mulDiv(R, t, W) / U)`, except that the last claimer
/// (`t == W`) receives the whole remaining balance; then `W −= t`, `R −= payout·U`,
/// `balance −= payout`. Losing tokens pay 0 and change nothing; so does `t = 0` (it is not a
/// claim of the remaining supply, so it never triggers the sweep). `t > W` is
/// [`AmmError::ExceedsClaimable`]: holdings of the winners always sum to `W`.
pub fn redeem_resolved(state: &MarketState, k: usize, t: U256) -> AmmResult<Redemption> {
    state.validate()?;
    let Settlement::Resolved {
        winners,
        remaining_winning_supply: remaining,
    } = &state.settlement
    else {
        return Err(AmmError::NotSettled);
    };
    state.supply(k)?;
    let unchanged = |state: &MarketState| Redemption {
        kind: RedemptionKind::Resolved,
        outcome: k,
        tokens: t,
        payout: Usdc::ZERO,
        state_after: state.clone(),
    };
    if !winners.contains(&k) || t.is_zero() {
        return Ok(unchanged(state));
    }
    if t > *remaining {
        return Err(AmmError::ExceedsClaimable);
    }
    let mut after = state.clone();
    let payout = if t == *remaining {
        // The sweep pays by the balance, not the reserve, so rounding dust never strands USDC;
        // the reserve is floored at zero rather than letting a rounding difference block it.
        let payout = state.balance;
        after.reserve = state.reserve.saturating_sub(payout.to_wad());
        payout
    } else {
        let payout_wad = mul_div(state.reserve, t, *remaining)?;
        let payout = u64::try_from(&(payout_wad / U))
            .map(Usdc::from_atomic)
            .map_err(|_| AmmError::Range("payout exceeds 64 bits"))?;
        after.reserve = sub(state.reserve, payout.to_wad(), "reserve below zero")?;
        payout
    };
    after.balance = state
        .balance
        .checked_sub(payout)
        .ok_or(AmmError::InsufficientMarketBalance)?;
    after.settlement = Settlement::Resolved {
        winners: winners.clone(),
        remaining_winning_supply: sub(*remaining, t, "winning supply below zero")?,
    };
    Ok(Redemption {
        kind: RedemptionKind::Resolved,
        outcome: k,
        tokens: t,
        payout,
        state_after: after,
    })
}

/// Refunds `t` tokens of outcome `k` in a cancelled market:
/// `floor(mulDiv(t, p_k(snapshot), WAD) / U)`, which must not exceed the balance
/// ([`AmmError::InsufficientMarketBalance`]); then `R = max(R − refund·U, 0)` and
/// `balance −= refund`. `t` above the outcome's supply at cancellation is
/// [`AmmError::ExceedsClaimable`].
pub fn refund_cancelled(state: &MarketState, k: usize, t: U256) -> AmmResult<Redemption> {
    state.validate()?;
    let Settlement::Cancelled(snapshot) = &state.settlement else {
        return Err(AmmError::NotSettled);
    };
    let supply_at_cancel = state.supply(k).and_then(|_| {
        snapshot
            .supplies
            .get(k)
            .copied()
            .ok_or(AmmError::CorruptState("snapshot outcome count differs"))
    })?;
    if t > supply_at_cancel {
        return Err(AmmError::ExceedsClaimable);
    }
    let price = marginal_price(snapshot.reserve, snapshot.a, &snapshot.supplies, k)?;
    let refund_wad = mul_div(t, price, WAD)?;
    let refund = u64::try_from(&(refund_wad / U))
        .map(Usdc::from_atomic)
        .map_err(|_| AmmError::Range("refund exceeds 64 bits"))?;
    let mut after = state.clone();
    after.balance = state
        .balance
        .checked_sub(refund)
        .ok_or(AmmError::InsufficientMarketBalance)?;
    after.reserve = state.reserve.saturating_sub(refund.to_wad());
    Ok(Redemption {
        kind: RedemptionKind::Cancelled,
        outcome: k,
        tokens: t,
        payout: refund,
        state_after: after,
    })
}
