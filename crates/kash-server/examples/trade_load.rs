//! Trade load: C concurrent HTTP clients buying (and selling) in one hot market for S seconds
//! against a real server in this process. Reports completed trades per second and latency
//! percentiles, then runs the ledger check.
//!
//! ```text
//! cargo run --release -p kash-server --example trade_load -- [--clients 32] [--seconds 10]
//!     [--database-url postgres://…/db]        # default: a fresh SQLite file
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::scope::{Scope, ScopeSet};
use kash_core::tier::Tier;
use kash_core::time::{Clock, SystemClock};
use kash_server::limiter::memory::MemoryStore;
use kash_server::{app, Role};
use kash_service::config::{ConfigArgs, Settings};
use kash_service::keys::{IssueRequest, LimitOverrides};
use kash_service::trading::accounts::{move_funds, Holder};
use kash_service::trading::markets::{create, NewMarket};
use kash_service::Services;
use serde_json::json;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clients: usize = arg("--clients").and_then(|v| v.parse().ok()).unwrap_or(32);
    let seconds: u64 = arg("--seconds").and_then(|v| v.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir()?;
    let database_url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let settings = Settings::resolve(&ConfigArgs {
        database_url: Some(database_url.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        pepper: Some("bench-pepper-0123456789abcdef0123456789".into()),
        secrets_key: Some("bench-secrets-key-0123456789abcdef01234".into()),
        listen: Some("127.0.0.1:0".parse()?),
        // The quota is not what is measured here.
        rate_limit_mm: Some(10_000_000),
        db_max_connections: Some(48),
        ..ConfigArgs::default()
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let svc = Services::open(settings, clock).await?;
    let usdc = |whole: u64| Usdc::from_atomic(whole * 1_000_000);
    let market = create(
        &svc,
        &NewMarket {
            title: "Hot market".into(),
            description: None,
            image_url: None,
            outcomes: vec!["Yes".into(), "No".into()],
            organization_id: None,
            seed: usdc(1_000_000),
            freeze_at: None,
            resolve_at: None,
            fee_bps: 100,
            sell_fee_bps: 50,
            fields: Default::default(),
        },
        "bench",
    )
    .await?
    .id;
    let mut keys = Vec::new();
    for i in 0..clients {
        let user = kash_service::users::create(
            &svc,
            &format!("load{i}@bench.example"),
            None,
            None,
            "bench",
        )
        .await?;
        move_funds(
            &svc,
            &Holder::Owner(Owner::User(user.id.clone())),
            usdc(10_000_000),
            true,
            "bench",
        )
        .await?;
        let key = kash_service::keys::issue(
            &svc,
            IssueRequest {
                owner: Owner::User(user.id),
                tier: Tier::Mm,
                scopes: Some(ScopeSet::new(Scope::ALL)),
                name: None,
                ip_allowlist: None,
                webhook_url: None,
                expires_at: None,
                limits: LimitOverrides {
                    daily_cap: Some(usdc(100_000_000)),
                    ..LimitOverrides::default()
                },
            },
            "bench",
        )
        .await?;
        keys.push(key.key);
    }
    if std::env::args().any(|a| a == "--direct") {
        // The service alone, one caller, no HTTP: what one writer can do.
        let record =
            kash_store::keys::find_by_hash(svc.db.reader(), &svc.secrets.hasher.hash(&keys[0]))
                .await?
                .ok_or_else(|| anyhow::anyhow!("key"))?;
        let caller = kash_service::trading::place::Caller {
            key: &record,
            api_version: "2026-08-19",
        };
        let body = json!({"marketId": market, "outcomeIndex": 0, "side": "buy", "amount": "1"})
            .to_string();
        let started = Instant::now();
        let n = 2_000;
        for _ in 0..n {
            kash_service::trading::place::place(&svc, &caller, None, body.as_bytes()).await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "direct: {n} trades in {elapsed:.2} s = {:.0}/s ({:.0} µs each)",
            n as f64 / elapsed,
            elapsed * 1e6 / n as f64
        );
        return Ok(());
    }
    let state = app::build_state(svc.clone(), Arc::new(MemoryStore::new())).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = app::start(state, listener, Role::All).await?;
    let base = format!("http://{}", running.addr);
    println!(
        "{} clients, {seconds} s, one hot market, backend {}",
        clients,
        svc.db.backend().as_str()
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let (base, market) = (base.clone(), market.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().no_proxy().build().expect("client");
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                // Mostly buys of 1 USDC; every fourth request sells 0.5 USDC back.
                let body = if n % 4 == 3 {
                    json!({"marketId": market, "outcomeIndex": (i % 2), "side": "sell", "amount": "0.5"})
                } else {
                    json!({"marketId": market, "outcomeIndex": (i % 2), "side": "buy", "amount": "1"})
                };
                n += 1;
                let t0 = Instant::now();
                let resp = http
                    .post(format!("{base}/v1/trades"))
                    .header("X-API-Key", &key)
                    .json(&body)
                    .send()
                    .await;
                let ok = matches!(&resp, Ok(r) if r.status() == 201);
                if let Ok(r) = resp {
                    let _ = r.bytes().await;
                }
                if ok {
                    latencies.push(t0.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "completed {} trades in {elapsed:.1} s: {:.0} trades/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} refused or failed",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(50),
        pct(99),
        latencies.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    );
    running.shutdown().await;
    let report = kash_service::trading::check::run(&svc).await?;
    println!(
        "ledger check: {} ({} transactions)",
        if report.balanced() {
            "balanced"
        } else {
            "BROKEN"
        },
        report.transactions
    );
    for v in report.violations.iter().take(10) {
        println!("  {v}");
    }
    Ok(())
}
