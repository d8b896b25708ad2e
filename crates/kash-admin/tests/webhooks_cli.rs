//! `kash-admin api-keys test-webhook | rollback-webhook-secret` and `webhooks bulk-redeliver`,
//! run as the real binary against a test database and a loopback receiver.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kash_core::ids::{id_text, new_id};
use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::signature;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, IssuedKey, LimitOverrides};
use kash_store::outbox::{insert_event, NewEvent};
use kash_testkit::receiver::{wait_for, Receiver, Reply};
use kash_testkit::{backend_tests, Backend, TestApp, TestOptions};
use serde_json::{json, Value};

fn admin(app: &TestApp, args: &[&str], allow_private: bool) -> (i32, Value, String) {
    let settings = TestApp::settings_for(&app.db, &TestOptions::default());
    let out = Command::new(env!("CARGO_BIN_EXE_kash-admin"))
        .args(args)
        .arg("--json")
        .env_clear()
        .env("KASH_DATABASE_URL", &app.db.url)
        .env("KASH_DATA_DIR", app.db.dir.path())
        .env("KASH_PEPPER", settings.pepper.clone().unwrap_or_default())
        .env(
            "KASH_SECRETS_KEY",
            settings.secrets_key.clone().unwrap_or_default(),
        )
        .env("KASH_WEBHOOK_ALLOW_PRIVATE", allow_private.to_string())
        .env("KASH_WEBHOOK_TIMEOUT_MS", "3000")
        .output()
        .expect("run kash-admin");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn key(app: &TestApp, url: &str) -> IssuedKey {
    let user = app
        .user(&format!(
            "a{}@test.example",
            ulid::Ulid::new().to_string().to_lowercase()
        ))
        .await;
    app.issue(IssueRequest {
        owner: Owner::User(user),
        tier: Tier::Developer,
        scopes: Some(ScopeSet::parse_list("webhooks:manage").expect("scopes")),
        name: None,
        ip_allowlist: None,
        webhook_url: Some(url.to_string()),
        expires_at: None,
        limits: LimitOverrides::default(),
    })
    .await
}

async fn event_count(app: &TestApp) -> i64 {
    kash_store::sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events")
        .fetch_one(app.svc.db.reader())
        .await
        .expect("count")
}

async fn test_webhook_sends_a_signed_ping(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rx = Receiver::with_script(Arc::new(|name, _| {
        if name == "sad" {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let k = key(&app, &rx.url("happy")).await;
    let secret = k.webhook_secret.clone().expect("secret");
    let (code, out, err) = admin(&app, &["api-keys", "test-webhook", &k.id], true);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["ok"], true);
    assert_eq!(out["statusCode"], 200);
    assert_eq!(out["responseBody"], "ok");
    let hits = rx.hits_for("happy");
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    let body = hit.json();
    assert_eq!(body["type"], "webhook.ping");
    assert_eq!(body["data"], json!({ "apiKeyId": k.id }));
    assert_eq!(body["id"], out["eventId"]);
    assert!(body["apiVersion"].is_string() && body["createdAt"].is_string());
    assert_eq!(
        hit.header("x-kash-event-id"),
        body["id"].as_str().unwrap_or("")
    );
    assert!(signature::verify_webhook(
        hit.header("x-kash-signature"),
        &hit.body,
        &[&secret],
        app.now_ms()
    )
    .is_ok());
    // Not an event: nothing stored or listed.
    assert_eq!(event_count(&app).await, 0);

    // A receiver that does not accept it: the response is reported, exit 1.
    let sad = key(&app, &rx.url("sad")).await;
    let (code, out, _) = admin(&app, &["api-keys", "test-webhook", &sad.id], true);
    assert_eq!(code, 1);
    assert_eq!(
        (out["ok"].as_bool(), out["statusCode"].as_i64()),
        (Some(false), Some(500))
    );
    assert_eq!(out["failureCode"], "http_5xx");
    // The SSRF guard applies to tests too.
    let (code, out, _) = admin(&app, &["api-keys", "test-webhook", &k.id], false);
    assert_eq!(code, 1);
    assert_eq!(out["failureCode"], "url_validation_failed");
    assert_eq!(rx.hits_for("happy").len(), 1);
    // A key without a URL, and a bad id.
    let (code, out, _) = admin(
        &app,
        &["api-keys", "test-webhook", &id_text(&new_id())],
        true,
    );
    assert_eq!((code, out["ok"].as_bool()), (1, Some(false)));
    let (code, _, _) = admin(&app, &["api-keys", "test-webhook", "nope"], true);
    assert_eq!(code, 2);
}

async fn rollback_restores_the_previous_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rx = Receiver::start().await;
    let k = key(&app, &rx.url("k")).await;
    let old = k.webhook_secret.clone().expect("secret");
    let (code, out, _) = admin(&app, &["api-keys", "rollback-webhook-secret", &k.id], true);
    assert_eq!(code, 1, "nothing to roll back to");
    assert_eq!(out["error"]["code"], "WEBHOOK_NOT_CONFIGURED");
    let rotated = kash_service::webhooks::rotate(&app.svc, &k.id, "test")
        .await
        .expect("rotate");
    let (code, out, err) = admin(&app, &["api-keys", "rollback-webhook-secret", &k.id], true);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["rolledBack"], true);
    // Pings are now signed with the old secret alone.
    let (code, _, _) = admin(&app, &["api-keys", "test-webhook", &k.id], true);
    assert_eq!(code, 0);
    let hit = rx.hits_for("k").pop().expect("ping");
    let header = hit.header("x-kash-signature").to_string();
    assert_eq!(header.matches("v1=").count(), 1);
    let now = app.now_ms();
    assert!(signature::verify_webhook(&header, &hit.body, &[&old], now).is_ok());
    assert!(signature::verify_webhook(&header, &hit.body, &[&rotated.secret], now).is_err());
    // Audited; a second rollback has nothing to restore.
    let n: i64 = kash_store::sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_events WHERE kind = 'webhook_secret_rolled_back'",
    )
    .fetch_one(app.svc.db.reader())
    .await
    .expect("audit");
    assert_eq!(n, 1);
    let (code, _, _) = admin(&app, &["api-keys", "rollback-webhook-secret", &k.id], true);
    assert_eq!(code, 1);
}

async fn bulk_redeliver_replays_failed_events(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(Arc::new(|s| s.webhook_poll_ms = 20)),
            ..TestOptions::default()
        },
    )
    .await;
    let rx = Receiver::with_script(Arc::new(|_, n| {
        if n <= 3 {
            Reply::Status(410)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let k = key(&app, &rx.url("k")).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = id_text(&new_id());
        let mut tx = app.svc.db.begin().await.expect("begin");
        insert_event(
            &mut *tx,
            &NewEvent {
                id: &id,
                api_key_id: &k.id,
                event_type: "trade.failed",
                api_version: "2026-08-19",
                trade_id: None,
                data: json!({"status": "failed"}),
                created_at_ms: app.now_ms(),
                deliverable: true,
            },
        )
        .await
        .expect("insert");
        tx.commit().await.expect("commit");
        ids.push(id);
    }
    let app_ref = &app;
    let failed_count = || async move {
        kash_store::sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events WHERE status = 'failed'",
        )
        .fetch_one(app_ref.svc.db.reader())
        .await
        .unwrap_or(0)
    };
    wait_for(
        "three terminal failures",
        Duration::from_secs(30),
        || async { failed_count().await == 3 },
    )
    .await;
    let (code, out, err) = admin(
        &app,
        &[
            "webhooks",
            "bulk-redeliver",
            "--key",
            &k.id,
            "--status",
            "failed",
            "--since",
            "2020-01-01T00:00:00Z",
        ],
        true,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["matched"], 3);
    assert_eq!(out["replayed"], json!(ids));
    let delivered = || async move {
        kash_store::sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events WHERE status = 'delivered'",
        )
        .fetch_one(app_ref.svc.db.reader())
        .await
        .unwrap_or(0)
    };
    wait_for(
        "all replayed and delivered",
        Duration::from_secs(30),
        || async { delivered().await == 3 },
    )
    .await;
    let replayed: Vec<String> = rx.hits_for("k")[3..].iter().map(|h| h.event_id()).collect();
    assert_eq!(replayed, ids, "replayed oldest first");
    let (code, _, _) = admin(
        &app,
        &[
            "webhooks",
            "bulk-redeliver",
            "--key",
            &k.id,
            "--status",
            "sent",
        ],
        true,
    );
    assert_eq!(code, 2);
}

backend_tests!(
    test_webhook_sends_a_signed_ping,
    rollback_restores_the_previous_secret,
    bulk_redeliver_replays_failed_events,
);
