//! Integer helpers of `amm.md`: every one is checked and none can panic.

use ruint::aliases::{U256, U512};
use ruint::UintTryFrom;

use super::error::{AmmError, AmmResult};
use crate::money::WAD;

/// Smallest outcome count the engine accepts.
pub const MIN_OUTCOMES: usize = 2;
/// Largest outcome count the engine accepts (the API itself stops at 8).
pub const MAX_OUTCOMES: usize = 100;

/// `floor(a · b / d)` over the full 512-bit product.
///
/// Errors with [`AmmError::Range`] when `d == 0` or the quotient does not fit 256 bits.
pub fn mul_div(a: U256, b: U256, d: U256) -> AmmResult<U256> {
    if d.is_zero() {
        return Err(AmmError::Range("division by zero"));
    }
    // Most products in practice fit 256 bits; the 512-bit division is several times slower.
    let (low, overflow) = a.overflowing_mul(b);
    if !overflow {
        if let (Some(low), Some(d)) = (as_u128(low), as_u128(d)) {
            return Ok(U256::from(low / d));
        }
        return Ok(low / d);
    }
    let product: U512 = a.widening_mul(b);
    let quotient = product / U512::from(d);
    U256::uint_try_from(quotient).map_err(|_| AmmError::Range("quotient exceeds 256 bits"))
}

/// `x` as a `u128` when it fits.
fn as_u128(x: U256) -> Option<u128> {
    let limbs = x.as_limbs();
    (limbs[2] == 0 && limbs[3] == 0).then(|| u128::from(limbs[0]) | (u128::from(limbs[1]) << 64))
}

/// `floor(sqrt(x))`, exact for every 256-bit input.
pub fn isqrt(x: U256) -> U256 {
    if let Some(small) = as_u128(x) {
        return U256::from(small.isqrt());
    }
    // Seed from the top 127–128 bits (shifted by an even amount so the root shifts by half):
    // `(isqrt(top) + 1) · 2^(shift/2)` is ≥ sqrt(x) and within a relative 2^-63 of it, so the
    // Newton iteration below converges from above in two or three steps.
    let shift = (x.bit_len() - 127) & !1;
    // The shift leaves at most 128 bits, so `top` is always `Some`.
    let top = as_u128(x >> shift).unwrap_or(u128::MAX);
    let mut root = U256::from(top.isqrt() + 1) << (shift / 2);
    // Classic decreasing Newton step: from any start ≥ floor(sqrt(x)) it strictly decreases
    // until it reaches floor(sqrt(x)), after which the next step does not decrease.
    // `root ≤ 2^128` and `x / root ≤ 2^128`, so the sum cannot overflow.
    loop {
        let next = (root + x / root) >> 1;
        if next >= root {
            return root;
        }
        root = next;
    }
}

/// Checks that `n` is an outcome count the engine supports.
pub fn check_outcome_count(n: usize) -> AmmResult<()> {
    if (MIN_OUTCOMES..=MAX_OUTCOMES).contains(&n) {
        Ok(())
    } else {
        Err(AmmError::InvalidOutcomeCount(n))
    }
}

/// The weight `a_i` of outcome `i` among `n`: `floor(WAD / n)`, the last outcome taking the
/// remainder so the weights sum to exactly `WAD`.
pub fn weight(n: usize, i: usize) -> AmmResult<U256> {
    check_outcome_count(n)?;
    if i >= n {
        return Err(AmmError::InvalidOutcome { index: i, count: n });
    }
    // WAD fits u64 and n ≤ 100, so plain u64 arithmetic is exact here and far cheaper than
    // 256-bit division on this hot path.
    const WAD_U64: u64 = 1_000_000_000_000_000_000;
    let n = n as u64;
    let share = WAD_U64 / n;
    if (i as u64) + 1 < n {
        Ok(U256::from(share))
    } else {
        Ok(U256::from(WAD_U64 - share * (n - 1)))
    }
}

/// `term(a, s) = mulDiv(a, s·s, WAD)`.
pub fn term(a: U256, s: U256) -> AmmResult<U256> {
    let square = s
        .checked_mul(s)
        .ok_or(AmmError::Range("supply squared exceeds 256 bits"))?;
    mul_div(a, square, WAD)
}

/// The aggregate `A = Σ term(weight(n, i), s_i)`, each term floored before summing.
pub fn aggregate(supplies: &[U256]) -> AmmResult<U256> {
    let n = supplies.len();
    supplies
        .iter()
        .enumerate()
        .try_fold(U256::ZERO, |acc, (i, &s)| {
            acc.checked_add(term(weight(n, i)?, s)?)
                .ok_or(AmmError::Range("aggregate exceeds 256 bits"))
        })
}

/// `A − term(a, old) + term(a, new)`: the only way `A` may change when one supply moves.
pub fn replace_term(aggregate: U256, a: U256, old: U256, new: U256) -> AmmResult<U256> {
    aggregate
        .checked_sub(term(a, old)?)
        .ok_or(AmmError::Range("aggregate below zero"))?
        .checked_add(term(a, new)?)
        .ok_or(AmmError::Range("aggregate exceeds 256 bits"))
}

/// `a + b`, or a range error naming `what`.
pub(crate) fn add(a: U256, b: U256, what: &'static str) -> AmmResult<U256> {
    a.checked_add(b).ok_or(AmmError::Range(what))
}

/// `a − b`, or a range error naming `what`.
pub(crate) fn sub(a: U256, b: U256, what: &'static str) -> AmmResult<U256> {
    a.checked_sub(b).ok_or(AmmError::Range(what))
}

/// `a · b`, or a range error naming `what`.
pub(crate) fn mul(a: U256, b: U256, what: &'static str) -> AmmResult<U256> {
    a.checked_mul(b).ok_or(AmmError::Range(what))
}
