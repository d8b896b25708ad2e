//! Buys and sells (`amm.md` "Buy" and "Sell").
//!
//! Each function validates the stored state first, so [`AmmError::CorruptState`] always means
//! the state, and any other error means the request. Nothing here mutates: the new state is
//! returned for the caller to persist together with its ledger entries.

use ruint::aliases::U256;

use super::derived::{derive_unvalidated, Derived};
use super::error::{AmmError, AmmResult};
use super::math::{add, isqrt, mul, mul_div, replace_term, sub, weight};
use super::state::MarketState;
use crate::money::{Usdc, BPS, SUPPLY_CAP, U, WAD};

/// The outcome of a buy of `G` atomic USDC of one outcome.
///
/// Ledger: the buyer pays `amount_in` to the market, then `fee` moves from the market to the
/// fee ledger, so the market's balance grows by `net_to_market = G − F` (kept equal to `x / U`,
/// the growth of the reserve). Volume grows by `amount_in`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyResult {
    /// The outcome bought.
    pub outcome: usize,
    /// `G`, atomic USDC paid by the buyer.
    pub amount_in: Usdc,
    /// `F = mulDiv(G, feeBps, BPS)`, the protocol fee.
    pub fee: Usdc,
    /// `G − F`, what stays in the market's balance.
    pub net_to_market: Usdc,
    /// `x = (G − F)·U`, WAD added to the reserve.
    pub x: U256,
    /// Tokens minted to the buyer, WAD.
    pub tokens_out: U256,
    /// The market after the buy.
    pub state_after: MarketState,
}

/// The outcome of a sell of `t` tokens of one outcome.
///
/// Ledger: `gross` leaves the market's balance; `payout` goes to the seller and `fee` to the
/// fee ledger. The AMM sell fee (`released − net`) never leaves the reserve. Volume grows by
/// `payout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SellResult {
    /// The outcome sold.
    pub outcome: usize,
    /// `t`, tokens taken from the seller, WAD.
    pub tokens_in: U256,
    /// `mulDiv(a_k, t·(2·s_k − t), WAD)`, the drop in the aggregate used for pricing.
    pub removed: U256,
    /// WAD released by the curve before the AMM sell fee (a quote's `grossRelease`).
    pub released: U256,
    /// `released` minus the AMM sell fee, WAD.
    pub net: U256,
    /// `floor(net / U)`, atomic USDC leaving the market.
    pub gross: Usdc,
    /// `mulDiv(gross, feeBps, BPS)`, the protocol fee.
    pub fee: Usdc,
    /// `gross − fee`, what the seller receives.
    pub payout: Usdc,
    /// The market after the sell.
    pub state_after: MarketState,
}

/// Quotes and applies a buy of `amount_in` atomic USDC of outcome `k` (`amm.md` "Buy").
///
/// Errors: [`AmmError::CorruptState`] / [`AmmError::NotOpen`] for the state,
/// [`AmmError::InvalidOutcome`], [`AmmError::ZeroAmount`] for `G = 0`, and [`AmmError::Range`]
/// when the reserve or the supply would pass the cap, the balance would pass `u64`, or an
/// intermediate would pass 256 bits.
pub fn buy(state: &MarketState, k: usize, amount_in: Usdc) -> AmmResult<BuyResult> {
    state.validate_open()?;
    let n = state.outcome_count();
    let a_k = weight(n, k)?;
    if amount_in.is_zero() {
        return Err(AmmError::ZeroAmount);
    }
    let fee = fee_on(amount_in, state.fee_bps)?;
    let net_to_market = amount_in
        .checked_sub(fee)
        .ok_or(AmmError::Range("fee exceeds the amount"))?;
    let x = net_to_market.to_wad();

    let reserve = state.reserve;
    let reserve_after = add(reserve, x, "reserve exceeds 256 bits")?;
    if reserve_after > SUPPLY_CAP {
        return Err(AmmError::Range("reserve would exceed the supply cap"));
    }
    let first = mul_div(state.a, reserve_after, reserve)?;
    let a_quote = mul_div(first, reserve_after, reserve)?;
    let s_k = state.supply(k)?;
    let growth = mul_div(sub(a_quote, state.a, "aggregate below zero")?, WAD, a_k)?;
    let disc = add(
        mul(s_k, s_k, "supply squared exceeds 256 bits")?,
        growth,
        "discriminant exceeds 256 bits",
    )?;
    let tokens_out = sub(isqrt(disc), s_k, "tokens out below zero")?;
    let s_after = add(s_k, tokens_out, "supply exceeds 256 bits")?;
    if s_after > SUPPLY_CAP {
        return Err(AmmError::Range("supply would exceed the supply cap"));
    }

    let mut state_after = state.clone();
    state_after.a = replace_term(state.a, a_k, s_k, s_after)?;
    state_after.supplies[k] = s_after;
    state_after.reserve = reserve_after;
    state_after.balance = state
        .balance
        .checked_add(net_to_market)
        .ok_or(AmmError::Range("market balance would exceed 64 bits"))?;
    Ok(BuyResult {
        outcome: k,
        amount_in,
        fee,
        net_to_market,
        x,
        tokens_out,
        state_after,
    })
}

/// Quotes and applies a sell of `tokens` WAD of outcome `k` (`amm.md` "Sell").
///
/// The caller checks the seller's holding (step 1's first half); this function checks
/// `t ≤ s_k − genesisLeg` ([`AmmError::ExceedsSellable`]) and `gross ≤ balance`
/// ([`AmmError::InsufficientMarketBalance`]). `t = 0` is [`AmmError::ZeroAmount`].
pub fn sell(state: &MarketState, k: usize, tokens: U256) -> AmmResult<SellResult> {
    state.validate_open()?;
    let curve = SellCurve::new(state, k)?;
    if tokens.is_zero() {
        return Err(AmmError::ZeroAmount);
    }
    if tokens > curve.sellable {
        return Err(AmmError::ExceedsSellable);
    }
    curve.sell(tokens)
}

/// The smallest `t ≤ min(max_tokens, s_k − genesisLeg)` whose sell pays out at least `target`,
/// with that sell; `None` when even the largest allowed `t` pays less.
///
/// `max_tokens` is the seller's holding. A zero `target` is [`AmmError::ZeroAmount`]. When
/// the first `t` that reaches the target cannot be executed (its gross would exceed the market
/// balance or a range), that error is returned: the target is unreachable for a reason other
/// than the holding.
///
/// Why a binary search finds the smallest `t`: on `0 ≤ t ≤ s_k` every step of the sell is
/// non-decreasing in `t`. `t·(2·s_k − t)` grows while `t ≤ s_k` (its derivative `2(s_k − t)`
/// is ≥ 0), and flooring a non-decreasing function keeps it non-decreasing, so `removed` grows
/// and `Aq = A − removed` shrinks; hence `isqrt(Aq)` shrinks and `released` grows. For a fee
/// `f ≤ BPS`, `r ↦ r − floor(r·f / BPS)` is non-decreasing, because raising `r` by one raises
/// `floor(r·f / BPS)` by at most one; that gives `net`, then `gross = floor(net / U)`, then
/// `payout = gross − floor(gross·feeBps / BPS)` non-decreasing. Every way a sell can fail
/// (`Aq = 0`, `gross > balance`, `gross` past `u64`) is likewise monotone: once it fails, it
/// fails for every larger `t`. So "fails or pays ≥ target" is a monotone predicate, and its
/// first true point is the answer.
pub fn sell_for_target(
    state: &MarketState,
    k: usize,
    target: Usdc,
    max_tokens: U256,
) -> AmmResult<Option<(U256, SellResult)>> {
    state.validate_open()?;
    let curve = SellCurve::new(state, k)?;
    if target.is_zero() {
        return Err(AmmError::ZeroAmount);
    }
    let limit = max_tokens.min(curve.sellable);
    if limit.is_zero() {
        return Ok(None);
    }
    let reaches = |t: U256| match curve.amounts(t) {
        Ok(amounts) => amounts.payout >= target,
        Err(_) => true,
    };
    if !reaches(limit) {
        return Ok(None);
    }
    // Invariant: reaches(high) holds and reaches(t) fails for every t ≤ low.
    let mut low = U256::ZERO;
    let mut high = limit;
    while high - low > U256::from(1u64) {
        let mid = low + ((high - low) >> 1);
        if reaches(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    curve.sell(high).map(|result| Some((high, result)))
}

impl BuyResult {
    /// Prices, probabilities, capital shares and liquidity after the buy (a quote's `pAfter`,
    /// `qAfter` and `c`). Skips the validation [`derive`](super::derive) would repeat, since
    /// `state_after` came from a validated state.
    pub fn derived_after(&self) -> AmmResult<Derived> {
        derive_unvalidated(&self.state_after)
    }
}

impl SellResult {
    /// Prices, probabilities, capital shares and liquidity after the sell; see
    /// [`BuyResult::derived_after`].
    pub fn derived_after(&self) -> AmmResult<Derived> {
        derive_unvalidated(&self.state_after)
    }
}

/// `mulDiv(amount, feeBps, BPS)` on atomic USDC; `feeBps ≤ 500` keeps the product in `u128`.
fn fee_on(amount: Usdc, fee_bps: u32) -> AmmResult<Usdc> {
    let fee = u128::from(amount.atomic()) * u128::from(fee_bps) / u128::from(BPS);
    u64::try_from(fee)
        .map(Usdc::from_atomic)
        .map_err(|_| AmmError::Range("fee exceeds 64 bits"))
}

/// The per-outcome constants of a sell, computed once so the target search only repeats the
/// parts that depend on `t`.
struct SellCurve<'a> {
    state: &'a MarketState,
    k: usize,
    a_k: U256,
    s_k: U256,
    sellable: U256,
    norm: U256,
}

/// The amounts of one sell, before the state is updated.
struct SellAmounts {
    removed: U256,
    released: U256,
    net: U256,
    gross: Usdc,
    fee: Usdc,
    payout: Usdc,
}

impl<'a> SellCurve<'a> {
    fn new(state: &'a MarketState, k: usize) -> AmmResult<Self> {
        let a_k = weight(state.outcome_count(), k)?;
        let s_k = state.supply(k)?;
        let sellable = state.sellable(k)?;
        let norm = isqrt(state.a);
        Ok(SellCurve {
            state,
            k,
            a_k,
            s_k,
            sellable,
            norm,
        })
    }

    /// Steps 2–5 for `t ≤ sellable`.
    fn amounts(&self, t: U256) -> AmmResult<SellAmounts> {
        let state = self.state;
        let twice = mul(
            self.s_k,
            U256::from(2u64),
            "supply doubled exceeds 256 bits",
        )?;
        let span = mul(
            t,
            sub(twice, t, "sell exceeds twice the supply")?,
            "sell span exceeds 256 bits",
        )?;
        let removed = mul_div(self.a_k, span, WAD)?;
        let a_quote = sub(state.a, removed, "aggregate below zero")?;
        if a_quote.is_zero() {
            return Err(AmmError::Range("sell would empty the aggregate"));
        }
        let drop = sub(self.norm, isqrt(a_quote), "norm below zero")?;
        let released = mul_div(state.reserve, drop, self.norm)?;
        let sell_fee = mul_div(released, U256::from(state.sell_fee_bps), U256::from(BPS))?;
        let net = sub(released, sell_fee, "sell fee exceeds the release")?;
        let gross = u64::try_from(&(net / U))
            .map(Usdc::from_atomic)
            .map_err(|_| AmmError::Range("gross payout exceeds 64 bits"))?;
        let fee = fee_on(gross, state.fee_bps)?;
        let payout = gross
            .checked_sub(fee)
            .ok_or(AmmError::Range("fee exceeds the payout"))?;
        if gross > state.balance {
            return Err(AmmError::InsufficientMarketBalance);
        }
        Ok(SellAmounts {
            removed,
            released,
            net,
            gross,
            fee,
            payout,
        })
    }

    /// Steps 2–6: the amounts and the state after.
    fn sell(&self, t: U256) -> AmmResult<SellResult> {
        let amounts = self.amounts(t)?;
        let state = self.state;
        let s_after = sub(self.s_k, t, "supply below zero")?;
        let mut state_after = state.clone();
        state_after.a = replace_term(state.a, self.a_k, self.s_k, s_after)?;
        if state_after.a.is_zero() {
            return Err(AmmError::Range("sell would empty the aggregate"));
        }
        state_after.supplies[self.k] = s_after;
        state_after.reserve = sub(state.reserve, amounts.gross.to_wad(), "reserve below zero")?;
        state_after.balance = state
            .balance
            .checked_sub(amounts.gross)
            .ok_or(AmmError::InsufficientMarketBalance)?;
        Ok(SellResult {
            outcome: self.k,
            tokens_in: t,
            removed: amounts.removed,
            released: amounts.released,
            net: amounts.net,
            gross: amounts.gross,
            fee: amounts.fee,
            payout: amounts.payout,
            state_after,
        })
    }
}
