//! The subcommands, one module per noun.

mod accounts;
mod audit;
mod keys;
mod killswitch;
mod ledger;
mod markets;
mod orgs;
mod partners;
mod threads;
mod users;
mod webhooks;

use clap::Subcommand;
use kash_service::Services;

use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Users: create, key caps.
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Organizations: create, profile and status, revenue share, members, key caps.
    #[command(subcommand)]
    Orgs(orgs::OrgsCmd),
    /// Partners of organizations.
    #[command(subcommand)]
    Partners(partners::PartnersCmd),
    /// Threads of organizations.
    #[command(subcommand)]
    Threads(threads::ThreadsCmd),
    /// API keys: issue, list, update, revoke.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(keys::KeysCmd),
    /// The audit log.
    Audit(audit::AuditArgs),
    /// Kill switches (trade processing and per-route flags).
    #[command(subcommand, name = "kill-switch")]
    KillSwitch(killswitch::KillSwitchCmd),
    /// Webhook deliveries: bulk replays.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCmd),
    /// USDC balances: deposits (credit) and withdrawals (debit).
    #[command(subcommand)]
    Accounts(accounts::AccountsCmd),
    /// The ledger: verify every invariant.
    #[command(subcommand)]
    Ledger(ledger::LedgerCmd),
    /// Markets: create, propose/approve/reject, freeze, cancel, resolve.
    #[command(subcommand)]
    Markets(markets::MarketsCmd),
    /// Apply pending database migrations (the server also applies them at start).
    Migrate,
}

/// Who the audit log names for operator actions.
pub fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("kash-admin:{user}")
}

/// A UUID argument, canonicalised; anything else is a usage error.
pub fn uuid_arg(flag: &str, value: &str) -> Result<String, Failure> {
    kash_core::ids::parse_uuid(value)
        .map(|id| kash_core::ids::id_text(&id))
        .ok_or_else(|| Failure::usage(flag, format!("`{value}` is not a UUID")))
}

pub async fn run(svc: &Services, command: Command, json: bool) -> CmdResult {
    match command {
        Command::Users(cmd) => users::run(svc, cmd, json).await,
        Command::Orgs(cmd) => orgs::run(svc, cmd, json).await,
        Command::Partners(cmd) => partners::run(svc, cmd, json).await,
        Command::Threads(cmd) => threads::run(svc, cmd, json).await,
        Command::ApiKeys(cmd) => keys::run(svc, cmd, json).await,
        Command::Audit(args) => audit::run(svc, args, json).await,
        Command::KillSwitch(cmd) => killswitch::run(svc, cmd, json).await,
        Command::Webhooks(cmd) => webhooks::run(svc, cmd, json).await,
        Command::Accounts(cmd) => accounts::run(svc, cmd, json).await,
        Command::Ledger(cmd) => ledger::run(svc, cmd, json).await,
        Command::Markets(cmd) => markets::run(svc, cmd, json).await,
        Command::Migrate => {
            // Opening the services applied every pending migration already.
            emit(
                json,
                &serde_json::json!({ "migrated": true, "backend": svc.db.backend().as_str() }),
                || format!("database is up to date ({})", svc.db.backend().as_str()),
            )
        }
    }
}
