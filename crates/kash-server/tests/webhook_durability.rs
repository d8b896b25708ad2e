//! Durability: `kill -9` of the real server binary mid-delivery, and several instances sharing
//! one database. Every event is delivered; duplicates only where at-least-once makes them
//! unavoidable (attempts in flight at the kill), counted and reported; per-key order holds.

mod support;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kash_server::Role;
use kash_testkit::receiver::{wait_for, Hit, Receiver, Reply};
use kash_testkit::{backend_tests, Backend, TestApp, TestOptions};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);

fn start_binary(app: &TestApp) -> Child {
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
        .env("KASH_LISTEN", "127.0.0.1:0")
        .env("KASH_ROLE", "worker")
        .env("KASH_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("KASH_WEBHOOK_TIMEOUT_MS", "2000")
        .env("KASH_WEBHOOK_POLL_MS", "20")
        .env("KASH_WEBHOOK_CONCURRENCY", "64")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kash-server")
}

/// Checks that, per key, the first arrival of each event follows event order, that repeats of
/// an event come right after it (a re-send of the head, never a jump back), and returns how
/// many deliveries were duplicates.
fn check_order(hits: &[Hit], order: &HashMap<String, Vec<String>>) -> usize {
    let mut duplicates = 0;
    for (name, expected) in order {
        let got: Vec<String> = hits
            .iter()
            .filter(|h| &h.name == name)
            .map(Hit::event_id)
            .collect();
        let mut firsts: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for (i, id) in got.iter().enumerate() {
            if seen.insert(id.clone()) {
                firsts.push(id.clone());
            } else {
                duplicates += 1;
                assert_eq!(
                    got.get(i.wrapping_sub(1)),
                    Some(id),
                    "key {name}: a repeat of {id} did not follow it directly"
                );
            }
        }
        assert_eq!(&firsts, expected, "key {name}: events out of order");
    }
    duplicates
}

async fn kill_9_mid_delivery_loses_nothing(backend: Backend) {
    // The in-process server only serves as a handle on the database (no worker of its own).
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            role: Some(Role::Api),
            ..TestOptions::default()
        },
    )
    .await;
    let rx =
        Receiver::with_script(Arc::new(|_, _| Reply::Delay(Duration::from_millis(4), 200))).await;
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    let mut keys = Vec::new();
    for k in 0..50 {
        keys.push(hook_key(&app, Some(rx.url(&format!("k{k}")))).await);
    }
    // 1,000 undelivered events, interleaved over the keys.
    for i in 0..1_000 {
        let k = i % 50;
        let id = emit(&app, &keys[k].id, EVENT_TYPES[i % 4], true).await;
        order.entry(format!("k{k}")).or_default().push(id);
    }
    let mut first = start_binary(&app);
    wait_for("some deliveries before the kill", LIMIT, || async {
        rx.count() >= 250
    })
    .await;
    first.kill().expect("kill -9"); // SIGKILL: no shutdown, no flush
    let _ = first.wait();
    let at_kill = rx.count();
    let mut second = start_binary(&app);
    let app_ref = &app;
    wait_for(
        "every event delivered after the restart",
        LIMIT,
        || async move {
            kash_store::sqlx::query_scalar::<_, i64>(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events WHERE status = 'delivered'",
            )
            .fetch_one(app_ref.svc.db.reader())
            .await
            .unwrap_or(0)
                == 1_000
        },
    )
    .await;
    second.kill().expect("stop");
    let _ = second.wait();
    let hits = rx.hits();
    let distinct: HashSet<String> = hits.iter().map(Hit::event_id).collect();
    assert_eq!(distinct.len(), 1_000, "every event arrived");
    let duplicates = check_order(&hits, &order);
    println!(
        "kill -9 ({}): {at_kill} deliveries before the kill, {} in total, {duplicates} duplicate(s) \
         (attempts in flight when the process died)",
        backend.as_str(),
        hits.len()
    );
    // At most one in flight per key at the kill.
    assert!(duplicates <= 50, "{duplicates} duplicates");
    assert_eq!(rx.overlaps(), 0, "never two requests of one key at once");
}

async fn several_instances_share_the_work(backend: Backend) {
    let one = spawn_fast(backend, 2_000).await;
    let two = one.another_instance().await;
    let rx =
        Receiver::with_script(Arc::new(|_, _| Reply::Delay(Duration::from_millis(1), 200))).await;
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    let mut keys = Vec::new();
    for k in 0..20 {
        keys.push(hook_key(&one, Some(rx.url(&format!("k{k}")))).await);
    }
    for i in 0..400 {
        let k = i % 20;
        let app = if i % 2 == 0 { &one } else { &two };
        let id = emit(app, &keys[k].id, EVENT_TYPES[i % 4], true).await;
        order.entry(format!("k{k}")).or_default().push(id);
    }
    let one_ref = &one;
    wait_for("all delivered", LIMIT, || async move {
        kash_store::sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events WHERE status = 'delivered'",
        )
        .fetch_one(one_ref.svc.db.reader())
        .await
        .unwrap_or(0)
            == 400
    })
    .await;
    let hits = rx.hits();
    assert_eq!(
        check_order(&hits, &order),
        0,
        "no duplicates without a crash"
    );
    assert_eq!(hits.len(), 400);
    assert_eq!(
        rx.overlaps(),
        0,
        "one delivery in flight per key across instances"
    );
    let delivered = |app: &TestApp| {
        let text = app
            .running
            .as_ref()
            .map(|r| r.state.metrics.render())
            .unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with("kash_webhook_deliveries_total{outcome=\"delivered\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (a, b) = (delivered(&one), delivered(&two));
    println!("instances ({}): {a} + {b} deliveries", backend.as_str());
    assert_eq!(a + b, 400);
}

backend_tests!(
    kill_9_mid_delivery_loses_nothing,
    several_instances_share_the_work
);
