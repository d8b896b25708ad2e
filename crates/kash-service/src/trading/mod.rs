//! Markets, the ledger and trading: every operation that moves USDC or tokens. Each one runs
//! in a single database transaction that holds its state change, its ledger posting and its
//! outbox events, so they commit together or not at all.
//!
//! - [`chain`]: the chain-shaped fields (`contractAddress`, `txHash`, …).
//! - [`accounts`]: deposits and withdrawals, owners' ledger accounts.
//! - [`markets`]: create, freeze, cancel, resolve.
//! - [`order`]: parsing and validating a trade request, and its idempotency identity.
//! - [`plan`]: the checks of a trade in the contract's order, as a pure function.
//! - [`execute`]: applying a planned trade (market state, ledger, position, accrual).
//! - [`events`]: webhook outbox events and trace events of a trade.
//! - [`place`]: `POST /v1/trades`; [`confirm`]: the high-value gate.
//! - [`settle`]: redemptions and automatic settlement; [`check`]: the ledger check.

pub mod accounts;
pub mod batch;
pub mod chain;
pub mod check;
pub mod confirm;
pub mod events;
pub mod execute;
pub mod markets;
pub mod order;
pub mod place;
pub mod plan;
pub mod proposals;
pub mod settle;

use kash_core::amm::AmmError;
use kash_core::{ErrorCode, Problem};

/// The answer to a market-maker refusal (`amm.md` "Range errors").
pub fn amm_problem(err: &AmmError, market_id: &str) -> Problem {
    match err {
        AmmError::CorruptState(_)
        | AmmError::InsufficientMarketBalance
        | AmmError::ExceedsClaimable => {
            tracing::error!(market_id, error = %err, "market state cannot honour the request");
            Problem::new(
                ErrorCode::MarketNotTradeable,
                "this market cannot take the trade right now",
            )
        }
        AmmError::Range(what) => Problem::new(
            ErrorCode::AmountTooLarge,
            format!("the amount is out of the market maker's range ({what})"),
        ),
        AmmError::InvalidOutcome { index, count } => Problem::new(
            ErrorCode::OutcomeIndexInvalid,
            format!("outcomeIndex {index} is out of range: the market has {count} outcomes"),
        ),
        AmmError::ExceedsSellable => Problem::new(
            ErrorCode::InsufficientPosition,
            "the sell exceeds the tokens that can be sold in this market",
        ),
        AmmError::NotOpen => Problem::new(ErrorCode::MarketNotTradeable, "the market is settled"),
        AmmError::NotSettled => Problem::new(
            ErrorCode::PositionNotClaimable,
            "the market is neither resolved nor cancelled",
        ),
        AmmError::ZeroAmount => Problem::invalid("amount", "must be greater than zero"),
        AmmError::InvalidOutcomeCount(_)
        | AmmError::InvalidSeed
        | AmmError::InvalidFee
        | AmmError::InvalidWinners => Problem::invalid("market", err.to_string()),
    }
}

/// The platform-wide per-trade ceiling, atomic USDC.
pub fn ceiling_atomic(max_trade_usdc: u64) -> u64 {
    max_trade_usdc.saturating_mul(1_000_000)
}

/// How long a high-value trade waits for its confirmation.
pub const CONFIRMATION_WINDOW_MS: i64 = 60_000;
