//! Public market list benchmark (issue 6): `GET /api/markets?limit=50` over a database of N
//! markets, C requests in flight over loopback HTTP against the full server in this process,
//! for S seconds. Reports requests/s and latency percentiles.
//!
//! ```text
//! cargo run --release -p kash-server --example public_markets_bench -- [--markets 10000]
//!     [--concurrency 64] [--seconds 10] [--database-url postgres://…/db]
//! ```
//! The per-IP limit (100/min) is raised for the run with `public_api_rate_scale`
//! (`KASH_PUBLIC_API_RATE_SCALE`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::time::{Clock, SystemClock};
use kash_server::{app, Role};
use kash_service::config::{ConfigArgs, Settings};
use kash_service::trading::accounts::{move_funds, Holder};
use kash_service::trading::markets::{create, NewMarket};
use kash_service::Services;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let markets: u64 = arg("--markets")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = arg("--concurrency")
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let seconds: u64 = arg("--seconds").and_then(|v| v.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir()?;
    let database_url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let settings = Settings::resolve(&ConfigArgs {
        database_url: Some(database_url),
        data_dir: Some(dir.path().to_path_buf()),
        pepper: Some("bench-pepper-0123456789abcdef0123456789".into()),
        secrets_key: Some("bench-secrets-key-0123456789abcdef01234".into()),
        // 100/min × 100,000: the limit never binds during the run.
        public_api_rate_scale: Some(100_000),
        ..ConfigArgs::default()
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let svc = Services::open(settings, clock).await?;
    let org = kash_service::orgs::create(&svc, "Bench", "bench", None, "bench").await?;
    let seed = Usdc::from_atomic(20_000_000);
    move_funds(
        &svc,
        &Holder::Owner(Owner::Org(org.id.clone())),
        Usdc::from_atomic(20_000_000 * markets),
        true,
        "bench",
    )
    .await?;
    let t0 = Instant::now();
    for i in 0..markets {
        let outcomes = 2 + (i % 7) as usize;
        create(
            &svc,
            &NewMarket {
                title: format!("Bench market {i}"),
                description: None,
                image_url: None,
                outcomes: (0..outcomes).map(|k| format!("Outcome {k}")).collect(),
                organization_id: Some(org.id.clone()),
                seed,
                freeze_at: None,
                resolve_at: None,
                fee_bps: 100,
                sell_fee_bps: 50,
                fields: Default::default(),
            },
            "bench",
        )
        .await?;
    }
    println!(
        "public_markets_bench: {markets} markets created in {:.1} s, {} back-end",
        t0.elapsed().as_secs_f64(),
        svc.db.backend().as_str()
    );
    let store = app::limiter_store(&svc)?;
    let state = app::build_state(svc.clone(), store).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = app::start(state, listener, Role::Api).await?;
    let url = format!("http://{}/api/markets?limit=50", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    // One warm-up second, then the measured run.
    for (label, secs) in [("warm-up", 1), ("measured", seconds)] {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (http, url) = (http.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match http.get(&url).send().await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                        }
                        _ => failed += 1,
                    }
                    latencies.push(t.elapsed());
                }
                (latencies, failed)
            }));
        }
        let mut latencies: Vec<Duration> = Vec::new();
        let mut failed = 0;
        for t in tasks {
            let (l, f) = t.await?;
            latencies.extend(l);
            failed += f;
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "{label}: {} requests ({failed} not 200) in {:.2} s: {:.0} req/s; p50 {:.2} ms, p99 {:.2} ms",
            latencies.len(),
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0,
        );
    }
    running.shutdown().await;
    svc.db.close().await;
    Ok(())
}
