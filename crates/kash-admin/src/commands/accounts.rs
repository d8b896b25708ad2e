use clap::{Args, Subcommand};
use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_service::trading::accounts::{move_funds, Holder};
use kash_service::Services;
use serde_json::json;

use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum AccountsCmd {
    /// Deposit USDC into a balance (from outside the platform).
    Credit(Target),
    /// Withdraw USDC from a balance (to outside the platform); a user's or organization's
    /// balance cannot go below zero.
    Debit(Target),
}

#[derive(Args, Debug)]
pub struct Target {
    #[command(flatten)]
    who: Who,
    /// Whole or decimal USDC, e.g. `100` or `12.5`.
    #[arg(long)]
    usdc: String,
}

/// Exactly one holder.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Who {
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    org: Option<String>,
    /// The operator treasury (funds operator markets; may go negative).
    #[arg(long)]
    treasury: bool,
}

fn holder(t: &Target) -> Result<Holder, Failure> {
    Ok(match (&t.who.user, &t.who.org) {
        (Some(u), _) => Holder::Owner(Owner::User(uuid_arg("--user", u)?)),
        (_, Some(o)) => Holder::Owner(Owner::Org(uuid_arg("--org", o)?)),
        _ => Holder::Treasury,
    })
}

/// A USDC amount argument (`^\d+(\.\d{1,6})?$`).
pub fn usdc_arg(flag: &str, value: &str) -> Result<Usdc, Failure> {
    Usdc::parse_human(value)
        .map_err(|e| Failure::usage(flag, format!("`{value}` is not a USDC amount: {e}")))
}

pub async fn run(svc: &Services, cmd: AccountsCmd, json_out: bool) -> CmdResult {
    let (target, credit) = match &cmd {
        AccountsCmd::Credit(t) => (t, true),
        AccountsCmd::Debit(t) => (t, false),
    };
    let who = holder(target)?;
    let amount = usdc_arg("--usdc", &target.usdc)?;
    let moved = move_funds(svc, &who, amount, credit, &actor()).await?;
    let balance = Usdc::from_atomic(u64::try_from(moved.balance_atomic).unwrap_or(0));
    emit(
        json_out,
        &json!({
            "accountId": moved.account_id,
            "ledgerTransactionId": moved.ledger_tx_id,
            "amountUsdc": amount.to_atomic_string(),
            "balanceUsdc": moved.balance_atomic.to_string(),
        }),
        || {
            format!(
                "{} {} USDC; balance now {}{} USDC",
                if credit { "credited" } else { "debited" },
                amount.to_human_string(),
                if moved.balance_atomic < 0 { "-" } else { "" },
                if moved.balance_atomic < 0 {
                    Usdc::from_atomic(moved.balance_atomic.unsigned_abs()).to_human_string()
                } else {
                    balance.to_human_string()
                }
            )
        },
    )
}
