use clap::Subcommand;
use kash_core::{ErrorCode, Problem};
use kash_service::Services;

use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum LedgerCmd {
    /// Verify every invariant of the books; exits 1 on any break.
    Check,
}

pub async fn run(svc: &Services, cmd: LedgerCmd, json_out: bool) -> CmdResult {
    match cmd {
        LedgerCmd::Check => {
            let report = kash_service::trading::check::run(svc).await?;
            let balanced = report.balanced();
            emit(
                json_out,
                &serde_json::json!({ "balanced": balanced, "report": report }),
                || {
                    if balanced {
                        format!(
                            "ledger balanced: {} accounts, {} transactions, {} markets",
                            report.accounts, report.transactions, report.markets
                        )
                    } else {
                        format!(
                            "LEDGER BROKEN ({} violations):\n  {}",
                            report.violations.len(),
                            report.violations.join("\n  ")
                        )
                    }
                },
            )?;
            if balanced {
                Ok(())
            } else {
                Err(Failure::Other(Problem::new(
                    ErrorCode::InternalError,
                    format!("{} ledger invariant(s) broken", report.violations.len()),
                )))
            }
        }
    }
}
