//! The market maker's error type.

/// Why a market-maker operation was refused.
///
/// The variants split into three families so callers can answer without guessing:
///
/// | variant | meaning | suggested answer |
/// | --- | --- | --- |
/// | [`CorruptState`](AmmError::CorruptState) | the *stored* state fails [`MarketState::validate`](super::MarketState::validate) | log with the market id; `409 MARKET_NOT_TRADEABLE` |
/// | [`Range`](AmmError::Range) | the *input* would take a value out of range on a valid state | `400 AMOUNT_TOO_LARGE` |
/// | [`InvalidOutcome`](AmmError::InvalidOutcome) | outcome index ≥ outcome count | `400 OUTCOME_INDEX_INVALID` |
/// | [`ZeroAmount`](AmmError::ZeroAmount), [`InvalidOutcomeCount`](AmmError::InvalidOutcomeCount), [`InvalidSeed`](AmmError::InvalidSeed), [`InvalidFee`](AmmError::InvalidFee), [`InvalidWinners`](AmmError::InvalidWinners) | malformed request | `400 VALIDATION_FAILED` |
/// | [`ExceedsSellable`](AmmError::ExceedsSellable) | sell past `s_k − genesisLeg` | `409 INSUFFICIENT_POSITION` |
/// | [`NotOpen`](AmmError::NotOpen) | trade, resolve or cancel on a settled market | `409 MARKET_NOT_TRADEABLE` |
/// | [`NotSettled`](AmmError::NotSettled) | redemption on an open market | `409 POSITION_NOT_CLAIMABLE` |
/// | [`InsufficientMarketBalance`](AmmError::InsufficientMarketBalance), [`ExceedsClaimable`](AmmError::ExceedsClaimable) | the market's books cannot honour the request; on a state built by these functions this never happens | log; `409 MARKET_NOT_TRADEABLE` |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmmError {
    /// The stored state is out of range or inconsistent; the text names the failed check.
    #[error("stored market state is invalid: {0}")]
    CorruptState(&'static str),
    /// A value would leave its range (supply cap, 256 bits, below zero, division by zero); the
    /// text names the quantity.
    #[error("arithmetic range exceeded: {0}")]
    Range(&'static str),
    /// The outcome index is not below the outcome count.
    #[error("outcome index {index} is out of range for {count} outcomes")]
    InvalidOutcome {
        /// The index asked for.
        index: usize,
        /// The market's outcome count.
        count: usize,
    },
    /// The outcome count is outside `2..=100`.
    #[error("outcome count {0} is outside 2..=100")]
    InvalidOutcomeCount(usize),
    /// The genesis seed is below 20 USDC (`20000000` atomic).
    #[error("seed must be at least 20 USDC (20000000 atomic)")]
    InvalidSeed,
    /// `feeBps > 500` or `sellFeeBps > 10000`.
    #[error("fee out of range: feeBps must be at most 500 and sellFeeBps at most 10000")]
    InvalidFee,
    /// A buy of 0 USDC, a sell of 0 tokens or a sell for a target of 0 USDC: a trade that would
    /// change nothing is refused rather than recorded.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// The sell would take the supply below the unsellable genesis leg.
    #[error("tokens to sell exceed the sellable supply (supply minus the genesis leg)")]
    ExceedsSellable,
    /// The payout would exceed the USDC the market holds.
    #[error("payout exceeds the market's balance")]
    InsufficientMarketBalance,
    /// The market is resolved or cancelled: no trading, resolving or cancelling.
    #[error("market is settled")]
    NotOpen,
    /// The market is neither resolved nor cancelled: nothing can be redeemed yet.
    #[error("market is not settled")]
    NotSettled,
    /// Winning outcomes must be a non-empty set of distinct valid indices.
    #[error("winning outcomes must be a non-empty set of distinct outcome indices")]
    InvalidWinners,
    /// A redemption for more tokens than remain claimable (remaining winning supply, or the
    /// outcome's supply at cancellation).
    #[error("redemption exceeds the remaining claimable supply")]
    ExceedsClaimable,
}

impl AmmError {
    /// Whether the error reports a corrupt stored state rather than a bad request.
    pub fn is_corrupt_state(&self) -> bool {
        matches!(self, AmmError::CorruptState(_))
    }
}

/// Shorthand for results of market-maker operations.
pub type AmmResult<T> = Result<T, AmmError>;
