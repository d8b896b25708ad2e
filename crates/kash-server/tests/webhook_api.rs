//! The webhook management API (`webhooks.md`, "API") and the `webhooks` part of usage.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use kash_testkit::receiver::{Receiver, Reply};
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp};
use serde_json::{json, Value};
use support::*;

async fn post(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("X-API-Key", key)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
}

fn is_ms_z(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && kash_core::time::parse_rfc3339(s).is_some()
    })
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Item shape, newest first, default limit 25, cursor pages, filters, bad input → 400.
async fn event_listing(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let other = hook_key(&app, None).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(emit(&app, &key.id, EVENT_TYPES[i % 4], true).await);
        app.clock.advance(chrono::Duration::milliseconds(10));
    }
    emit(&app, &other.id, "trade.completed", false).await;
    for id in &ids {
        wait_status(&app, id, "delivered").await;
    }
    let resp = app.get("/v1/webhooks/events", &key.key).await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.expect("json");
    let data = page["data"].as_array().expect("data");
    assert_eq!(data.len(), 25);
    assert_eq!(page["pagination"]["limit"], 25);
    assert_eq!(page["pagination"]["hasMore"], true);
    let item = &data[0];
    assert_eq!(item["id"], ids[29].as_str(), "newest first");
    let required: BTreeSet<String> = [
        "id",
        "eventType",
        "tradeRequestId",
        "emittedAt",
        "outboxEmittedAt",
        "replayCount",
        "status",
        "delivery",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(required.is_subset(&keys(item)), "{item}");
    assert_eq!(
        keys(&item["delivery"]),
        [
            "attempts",
            "lastAttemptedAt",
            "lastDeliveredAt",
            "lastStatusCode",
            "lastFailureCode",
            "lastErrorMessage",
            "terminalFailureAt"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    assert_eq!(item["status"], "delivered");
    assert_eq!(item["eventType"], EVENT_TYPES[29 % 4]);
    assert!(is_ms_z(&item["emittedAt"]));
    assert!(is_ms_z(&item["outboxEmittedAt"]));
    assert!(is_ms_z(&item["delivery"]["lastAttemptedAt"]));
    assert!(is_ms_z(&item["delivery"]["lastDeliveredAt"]));
    assert_eq!(item["delivery"]["attempts"], 1);
    assert_eq!(item["delivery"]["lastStatusCode"], 200);
    assert!(item["delivery"]["terminalFailureAt"].is_null());
    assert!(item["delivery"]["lastFailureCode"].is_null());
    assert!(item["tradeRequestId"]
        .as_str()
        .is_some_and(|s| s.len() == 36));
    assert_eq!(item["replayCount"], 0);

    let cursor = page["pagination"]["cursor"].as_str().expect("cursor");
    let next: Value = app
        .get(&format!("/v1/webhooks/events?cursor={cursor}"), &key.key)
        .await
        .json()
        .await
        .expect("json");
    let rest: Vec<&str> = next["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    let expected: Vec<&str> = ids[..5].iter().rev().map(String::as_str).collect();
    assert_eq!(rest, expected);
    assert_eq!(next["pagination"]["hasMore"], false);
    assert!(next["pagination"]["cursor"].is_null());

    // Filters: status, limit, time range.
    let none: Value = app
        .get("/v1/webhooks/events?status=none,failed&limit=5", &key.key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));
    let first = event(&app, &ids[0]).await.created_at;
    let from = kash_core::time::rfc3339_ms(kash_core::time::from_unix_ms(first + 1));
    let ranged: Value = app
        .get(
            &format!("/v1/webhooks/events?status=delivered&limit=100&from={from}"),
            &key.key,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ranged["data"].as_array().map(Vec::len), Some(29));
    // Another key sees only its own events.
    let theirs: Value = app
        .get("/v1/webhooks/events", &other.key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(theirs["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(theirs["data"][0]["status"], "none");
    assert!(theirs["data"][0]["outboxEmittedAt"].is_null());

    for bad in [
        "?status=sent",
        "?limit=0",
        "?from=yesterday",
        "?cursor=garbage",
        &format!("?cursor={cursor}&status=failed"),
    ] {
        let body = expect_problem(
            app.get(&format!("/v1/webhooks/events{bad}"), &key.key)
                .await,
            400,
            "VALIDATION_FAILED",
        )
        .await;
        assert!(
            body["issues"].as_array().is_some_and(|i| !i.is_empty()),
            "{bad}"
        );
    }
    // A cursor of one key is refused for another.
    expect_problem(
        app.get(&format!("/v1/webhooks/events?cursor={cursor}"), &other.key)
            .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    // Scope.
    let reader = hook_key_scoped(&app, None, Some("markets:read")).await;
    expect_problem(
        app.get("/v1/webhooks/events", &reader.key).await,
        403,
        "INSUFFICIENT_SCOPE",
    )
    .await;
}

/// Replay: same event id, any status, history kept, the 6th replay is refused; no URL → 409.
async fn redeliver(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    wait_status(&app, &id, "delivered").await;
    for n in 1..=5 {
        let resp = post(
            &app,
            &format!("/v1/webhooks/events/{id}/redeliver"),
            &key.key,
        )
        .await;
        assert_eq!(resp.status(), 202, "replay {n}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["event"], body["data"]);
        let ev = &body["event"];
        assert_eq!(ev["id"], id.as_str());
        assert_eq!(ev["apiKeyId"], key.id.as_str());
        assert_eq!(ev["eventType"], "trade.completed");
        assert!(is_ms_z(&ev["emittedAt"]));
        assert!(is_ms_z(&ev["lastDeliveredAt"]));
        assert!(ev["deliveryAttempts"].as_i64().is_some_and(|a| a >= n));
        assert!(body["_meta"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(body["_meta"]["requestId"].is_string());
        wait_for_hits(&rx, n as usize + 1).await;
        wait_status(&app, &id, "delivered").await;
    }
    let hits = rx.hits_for("k");
    assert_eq!(hits.len(), 6);
    assert!(hits.iter().all(|h| h.event_id() == id), "same event id");
    let e = event(&app, &id).await;
    assert_eq!((e.replay_count, e.attempts), (5, 6), "history kept");
    let body = expect_problem(
        post(
            &app,
            &format!("/v1/webhooks/events/{id}/redeliver"),
            &key.key,
        )
        .await,
        429,
        "WEBHOOK_REPLAY_LIMIT_REACHED",
    )
    .await;
    assert!(body["detail"].as_str().is_some());

    // Unknown, malformed, and other keys' events are not found.
    let other = hook_key(&app, Some(rx.url("o"))).await;
    for (path, k) in [
        (
            format!("/v1/webhooks/events/{}/redeliver", uuid_like()),
            &key.key,
        ),
        ("/v1/webhooks/events/nope/redeliver".to_string(), &key.key),
        (format!("/v1/webhooks/events/{id}/redeliver"), &other.key),
    ] {
        expect_problem(post(&app, &path, k).await, 404, "RESOURCE_NOT_FOUND").await;
    }

    // A key without a URL: events stay `none`, replay is refused until a URL is set.
    let bare = hook_key(&app, None).await;
    let quiet = emit(&app, &bare.id, "trade.failed", false).await;
    expect_problem(
        post(
            &app,
            &format!("/v1/webhooks/events/{quiet}/redeliver"),
            &bare.key,
        )
        .await,
        409,
        "WEBHOOK_NOT_CONFIGURED",
    )
    .await;
    let updated = kash_service::keys::update(
        &app.svc,
        &bare.id,
        kash_service::keys::KeyUpdate {
            webhook_url: Some(rx.url("late")),
            ..Default::default()
        },
        "test",
        false,
    )
    .await
    .expect("set url");
    assert!(
        updated.webhook_secret.is_some(),
        "a fresh secret, shown once"
    );
    assert_eq!(event(&app, &quiet).await.status, "none");
    let resp = post(
        &app,
        &format!("/v1/webhooks/events/{quiet}/redeliver"),
        &bare.key,
    )
    .await;
    assert_eq!(resp.status(), 202);
    let e = wait_status(&app, &quiet, "delivered").await;
    assert!(e.outbox_emitted_at.is_some());
    assert_eq!(rx.count_for("late"), 1);
}

async fn wait_for_hits(rx: &Receiver, n: usize) {
    kash_testkit::receiver::wait_for(
        "receiver hits",
        std::time::Duration::from_secs(30),
        || async { rx.count() >= n },
    )
    .await;
}

fn uuid_like() -> String {
    kash_core::ids::id_text(&kash_core::ids::new_id())
}

/// A replay of a terminally failed event follows the schedule itself (from the replay).
async fn replay_of_failed_event_follows_schedule(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|_, n| match n {
        1 => Reply::Status(404),
        2 => Reply::Status(500),
        _ => Reply::Status(200),
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.rejected", true).await;
    let e = wait_status(&app, &id, "failed").await;
    assert!(e.terminal_failure_at.is_some());
    app.clock.advance(chrono::Duration::hours(2));
    let replayed_at = app.now_ms();
    assert_eq!(
        post(
            &app,
            &format!("/v1/webhooks/events/{id}/redeliver"),
            &key.key
        )
        .await
        .status(),
        202
    );
    let e = wait_attempts(&app, &id, 2).await;
    assert_eq!(e.status, "retrying");
    assert_eq!(e.terminal_failure_at, None);
    let due = e.next_attempt_at.expect("scheduled");
    let offset = due - replayed_at;
    assert!(
        (24_000..=37_000).contains(&offset),
        "+{offset} ms from the replay"
    );
    advance_to(&app, due);
    let e = wait_status(&app, &id, "delivered").await;
    assert_eq!((e.attempts, e.replay_count), (3, 1));
}

/// A replay requested while the event's attempt is in flight starts its new run when that
/// attempt ends: the receiver sees the event again.
async fn replay_while_in_flight(backend: Backend) {
    let app = spawn_fast(backend, 5_000).await;
    let rx = Receiver::with_script(Arc::new(|_, n| {
        if n == 1 {
            Reply::Delay(std::time::Duration::from_millis(800), 200)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    wait_for_hits(&rx, 1).await;
    let resp = post(
        &app,
        &format!("/v1/webhooks/events/{id}/redeliver"),
        &key.key,
    )
    .await;
    assert_eq!(resp.status(), 202);
    wait_for_hits(&rx, 2).await;
    let e = wait_status(&app, &id, "delivered").await;
    assert_eq!((e.attempts, e.replay_count), (2, 1));
    assert!(rx.hits_for("k").iter().all(|h| h.event_id() == id));
    assert_eq!(rx.overlaps(), 0);
}

/// Rotation: shape, 60 s cooldown with Retry-After, no secret → 409, either scope admits.
async fn rotation(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let resp = post(&app, "/v1/auth/api-keys/me/webhook-secret/rotate", &key.key).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["webhookSecret"], body["data"]);
    let ws = &body["webhookSecret"];
    let secret = ws["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 43);
    assert_ne!(Some(secret), key.webhook_secret.as_deref());
    assert!(is_ms_z(&ws["rotatedAt"]));
    assert!(is_ms_z(&ws["previousRetainedUntil"]));
    let rotated =
        kash_core::time::parse_rfc3339(ws["rotatedAt"].as_str().unwrap_or("")).expect("t");
    let until = kash_core::time::parse_rfc3339(ws["previousRetainedUntil"].as_str().unwrap_or(""))
        .expect("t");
    assert_eq!((until - rotated).num_days(), 7);
    assert!(body["_meta"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));

    app.clock.advance(chrono::Duration::seconds(20));
    let resp = post(&app, "/v1/auth/api-keys/me/webhook-secret/rotate", &key.key).await;
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((39..=41).contains(&retry), "{retry}");
    expect_problem(resp, 429, "WEBHOOK_SECRET_ROTATION_COOLDOWN").await;
    app.clock.advance(chrono::Duration::seconds(41));
    assert_eq!(
        post(&app, "/v1/auth/api-keys/me/webhook-secret/rotate", &key.key)
            .await
            .status(),
        200
    );

    // Audited.
    let n: i64 = kash_store::sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_events WHERE kind = 'webhook_secret_rotated' AND api_key_id = $1",
    )
    .bind(&key.id)
    .fetch_one(app.svc.db.reader())
    .await
    .expect("audit");
    assert_eq!(n, 2);

    let bare = hook_key(&app, None).await;
    expect_problem(
        post(
            &app,
            "/v1/auth/api-keys/me/webhook-secret/rotate",
            &bare.key,
        )
        .await,
        409,
        "WEBHOOK_NOT_CONFIGURED",
    )
    .await;
    let auth_only = hook_key_scoped(&app, Some(rx.url("a")), Some("auth:manage")).await;
    assert_eq!(
        post(
            &app,
            "/v1/auth/api-keys/me/webhook-secret/rotate",
            &auth_only.key
        )
        .await
        .status(),
        200
    );
    let neither = hook_key_scoped(&app, Some(rx.url("n")), Some("markets:read")).await;
    expect_problem(
        post(
            &app,
            "/v1/auth/api-keys/me/webhook-secret/rotate",
            &neither.key,
        )
        .await,
        403,
        "INSUFFICIENT_SCOPE",
    )
    .await;
}

/// `GET /v1/account/usage` → `webhooks["7d"]`; and the trade's delivery summary.
async fn usage_and_delivery_summary(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|name, _| {
        if name == "bad" {
            Reply::Status(410)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let body: Value = app
        .get("/v1/account/usage", &key.key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        body["data"]["webhooks"]["7d"],
        json!({"emitted": 0, "delivered": 0, "failed": 0, "successRate": null})
    );
    let mut ids = Vec::new();
    for t in EVENT_TYPES {
        ids.push(emit(&app, &key.id, t, true).await);
    }
    for id in &ids {
        wait_status(&app, id, "delivered").await;
    }
    kash_service::keys::update(
        &app.svc,
        &key.id,
        kash_service::keys::KeyUpdate {
            webhook_url: Some(rx.url("bad")),
            ..Default::default()
        },
        "test",
        false,
    )
    .await
    .expect("url");
    let failed = emit(&app, &key.id, "trade.failed", true).await;
    wait_status(&app, &failed, "failed").await;
    let body: Value = app
        .get("/v1/account/usage", &key.key)
        .await
        .json()
        .await
        .expect("json");
    let w = &body["data"]["webhooks"]["7d"];
    assert_eq!(
        (
            w["emitted"].as_i64(),
            w["delivered"].as_i64(),
            w["failed"].as_i64()
        ),
        (Some(5), Some(4), Some(1))
    );
    assert_eq!(w["successRate"], json!(0.8));

    let e = event(&app, &failed).await;
    let trade = e.trade_id.clone().expect("trade id");
    let summary = kash_store::webhooks::delivery_summary(app.svc.db.reader(), &trade)
        .await
        .expect("summary")
        .expect("present");
    assert_eq!(summary.status, "failed");
    assert_eq!(summary.attempts, 1);
    assert_eq!(summary.last_status_code, Some(410));
    assert_eq!(
        summary.last_failure_code.as_deref(),
        Some("terminal_client_error")
    );
    assert!(summary.terminal_failure_at.is_some());
    assert!(summary.last_attempted_at.is_some());
    assert_eq!(
        kash_store::webhooks::delivery_summary(app.svc.db.reader(), &uuid_like())
            .await
            .expect("summary"),
        None
    );
}

/// Settled events are purged 30 days after their last activity.
async fn retention(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    wait_status(&app, &id, "delivered").await;
    let n = kash_store::webhooks::purge_settled(
        app.svc.db.writer(),
        app.now_ms() - kash_service::webhooks::RETENTION_MS,
        100,
    )
    .await
    .expect("purge");
    assert_eq!(n, 0);
    let n = kash_store::webhooks::purge_settled(
        app.svc.db.writer(),
        app.now_ms() + 1 + 31 * 86_400_000 - kash_service::webhooks::RETENTION_MS,
        100,
    )
    .await
    .expect("purge");
    assert_eq!(n, 1);
}

/// The OpenAPI document describes the routes and the webhook payload.
async fn openapi_describes_webhooks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for path in [
        "/v1/webhooks/events",
        "/v1/webhooks/events/{id}/redeliver",
        "/v1/auth/api-keys/me/webhook-secret/rotate",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let payload = &doc["components"]["schemas"]["WebhookEventPayload"];
    assert!(payload["properties"]["apiVersion"].is_object(), "{payload}");
    assert!(doc["components"]["schemas"]["TradeEventData"]["properties"]["tradeId"].is_object());
}

backend_tests!(
    openapi_describes_webhooks,
    event_listing,
    redeliver,
    replay_of_failed_event_follows_schedule,
    replay_while_in_flight,
    rotation,
    usage_and_delivery_summary,
    retention,
);
