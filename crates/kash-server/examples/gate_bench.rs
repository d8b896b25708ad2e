//! The gate's cost under load (issue 2): requests/second and latency of an authenticated `GET`
//! against the unauthenticated `GET /v1/health`, on the same server in the same run, at 64
//! connections; plus the server's idle RSS.
//!
//! It prepares a fresh database with one key (rate limit raised so the limiter never refuses),
//! starts the real `kash-server` binary on it, and alternates timed rounds of the two routes.
//!
//! ```text
//! cargo build --release -p kash-server --bin kash-server --example gate_bench
//! cargo run --release -p kash-server --example gate_bench -- [--connections 64] [--seconds 10]
//!     [--rounds 2] [--route /v1/webhooks/events] [--database-url postgres://…/db]
//! ```

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_core::time::{Clock, SystemClock};
use kash_service::config::{ConfigArgs, Settings};
use kash_service::keys::{IssueRequest, LimitOverrides};
use kash_service::Services;

const PEPPER: &str = "bench-pepper-0123456789abcdef0123456789";
const SECRETS_KEY: &str = "bench-secrets-key-0123456789abcdef01234";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Round {
    requests: usize,
    non_200: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Round {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.latencies_us.len() as f64 * p).ceil() as usize).saturating_sub(1);
        self.latencies_us[idx.min(self.latencies_us.len() - 1)] as f64 / 1000.0
    }
}

async fn round(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    connections: usize,
    seconds: u64,
) -> Round {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = client.clone();
        let url = url.to_string();
        let key = key.map(str::to_string);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut non_200 = 0usize;
            while Instant::now() < deadline {
                let mut req = client.get(&url);
                if let Some(key) = &key {
                    req = req.header("X-API-Key", key);
                }
                let sent = Instant::now();
                match req.send().await {
                    Ok(resp) => {
                        if resp.status() != 200 {
                            non_200 += 1;
                        }
                        let _ = resp.bytes().await;
                    }
                    Err(_) => non_200 += 1,
                }
                latencies.push(sent.elapsed().as_micros() as u64);
            }
            (latencies, non_200)
        }));
    }
    let mut all = Vec::new();
    let mut non_200 = 0;
    for task in tasks {
        if let Ok((latencies, failed)) = task.await {
            all.extend(latencies);
            non_200 += failed;
        }
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    Round {
        requests: all.len(),
        non_200,
        elapsed,
        latencies_us: all,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let connections: usize = arg("--connections")
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let seconds: u64 = arg("--seconds").and_then(|v| v.parse().ok()).unwrap_or(10);
    let rounds: usize = arg("--rounds").and_then(|v| v.parse().ok()).unwrap_or(2);
    let route = arg("--route").unwrap_or_else(|| "/v1/webhooks/events".into());
    let dir = tempfile::tempdir()?;
    let database_url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let server_bin = match arg("--server-bin") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::current_exe()?
            .parent()
            .and_then(|examples| examples.parent())
            .map(|dir| dir.join("kash-server"))
            .ok_or_else(|| anyhow::anyhow!("cannot locate the kash-server binary"))?,
    };
    anyhow::ensure!(
        server_bin.exists(),
        "{} not found: build it first (cargo build --release -p kash-server --bin kash-server)",
        server_bin.display()
    );

    // The database and a key whose limit the load never reaches.
    let settings = Settings::resolve(&ConfigArgs {
        database_url: Some(database_url.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        pepper: Some(PEPPER.into()),
        secrets_key: Some(SECRETS_KEY.into()),
        ..ConfigArgs::default()
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let svc = Services::open(settings, clock).await?;
    let user = kash_service::users::create(&svc, "bench@example.com", None, None, "bench")
        .await?
        .id;
    let issued = kash_service::keys::issue(
        &svc,
        IssueRequest {
            owner: Owner::User(user),
            tier: Tier::Mm,
            scopes: Some(kash_core::scope::ScopeSet::new(
                kash_core::scope::Scope::ALL,
            )),
            name: Some("gate bench".into()),
            ip_allowlist: None,
            webhook_url: None,
            expires_at: None,
            limits: LimitOverrides {
                rate_limit_per_minute: Some(100_000_000),
                ..LimitOverrides::default()
            },
        },
        "bench",
    )
    .await?;
    svc.db.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = tokio::process::Command::new(&server_bin)
        .env("KASH_DATABASE_URL", &database_url)
        .env("KASH_DATA_DIR", dir.path())
        .env("KASH_PEPPER", PEPPER)
        .env("KASH_SECRETS_KEY", SECRETS_KEY)
        .env("KASH_LISTEN", format!("127.0.0.1:{port}"))
        .env("KASH_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let pid = server.id().unwrap_or(0);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let ready = async {
        loop {
            if let Ok(resp) = client.get(format!("{base}/v1/ready")).send().await {
                if resp.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(pid);

    // Warm both paths (connections, caches, prepared statements).
    round(&client, &format!("{base}/v1/health"), None, connections, 1).await;
    round(
        &client,
        &format!("{base}{route}"),
        Some(&issued.key),
        connections,
        1,
    )
    .await;

    println!("| round | route | requests | non-200 | req/s | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let (mut health_rps, mut authed_rps, mut worst_p99) = (0.0, 0.0, 0.0f64);
    for n in 1..=rounds {
        for (label, url, key) in [
            ("/v1/health", format!("{base}/v1/health"), None),
            (
                route.as_str(),
                format!("{base}{route}"),
                Some(issued.key.as_str()),
            ),
        ] {
            let r = round(&client, &url, key, connections, seconds).await;
            println!(
                "| {n} | `{label}` | {} | {} | {:.0} | {:.2} | {:.2} |",
                r.requests,
                r.non_200,
                r.rps(),
                r.percentile_ms(0.50),
                r.percentile_ms(0.99)
            );
            if key.is_some() {
                authed_rps += r.rps() / rounds as f64;
                worst_p99 = worst_p99.max(r.percentile_ms(0.99));
            } else {
                health_rps += r.rps() / rounds as f64;
            }
        }
    }
    let loaded_rss = rss_kib(pid);
    println!();
    println!(
        "authenticated / health = {:.0} / {:.0} req/s = {:.1} %; worst authenticated p99 {:.2} ms",
        authed_rps,
        health_rps,
        100.0 * authed_rps / health_rps.max(1.0),
        worst_p99
    );
    println!(
        "server RSS: idle {:.1} MiB, after load {:.1} MiB",
        idle_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0
    );
    server.kill().await?;
    Ok(())
}
