//! Embed tracking benchmark: N `POST /api/embeds/renders` over real HTTP (loopback, keep-alive,
//! C in flight) against the full server in this process, then a graceful shutdown, then the
//! counts in the database are compared with the number of `202`s — none may be missing.
//!
//! ```text
//! cargo run --release -p kash-server --example embed_bench -- [--renders 50000] [--concurrency 64]
//!     [--database-url postgres://…/db]        # default: a fresh SQLite file
//! ```
//! The per-IP limit (200/min) is raised for the run with `public_api_rate_scale`, the setting
//! `KASH_PUBLIC_API_RATE_SCALE` documents.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kash_core::time::{Clock, SystemClock};
use kash_server::{app, Role};
use kash_service::config::{ConfigArgs, Settings};
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
    let renders: u64 = arg("--renders")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let concurrency: u64 = arg("--concurrency")
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let dir = tempfile::tempdir()?;
    let database_url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let settings = Settings::resolve(&ConfigArgs {
        database_url: Some(database_url.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        pepper: Some("bench-pepper-0123456789abcdef0123456789".into()),
        secrets_key: Some("bench-secrets-key-0123456789abcdef01234".into()),
        // 200/min × 10,000: the limit never binds during the run.
        public_api_rate_scale: Some(10_000),
        ..ConfigArgs::default()
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let svc = Services::open(settings, clock).await?;
    let org = kash_service::orgs::create(&svc, "Bench", "bench", None, "bench").await?;
    let mut targets = vec![("organization", org.id.clone())];
    for i in 0..10 {
        let t = kash_service::threads::create(
            &svc,
            &org.id,
            &kash_service::threads::ThreadFields {
                title: Some(format!("Thread {i}")),
                ..Default::default()
            },
            "bench",
        )
        .await?;
        targets.push(("thread", t.id));
    }
    let store = app::limiter_store(&svc)?;
    let state = app::build_state(svc.clone(), store).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = app::start(state, listener, Role::Api).await?;
    let url = format!("http://{}/api/embeds/renders", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()?;
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..64)
            .map(|i| {
                let (kind, id) = &targets[i % targets.len()];
                let source = ["news.example", "blog.example", "", "Bad Source!"][i % 4];
                json!({ "kind": kind, "id": id, "source": source }).to_string()
            })
            .collect(),
    );
    println!(
        "embed_bench: {renders} renders, {concurrency} in flight, {} back-end",
        svc.db.backend().as_str()
    );
    let next = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (http, url, bodies, next, accepted) = (
            http.clone(),
            url.clone(),
            bodies.clone(),
            next.clone(),
            accepted.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= renders {
                    break;
                }
                let body = bodies[((n + worker) % bodies.len() as u64) as usize].clone();
                let t0 = Instant::now();
                let resp = http
                    .post(&url)
                    .header("User-Agent", format!("bench-{}", n % 1000))
                    .body(body)
                    .send()
                    .await;
                latencies.push(t0.elapsed());
                match resp {
                    Ok(r) if r.status() == 202 => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => eprintln!("unexpected status {}", r.status()),
                    Err(e) => eprintln!("request failed: {e}"),
                }
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let accepted = accepted.load(Ordering::Relaxed);
    println!(
        "accepted {accepted} in {:.2} s: {:.0} renders/s; latency p50 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
    // Graceful shutdown writes what the timer has not.
    let t0 = Instant::now();
    running.shutdown().await;
    let stored: i64 = kash_store::sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(renders), 0) AS BIGINT) FROM embed_daily_counters WHERE org_id = $1",
    )
    .bind(&org.id)
    .fetch_one(svc.db.reader())
    .await?;
    println!(
        "stored {stored} renders after shutdown (final flush {:.0} ms); lost {}",
        t0.elapsed().as_secs_f64() * 1000.0,
        accepted as i64 - stored
    );
    svc.db.close().await;
    anyhow::ensure!(stored == accepted as i64, "renders were lost");
    anyhow::ensure!(accepted == renders, "some renders were refused");
    Ok(())
}
