//! Display and quote values derived from a state (`amm.md` "Derived values").

use ruint::aliases::U256;

use super::error::{AmmError, AmmResult};
use super::math::{add, isqrt, mul, mul_div, sub, weight};
use super::state::MarketState;
use crate::money::WAD;

/// Every derived value of one state, as a quote or a market resource needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    /// Marginal prices `p_i`, WAD USDC per token (a quote's price fields).
    pub prices: Vec<U256>,
    /// Probabilities `π_i`, WAD (a quote's `pAfter[]`, the market's `probability`).
    pub probabilities: Vec<U256>,
    /// Capital shares `q_i`, WAD, summing to exactly `WAD` (`qAfter[]`, `capitalShare`).
    pub capital_shares: Vec<U256>,
    /// The liquidity coefficient `c`, WAD (a quote's `c`).
    pub liquidity: U256,
}

/// Computes every derived value of `state` from its live reserve, aggregate and supplies.
///
/// Works on settled states too (their reserve shrinks as holders redeem).
pub fn derive(state: &MarketState) -> AmmResult<Derived> {
    state.validate()?;
    derive_unvalidated(state)
}

/// [`derive`] without re-validating: for a state this engine has just produced from a
/// validated one. The arithmetic stays checked, so a bad state still cannot panic.
pub(crate) fn derive_unvalidated(state: &MarketState) -> AmmResult<Derived> {
    let prices = prices_of(state.reserve, state.a, &state.supplies)?;
    let probabilities = probabilities(&prices)?;
    Ok(Derived {
        probabilities,
        capital_shares: shares_of(state.a, &state.supplies)?,
        liquidity: liquidity_of(state.reserve, state.a)?,
        prices,
    })
}

/// Marginal prices `p_i = mulDiv(R, a_i·s_i, A)` of `state`.
pub fn marginal_prices(state: &MarketState) -> AmmResult<Vec<U256>> {
    state.validate()?;
    prices_of(state.reserve, state.a, &state.supplies)
}

/// The marginal price of outcome `k` for an arbitrary `(R, A, supplies)` — used on a
/// cancellation snapshot.
pub fn marginal_price(reserve: U256, a: U256, supplies: &[U256], k: usize) -> AmmResult<U256> {
    let s_k = supplies.get(k).copied().ok_or(AmmError::InvalidOutcome {
        index: k,
        count: supplies.len(),
    })?;
    let a_k = weight(supplies.len(), k)?;
    mul_div(
        reserve,
        mul(a_k, s_k, "weighted supply exceeds 256 bits")?,
        a,
    )
}

fn prices_of(reserve: U256, a: U256, supplies: &[U256]) -> AmmResult<Vec<U256>> {
    (0..supplies.len())
        .map(|k| marginal_price(reserve, a, supplies, k))
        .collect()
}

/// Probabilities `π_i = floor(p_i · WAD / Σ p_j)`, each floored with no dust rule, so they sum
/// to between `WAD − (n − 1)` and `WAD`.
///
/// All zeros when every price is zero (a settled market whose reserve has been paid out):
/// there is nothing to normalise, and a display must not fail for it.
pub fn probabilities(prices: &[U256]) -> AmmResult<Vec<U256>> {
    let total = prices.iter().try_fold(U256::ZERO, |acc, p| {
        add(acc, *p, "price sum exceeds 256 bits")
    })?;
    if total.is_zero() {
        return Ok(vec![U256::ZERO; prices.len()]);
    }
    prices.iter().map(|p| mul_div(*p, WAD, total)).collect()
}

/// Capital shares `q_i = mulDiv(a_i, s_i², A)` of `state`, summing to exactly `WAD`.
pub fn capital_shares(state: &MarketState) -> AmmResult<Vec<U256>> {
    state.validate()?;
    shares_of(state.a, &state.supplies)
}

/// Capital shares with the dust `WAD − Σ q_i` given to the largest `q_i` (lowest index on a
/// tie). Because `A` sums floored terms, `Σ q_i` can in principle exceed `WAD` by a few units
/// on tiny supplies; the same outcome then gives the excess back, so the sum is still `WAD`.
fn shares_of(a: U256, supplies: &[U256]) -> AmmResult<Vec<U256>> {
    let n = supplies.len();
    let mut shares = supplies
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let square = mul(*s, *s, "supply squared exceeds 256 bits")?;
            mul_div(weight(n, i)?, square, a)
        })
        .collect::<AmmResult<Vec<U256>>>()?;
    let total = shares.iter().try_fold(U256::ZERO, |acc, q| {
        add(acc, *q, "share sum exceeds 256 bits")
    })?;
    // max_by_key keeps the last maximum, so compare reversed indices to favour the first.
    let largest = shares
        .iter()
        .enumerate()
        .max_by(|(i, x), (j, y)| x.cmp(y).then(j.cmp(i)))
        .map(|(i, _)| i)
        .ok_or(AmmError::InvalidOutcomeCount(0))?;
    let slot = &mut shares[largest];
    *slot = if total <= WAD {
        add(*slot, WAD - total, "share exceeds 256 bits")?
    } else {
        sub(*slot, total - WAD, "share below zero")?
    };
    Ok(shares)
}

/// The liquidity coefficient `c = mulDiv(R, WAD, isqrt(A))` of `state`.
pub fn liquidity(state: &MarketState) -> AmmResult<U256> {
    state.validate()?;
    liquidity_of(state.reserve, state.a)
}

fn liquidity_of(reserve: U256, a: U256) -> AmmResult<U256> {
    mul_div(reserve, WAD, isqrt(a))
}
