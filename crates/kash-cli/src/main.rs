//! `kash`, the client CLI for API users.

mod webhooks;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "kash",
    version,
    about = "Client CLI for the Kash-compatible API"
)]
struct Cli {
    /// Print one JSON document on stdout (a one-line summary goes to stderr unless --quiet).
    #[arg(long, global = true)]
    json: bool,
    /// No human summary on stderr.
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Webhook tools.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCmd),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // Help and version are successes; every other usage error exits 1 (as Kash's CLI).
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(1),
            };
        }
    };
    match cli.command {
        Command::Webhooks(cmd) => webhooks::run(cmd, cli.json, cli.quiet),
    }
}
