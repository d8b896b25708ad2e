//! The weighted Pythagorean market maker of `amm.md`, as pure functions over [`MarketState`].
//!
//! All arithmetic is on 256-bit naturals with 512-bit intermediates where `mulDiv` needs them,
//! floored exactly where the spec says, and checked: a value leaving its range is an
//! [`AmmError`], never a wrap and never a panic. Nothing here performs I/O or mutates its input;
//! each operation returns the state after it, for the caller to persist in the same database
//! transaction as the ledger entries the result describes.
//!
//! - [`math`]: `mulDiv`, `isqrt`, weights, terms and the aggregate `A`.
//! - [`state`]: [`MarketState`], [`MarketState::validate`] and [`genesis`].
//! - [`trade`]: [`buy`], [`sell`] and [`sell_for_target`].
//! - [`settle`]: [`resolve`], [`cancel`] and the redemptions.
//! - [`derived`]: prices, probabilities, capital shares and liquidity.

pub mod derived;
pub mod error;
pub mod math;
pub mod settle;
pub mod state;
pub mod trade;

pub use derived::{
    capital_shares, derive, liquidity, marginal_price, marginal_prices, probabilities, Derived,
};
pub use error::{AmmError, AmmResult};
pub use math::{aggregate, isqrt, mul_div, replace_term, term, weight, MAX_OUTCOMES, MIN_OUTCOMES};
pub use settle::{
    cancel, redeem, redeem_resolved, refund_cancelled, resolve, Redemption, RedemptionKind,
};
pub use state::{
    genesis, CancelSnapshot, MarketState, Settlement, DEFAULT_FEE_BPS, DEFAULT_SELL_FEE_BPS,
    MAX_FEE_BPS, MAX_SELL_FEE_BPS, MIN_SEED,
};
pub use trade::{buy, sell, sell_for_target, BuyResult, SellResult};
