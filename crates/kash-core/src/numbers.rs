//! JSON numbers derived from integers (`api.md` §1).
//!
//! Probabilities, capital shares and display prices are written as JSON *numbers*, but they are
//! computed in integer micro-units and emitted as exact decimal text, so no float ever decides a
//! digit. The one float the API emits, a quote's `effectivePrice`, is the correctly rounded
//! [`nearest_f64`] of an exact rational.

use std::fmt;

use ruint::aliases::{U256, U512};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::money::U;

/// `floor(x · 10^6 / WAD)`, i.e. `floor(x / 10^12)`: a WAD value in micro-units.
///
/// `None` when the result does not fit `u64`, i.e. `x ≥ 2^64 · 10^12` (about `1.8 · 10^31`,
/// far above any probability, share or price, which are at most a few `WAD`).
pub fn micro_from_wad(x: U256) -> Option<u64> {
    let micro = x / U;
    u64::try_from(&micro).ok()
}

/// A non-negative number in micro-units (`1.0 = 1_000_000`), written as exact decimal text.
///
/// `Serialize` emits a JSON **number** such as `0.650692`, `0.5`, `1` or `0` through
/// [`serde_json::value::RawValue`], so the text is exactly [`Micro::to_decimal_string`]. Use it
/// with `serde_json` serialisers (`to_string`, `to_writer`, `to_vec`); another serde format sees
/// `RawValue`'s private newtype instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micro(u64);

impl Micro {
    /// Zero.
    pub const ZERO: Micro = Micro(0);
    /// One (`1_000_000` micro-units).
    pub const ONE: Micro = Micro(1_000_000);

    /// Wraps a count of micro-units.
    pub const fn new(micro: u64) -> Self {
        Micro(micro)
    }

    /// The count of micro-units.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The micro-unit value of a WAD quantity, floored; see [`micro_from_wad`].
    pub fn from_wad(x: U256) -> Option<Self> {
        micro_from_wad(x).map(Micro)
    }

    /// `micro / 10^6` as decimal text with trailing zeros dropped (`"0.650692"`, `"0.5"`, `"1"`,
    /// `"0"`), for the places where the spec wants the number as a string.
    pub fn to_decimal_string(self) -> String {
        format_fixed6(self.0)
    }
}

impl fmt::Display for Micro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_fixed6(self.0))
    }
}

impl Serialize for Micro {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(format_fixed6(self.0)).map_err(S::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// `value / 10^6` as the shortest exact decimal text: the integer part, then at most six
/// fractional digits with trailing zeros dropped. Shared by [`Micro`] and the human USDC form.
pub(crate) fn format_fixed6(value: u64) -> String {
    let whole = value / 1_000_000;
    let fraction = value % 1_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    let padded = format!("{fraction:06}");
    format!("{whole}.{}", padded.trim_end_matches('0'))
}

/// Significant bits of an `f64`, hidden bit included.
const F64_PRECISION: u32 = 53;
/// Quotient bits kept before rounding: the 53 of the result, at least one rounding bit and one
/// spare so the quotient's length can vary by one; everything below is folded into `sticky`.
const QUOTIENT_BITS: i64 = 55;

/// The `f64` nearest to the exact rational `num / den`, ties to even; `0.0` when `den` or `num`
/// is zero.
///
/// Exact by construction: the quotient is computed in integers to 55–56 significant bits, and
/// the remainder (plus any discarded quotient bits) decides the rounding as a sticky bit, so the
/// result is the IEEE-754 round-to-nearest-even of the true value. Every ratio of 256-bit
/// naturals lies in `[2^-256, 2^256)`, well inside the normal `f64` range, so neither
/// subnormals nor infinities can occur.
pub fn nearest_f64(num: U256, den: U256) -> f64 {
    if den.is_zero() || num.is_zero() {
        return 0.0;
    }
    // Both bit lengths are in 1..=256, so the shift lies in -200..=310 and fits U512.
    let shift = QUOTIENT_BITS + len_i64(den) - len_i64(num);
    let (scaled_num, scaled_den) = if shift >= 0 {
        (U512::from(num) << shift.unsigned_abs(), U512::from(den))
    } else {
        (U512::from(num), U512::from(den) << shift.unsigned_abs())
    };
    let (quotient, remainder) = scaled_num.div_rem(scaled_den);
    // num/den · 2^shift lies in [2^54, 2^56), so the quotient fits the low limb.
    let quotient = quotient.as_limbs()[0];
    let sticky = !remainder.is_zero();

    let extra = (u64::BITS - quotient.leading_zeros()) - F64_PRECISION;
    let mut mantissa = quotient >> extra;
    let dropped = quotient & ((1u64 << extra) - 1);
    let half = 1u64 << (extra - 1);
    let mut exponent = i64::from(extra) - shift;
    let round_up = dropped > half || (dropped == half && (sticky || mantissa & 1 == 1));
    if round_up {
        mantissa += 1;
        if mantissa == 1u64 << F64_PRECISION {
            mantissa >>= 1;
            exponent += 1;
        }
    }
    // value = mantissa · 2^exponent with mantissa in [2^52, 2^53): compose the bits directly.
    let biased = exponent + 52 + 1023;
    let fraction_bits = mantissa & ((1u64 << 52) - 1);
    f64::from_bits((biased.unsigned_abs() << 52) | fraction_bits)
}

fn len_i64(x: U256) -> i64 {
    // bit_len of a U256 is at most 256.
    x.bit_len() as i64
}
