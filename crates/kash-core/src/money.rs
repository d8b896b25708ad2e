//! Money types: atomic USDC amounts and WAD-scaled token quantities.
//!
//! Every amount on the wire is a decimal string (`amm.md`, `api.md` §1), so both types parse from
//! and serialise to strings; neither ever passes through a float. Parse failures carry messages
//! written for API clients: they become `issues[].message` in `VALIDATION_FAILED` problems.

use std::fmt;
use std::str::FromStr;

use ruint::aliases::U256;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::numbers::format_fixed6;

/// `10^18`: one outcome token, and the scale of prices, weights and the reserve.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// `10^12`: converts atomic USDC (6 decimals) to WAD (18 decimals).
pub const U: U256 = U256::from_limbs([1_000_000_000_000, 0, 0, 0]);

/// Basis points in one whole: fees are expressed in units of `1 / BPS`.
pub const BPS: u32 = 10_000;

/// `2^127 − 1` in raw units: the largest value any supply or the reserve may take.
pub const SUPPLY_CAP: U256 = U256::from_limbs([u64::MAX, i64::MAX as u64, 0, 0]);

/// Atomic USDC per whole USDC (`10^6`).
pub const USDC_ATOMIC_PER_UNIT: u64 = 1_000_000;

/// Why a money string was refused. The `Display` text is addressed to the API client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountParseError {
    /// Not a non-empty run of ASCII digits (signs, spaces, separators and exponents are refused).
    #[error("must be a string of decimal digits")]
    NotDigits,
    /// Not of the form `^\d+(\.\d{1,6})?$`.
    #[error("must be a decimal string with at most 6 decimal places")]
    NotDecimal,
    /// Well-formed but past the type's range; `max` is the largest accepted value, as text.
    #[error("must be at most {max}")]
    TooLarge {
        /// The largest value the field accepts, written as the field is written.
        max: &'static str,
    },
}

const USDC_ATOMIC_MAX_TEXT: &str = "18446744073709551615";
const USDC_HUMAN_MAX_TEXT: &str = "18446744073709.551615";
const WAD_MAX_TEXT: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";
/// Decimal digits of `2^256 − 1`; anything longer is refused before any arithmetic.
const WAD_MAX_DIGITS: usize = 78;

/// An amount of USDC in atomic units (`1 USDC = 1_000_000`), never negative.
///
/// The range is that of `u64` (about 18.4 trillion USDC): a larger value is refused when parsed
/// (`AmountParseError::TooLarge`) and by the checked arithmetic (`None`). `Display`, `FromStr`
/// and serde all use the atomic decimal string (`"12500000"`); the human form (`"12.5"`) has its
/// own parse and format methods because only a trade's `amount` uses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usdc(u64);

impl Usdc {
    /// Zero USDC.
    pub const ZERO: Usdc = Usdc(0);
    /// The largest representable amount.
    pub const MAX: Usdc = Usdc(u64::MAX);

    /// Wraps an atomic amount.
    pub const fn from_atomic(atomic: u64) -> Self {
        Usdc(atomic)
    }

    /// The atomic amount.
    pub const fn atomic(self) -> u64 {
        self.0
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses an atomic integer string such as `"12500000"`: ASCII digits only, no sign, not empty.
    pub fn parse_atomic(text: &str) -> Result<Self, AmountParseError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountParseError::NotDigits);
        }
        accumulate_digits(text.bytes())
            .map(Usdc)
            .ok_or(AmountParseError::TooLarge {
                max: USDC_ATOMIC_MAX_TEXT,
            })
    }

    /// Parses a human decimal string matching `^\d+(\.\d{1,6})?$` (`"12.5"` → `12_500_000`).
    pub fn parse_human(text: &str) -> Result<Self, AmountParseError> {
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) if fraction.len() <= 6 && all_digits(fraction) => {
                (whole, fraction)
            }
            Some(_) => return Err(AmountParseError::NotDecimal),
            None => (text, ""),
        };
        if !all_digits(whole) {
            return Err(AmountParseError::NotDecimal);
        }
        let too_large = AmountParseError::TooLarge {
            max: USDC_HUMAN_MAX_TEXT,
        };
        let whole = accumulate_digits(whole.bytes()).ok_or(too_large)?;
        // Right-padding the fraction to six digits turns it into atomic units.
        let padded = fraction.bytes().chain(std::iter::repeat(b'0')).take(6);
        let scaled = whole.checked_mul(USDC_ATOMIC_PER_UNIT).ok_or(too_large)?;
        let fraction_atomic = accumulate_digits(padded).ok_or(too_large)?;
        scaled
            .checked_add(fraction_atomic)
            .map(Usdc)
            .ok_or(too_large)
    }

    /// The atomic decimal string (`"12500000"`).
    pub fn to_atomic_string(self) -> String {
        self.0.to_string()
    }

    /// The human decimal string with trailing zeros dropped (`"12.5"`, `"10"`, `"0.000001"`).
    pub fn to_human_string(self) -> String {
        format_fixed6(self.0)
    }

    /// `self + rhs`, or `None` past `u64`.
    pub const fn checked_add(self, rhs: Usdc) -> Option<Usdc> {
        match self.0.checked_add(rhs.0) {
            Some(v) => Some(Usdc(v)),
            None => None,
        }
    }

    /// `self − rhs`, or `None` below zero.
    pub const fn checked_sub(self, rhs: Usdc) -> Option<Usdc> {
        match self.0.checked_sub(rhs.0) {
            Some(v) => Some(Usdc(v)),
            None => None,
        }
    }

    /// The amount in WAD (`atomic · 10^12`), as the reserve counts it.
    pub fn to_wad(self) -> U256 {
        // u64 · 10^12 < 2^104: cannot overflow 256 bits.
        U256::from(self.0) * U
    }
}

/// Folds ASCII digits into a `u64`, `None` on overflow. Callers have checked the digits.
fn accumulate_digits(mut digits: impl Iterator<Item = u8>) -> Option<u64> {
    digits.try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

impl fmt::Display for Usdc {
    /// Writes the atomic decimal string, the wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Usdc {
    type Err = AmountParseError;

    /// Parses the atomic form; see [`Usdc::parse_atomic`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Usdc::parse_atomic(s)
    }
}

impl From<Usdc> for u64 {
    fn from(value: Usdc) -> Self {
        value.0
    }
}

impl Serialize for Usdc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Usdc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor::<Usdc>::new("an atomic USDC decimal string"))
    }
}

/// A WAD-scaled quantity (`1.0 = 10^18`): outcome tokens, prices and the reserve.
///
/// `Display`, `FromStr` and serde use the plain decimal integer string. The full 256-bit range
/// is representable; the supply cap is enforced by the market maker, not by this type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wad(U256);

impl Wad {
    /// Zero.
    pub const ZERO: Wad = Wad(U256::ZERO);
    /// One whole token or one whole unit of price (`10^18`).
    pub const ONE: Wad = Wad(WAD);

    /// Wraps a raw WAD integer.
    pub const fn new(raw: U256) -> Self {
        Wad(raw)
    }

    /// The raw WAD integer.
    pub const fn raw(self) -> U256 {
        self.0
    }

    /// Whether the quantity is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Parses a decimal integer string: ASCII digits only, at most 78 of them, below `2^256`.
    pub fn parse(text: &str) -> Result<Self, AmountParseError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountParseError::NotDigits);
        }
        let too_large = AmountParseError::TooLarge { max: WAD_MAX_TEXT };
        if text.len() > WAD_MAX_DIGITS {
            return Err(too_large);
        }
        // Digits are pre-checked, so the only failure left is overflow.
        U256::from_str_radix(text, 10)
            .map(Wad)
            .map_err(|_| too_large)
    }
}

impl From<U256> for Wad {
    fn from(raw: U256) -> Self {
        Wad(raw)
    }
}

impl From<Wad> for U256 {
    fn from(value: Wad) -> Self {
        value.0
    }
}

impl fmt::Display for Wad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Wad {
    type Err = AmountParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Wad::parse(s)
    }
}

impl Serialize for Wad {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Wad {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ParseVisitor::<Wad>::new("a WAD decimal integer string"))
    }
}

/// Deserialises any `FromStr<Err = AmountParseError>` type from a JSON string only: money is
/// never a JSON number on the wire.
struct ParseVisitor<T> {
    expecting: &'static str,
    marker: std::marker::PhantomData<T>,
}

impl<T> ParseVisitor<T> {
    fn new(expecting: &'static str) -> Self {
        ParseVisitor {
            expecting,
            marker: std::marker::PhantomData,
        }
    }
}

impl<T: FromStr<Err = AmountParseError>> Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}
