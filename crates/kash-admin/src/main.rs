//! `kash-admin`: the operator CLI. It works on the same database as the server (same
//! configuration rules); changes reach running servers within a second through the database.

mod commands;
mod output;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kash_core::time::SystemClock;
use kash_service::config::{ConfigArgs, Settings};
use kash_service::Services;

use commands::Command;
use output::Failure;

#[derive(Parser, Debug)]
#[command(
    name = "kash-admin",
    version,
    about = "Operator CLI for the Kash-compatible server"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    /// Print one JSON document instead of human-readable text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::resolve(&cli.config) {
        Ok(s) => s,
        Err(err) => {
            let failure = Failure::Usage(kash_core::Problem::invalid("config", err.0));
            failure.report(cli.json);
            return ExitCode::from(failure.exit_code());
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KASH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("kash-admin: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        let svc = Services::open(settings, Arc::new(SystemClock))
            .await
            .map_err(|e| {
                Failure::Other(kash_core::Problem::new(
                    kash_core::ErrorCode::DependencyUnavailable,
                    format!("cannot open the database: {e}"),
                ))
            })?;
        let result = commands::run(&svc, cli.command, cli.json).await;
        svc.db.close().await;
        result
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(cli.json);
            ExitCode::from(failure.exit_code())
        }
    }
}
