//! Webhook delivery benchmark: N events spread over K keys, delivered to a local receiver by
//! one worker process. Reports deliveries per second and the peak RSS of the process (worker
//! and receiver together) while the events are pending.
//!
//! ```text
//! cargo run --release -p kash-server --example webhook_bench -- [--keys 1000] [--events 100000]
//!     [--database-url postgres://…/db]        # default: a fresh SQLite file
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kash_core::ids::{id_text, new_id};
use kash_core::owner::Owner;
use kash_core::time::{Clock, SystemClock};
use kash_server::metrics::Metrics;
use kash_server::workers::webhooks::WebhookWorker;
use kash_service::config::{ConfigArgs, Settings};
use kash_service::Services;
use kash_store::keys::ApiKeyRecord;
use kash_store::outbox::{insert_event, NewEvent};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let keys: usize = arg("--keys").and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let events: usize = arg("--events")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let database_url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let settings = Settings::resolve(&ConfigArgs {
        database_url: Some(database_url.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        pepper: Some("bench-pepper-0123456789abcdef0123456789".into()),
        secrets_key: Some("bench-secrets-key-0123456789abcdef01234".into()),
        webhook_allow_private: Some(true),
        webhook_poll_ms: Some(20),
        ..ConfigArgs::default()
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let svc = Services::open(settings, clock).await?;

    // The receiver: counts and answers 200.
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/hook/{name}",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // Keys (written directly: the per-owner cap of 5 active keys does not matter here).
    let user = kash_service::users::create(&svc, "bench@example.com", None, None, "bench")
        .await?
        .id;
    let secret = svc.secrets.secret_box.seal("whsec_benchmark_secret");
    let now = svc.now_ms();
    let mut key_ids = Vec::with_capacity(keys);
    let mut tx = svc.db.begin().await?;
    for k in 0..keys {
        let id = id_text(&new_id());
        kash_store::keys::insert(
            &mut *tx,
            &ApiKeyRecord {
                id: id.clone(),
                owner: Owner::User(user.clone()),
                environment: "test".into(),
                key_hash: format!("bench-{k}-{id}"),
                hint: "kash_test_…bench".into(),
                name: format!("bench {k}"),
                tier: "mm".into(),
                scopes: "webhooks:manage".into(),
                ip_allowlist: None,
                webhook_url: Some(format!("http://{addr}/hook/k{k}")),
                webhook_secret_enc: Some(secret.clone()),
                webhook_url_changed_at: Some(now),
                expires_at: None,
                rate_limit_per_minute: None,
                per_trade_cap_atomic: None,
                daily_cap_atomic: None,
                confirm_threshold_atomic: None,
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            },
        )
        .await?;
        key_ids.push(id);
    }
    tx.commit().await?;

    // Events, as trades write them.
    let started = Instant::now();
    for chunk in (0..events).collect::<Vec<_>>().chunks(2_000) {
        let mut tx = svc.db.begin().await?;
        for i in chunk {
            let id = id_text(&new_id());
            let trade = id_text(&new_id());
            insert_event(
                &mut *tx,
                &NewEvent {
                    id: &id,
                    api_key_id: &key_ids[i % keys],
                    event_type: "trade.completed",
                    api_version: "2026-08-19",
                    trade_id: Some(&trade),
                    data: json!({
                        "tradeId": trade, "marketId": "7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10",
                        "outcomeIndex": 0, "amount": "12.5", "side": "buy", "metadata": {},
                        "status": "completed", "txHash": format!("0x{}", "ab".repeat(32)),
                        "tokensOut": "24390243902439024390",
                    }),
                    created_at_ms: svc.now_ms(),
                    deliverable: true,
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    eprintln!(
        "inserted {events} events over {keys} keys in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        svc.db.backend().as_str()
    );

    let base_rss = rss_kib();
    let peak = Arc::new(AtomicU64::new(base_rss));
    let sampler_peak = peak.clone();
    let stop_sampler = CancellationToken::new();
    let sampler_stop = stop_sampler.clone();
    let sampler = tokio::spawn(async move {
        while !sampler_stop.is_cancelled() {
            sampler_peak.fetch_max(rss_kib(), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    let stop = CancellationToken::new();
    let worker = WebhookWorker::new(svc.clone(), Arc::new(Metrics::new()))?;
    let started = Instant::now();
    let running = tokio::spawn(worker.run(stop.clone()));
    let mut last_report = Instant::now();
    loop {
        // The receiver's count first (cheap); the database confirms once all have arrived.
        let active = if hits.load(Ordering::Relaxed) >= events as u64 {
            kash_store::webhooks::count_active(svc.db.reader()).await?
        } else {
            (events as u64 - hits.load(Ordering::Relaxed)) as i64
        };
        if active == 0 {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "  {} delivered, {active} pending, {:.0}/s, RSS {} MiB",
                hits.load(Ordering::Relaxed),
                hits.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
                rss_kib() / 1024
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.cancel();
    let _ = running.await;
    stop_sampler.cancel();
    let _ = sampler.await;
    let delivered = hits.load(Ordering::Relaxed);
    let report = json!({
        "backend": svc.db.backend().as_str(),
        "keys": keys,
        "events": events,
        "delivered": delivered,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "deliveriesPerSecond": (delivered as f64 / elapsed).round(),
        "rssBeforeMiB": base_rss / 1024,
        "rssPeakMiB": peak.load(Ordering::Relaxed) / 1024,
    });
    println!("{report}");
    Ok(())
}
