//! `kash-server`: the HTTP server and background workers.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kash_core::time::SystemClock;
use kash_server::{app, logging, Role};
use kash_service::config::{ConfigArgs, Settings};
use kash_service::services::OpenError;
use kash_service::Services;

#[derive(Parser, Debug)]
#[command(
    name = "kash-server",
    version,
    about = "Kash-compatible prediction-market server"
)]
struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// What this process runs.
    #[arg(long, value_enum, default_value_t = Role::All, env = "KASH_ROLE")]
    role: Role,
    /// Seed demo data on an empty database and print a ready-to-use key.
    #[arg(long)]
    demo: bool,
    /// Print the effective settings (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut settings = match Settings::resolve(&args.config) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("kash-server: {err}");
            return ExitCode::from(2);
        }
    };
    if args.demo && args.config.webhook_allow_private.is_none() {
        settings.webhook_allow_private = true;
    }
    if args.print_config {
        print!("{}", settings.redacted_toml());
        return ExitCode::SUCCESS;
    }
    logging::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("kash-server: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(settings, args.role, args.demo)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = match err.downcast_ref::<OpenError>() {
                Some(OpenError::Config(_)) => 2,
                _ => 1,
            };
            tracing::error!(error = %format!("{err:#}"), "kash-server stopped");
            eprintln!("kash-server: {err:#}");
            ExitCode::from(code)
        }
    }
}

async fn run(settings: Settings, role: Role, demo: bool) -> anyhow::Result<()> {
    let listen = settings.listen;
    let svc = Services::open(settings, Arc::new(SystemClock)).await?;
    if svc.db.backend() == kash_store::Backend::Postgres && svc.settings.redis_url.is_none() {
        tracing::warn!(
            "PostgreSQL without KASH_REDIS_URL: rate limits and lockouts are per instance; \
             configure Redis before running more than one instance"
        );
    }
    if demo {
        let seeded = kash_service::demo::seed(&svc).await?;
        println!("{}", seeded.banner(&svc.settings.public_url));
    }
    let store = app::limiter_store(&svc)?;
    let state = app::build_state(svc, store).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let running = app::start(state, listener, role).await?;
    tracing::info!(addr = %running.addr, role = ?role, "kash-server listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
