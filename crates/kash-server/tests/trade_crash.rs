//! `kill -9` of the real `kash-server` binary in the middle of a trade load: after a restart no
//! acknowledged trade is lost and the ledger balances.

mod market_kit;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kash_testkit::{backend_tests, eventually, Backend, TestApp, TestOptions};
use market_kit::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_binary(app: &TestApp, port: u16) -> Child {
    let settings = TestApp::settings_for(&app.db, &TestOptions::default());
    Command::new(env!("CARGO_BIN_EXE_kash-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KASH_DATABASE_URL", &app.db.url)
        .env("KASH_DATA_DIR", app.db.dir.path())
        .env("KASH_PEPPER", settings.pepper.clone().unwrap_or_default())
        .env(
            "KASH_SECRETS_KEY",
            settings.secrets_key.clone().unwrap_or_default(),
        )
        .env("KASH_LISTEN", format!("127.0.0.1:{port}"))
        .env("KASH_RATE_LIMIT_MM", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kash-server")
}

async fn wait_up(http: &reqwest::Client, base: &str) {
    let up = eventually(Duration::from_secs(30), || async {
        http.get(format!("{base}/v1/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "kash-server did not start");
}

async fn kill_9_mid_trade_load_loses_no_acknowledged_trade(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = market(&app, 2, "1000").await;
    let mut keys = Vec::new();
    for _ in 0..8 {
        keys.push(trader(&app, "10000").await.1);
    }
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut first = start_binary(&app, port);
    wait_up(&app.http, &base).await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut clients = Vec::new();
    for (i, key) in keys.iter().cloned().enumerate() {
        let (http, base, acked, m) = (app.http.clone(), base.clone(), acked.clone(), m.clone());
        clients.push(tokio::spawn(async move {
            for n in 0..10_000 {
                let resp = http
                    .post(format!("{base}/v1/trades"))
                    .header("X-API-Key", &key)
                    .header("Idempotency-Key", format!("c{i}-{n}"))
                    .json(&buy_body(&m, (n % 2) as u32, "0.01"))
                    .send()
                    .await;
                let Ok(resp) = resp else { return };
                if resp.status() != 201 {
                    return;
                }
                let Ok(body) = resp.json::<serde_json::Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .unwrap()
                    .push(body["trade"]["id"].as_str().unwrap().to_string());
            }
        }));
    }
    let loaded = eventually(Duration::from_secs(60), || async {
        acked.lock().unwrap().len() >= 300
    })
    .await;
    assert!(loaded, "the load never got going");
    first.kill().expect("kill -9"); // SIGKILL: no graceful shutdown
    let _ = first.wait();
    for c in clients {
        let _ = c.await;
    }
    let acknowledged = acked.lock().unwrap().clone();
    let mut second = start_binary(&app, port);
    wait_up(&app.http, &base).await;
    for id in &acknowledged {
        let t = kash_store::trades::get(app.svc.db.reader(), id)
            .await
            .unwrap();
        assert_eq!(
            t.map(|t| t.status),
            Some("completed".to_string()),
            "acknowledged trade {id} lost"
        );
    }
    let stored: i64 = kash_store::sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM trades")
        .fetch_one(app.svc.db.reader())
        .await
        .unwrap();
    assert!(stored as usize >= acknowledged.len());
    assert_ledger_balanced(&app).await;
    // The restarted server trades on.
    let resp = app
        .http
        .post(format!("{base}/v1/trades"))
        .header("X-API-Key", &keys[0])
        .json(&buy_body(&m, 0, "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    second.kill().expect("stop");
    let _ = second.wait();
    println!(
        "kill -9 ({}): {} acknowledged trades before the kill, {stored} committed, none lost",
        backend.as_str(),
        acknowledged.len()
    );
}

backend_tests!(kill_9_mid_trade_load_loses_no_acknowledged_trade);
