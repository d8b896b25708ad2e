//! The delivery worker against real HTTP receivers on loopback (`webhooks.md`, "Delivery").

mod support;

use std::sync::Arc;
use std::time::Duration;

use kash_core::signature;
use kash_service::webhooks::schedule::OFFSETS_MS;
use kash_testkit::receiver::{wait_for, Receiver, Reply};
use kash_testkit::{backend_tests, Backend};
use support::*;

const LIMIT: Duration = Duration::from_secs(30);

/// Every event type arrives signed; an independent verifier (Python's `hmac`) accepts it;
/// during a rotation overlap both secrets verify and the new one comes first.
async fn every_event_type_arrives_signed(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let secret = key.webhook_secret.clone().expect("secret shown once");
    let mut ids = Vec::new();
    for t in EVENT_TYPES {
        ids.push(emit(&app, &key.id, t, true).await);
    }
    for id in &ids {
        wait_status(&app, id, "delivered").await;
    }
    let hits = rx.hits_for("k");
    assert_eq!(hits.len(), 4);
    for (hit, (id, ty)) in hits.iter().zip(ids.iter().zip(EVENT_TYPES)) {
        assert_eq!(
            hit.header("content-type"),
            "application/json; charset=utf-8"
        );
        assert_eq!(hit.header("x-kash-event-id"), id);
        assert_eq!(hit.header("x-kash-api-version"), "2026-04-29");
        assert!(hit
            .header("user-agent")
            .starts_with("Kash-Webhook-Delivery/"));
        let body = hit.json();
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["type"], ty);
        assert_eq!(body["apiVersion"], "2026-04-29");
        assert!(body["data"]["tradeId"]
            .as_str()
            .is_some_and(|t| t.len() == 36));
        assert_eq!(body["data"]["amount"], "12.5");
        assert!(signature::verify_webhook(
            hit.header("x-kash-signature"),
            &hit.body,
            &[&secret],
            app.now_ms()
        )
        .is_ok());
    }
    let cases: Vec<_> = hits
        .iter()
        .map(|h| {
            (
                h.header("x-kash-signature").to_string(),
                h.body.to_vec(),
                secret.clone(),
            )
        })
        .collect();
    assert_eq!(python_verify(&cases, app.now_ms()), vec![true; 4]);
    // A wrong secret or a changed body does not verify.
    let bad = vec![
        (
            cases[0].0.clone(),
            cases[0].1.clone(),
            "whsec_wrong".to_string(),
        ),
        (cases[0].0.clone(), b"{}".to_vec(), secret.clone()),
    ];
    assert_eq!(python_verify(&bad, app.now_ms()), vec![false, false]);

    // Rotate: deliveries now carry two v1 entries, new secret first; both verify.
    let resp = app
        .http
        .post(app.url("/v1/auth/api-keys/me/webhook-secret/rotate"))
        .header("X-API-Key", &key.key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("rotate");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    let new_secret = body["webhookSecret"]["secret"]
        .as_str()
        .expect("new secret")
        .to_string();
    let mut more = Vec::new();
    for t in EVENT_TYPES {
        more.push(emit(&app, &key.id, t, true).await);
    }
    for id in &more {
        wait_status(&app, id, "delivered").await;
    }
    let hits = rx.hits_for("k");
    let overlap: Vec<_> = hits[4..].to_vec();
    assert_eq!(overlap.len(), 4);
    let mut cases = Vec::new();
    for h in &overlap {
        let header = h.header("x-kash-signature").to_string();
        assert_eq!(header.matches("v1=").count(), 2, "{header}");
        let t = h.signed_at();
        let first = header.split(',').nth(1).expect("first v1");
        assert_eq!(
            first,
            format!(
                "v1={}",
                hex::encode(signature::webhook_digest(&new_secret, t, &h.body))
            ),
            "new secret first"
        );
        cases.push((header.clone(), h.body.to_vec(), secret.clone()));
        cases.push((header, h.body.to_vec(), new_secret.clone()));
    }
    assert_eq!(python_verify(&cases, app.now_ms()), vec![true; 8]);
    assert_eq!(rx.overlaps(), 0);
}

/// 500 three times then 200: four attempts, at the scheduled (jittered) offsets.
async fn retries_follow_the_schedule(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|_, n| {
        if n <= 3 {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    let created = event(&app, &id).await.created_at;
    for attempt in 1..=3 {
        let e = wait_attempts(&app, &id, attempt).await;
        assert_eq!(e.status, "retrying");
        assert_eq!(e.last_failure_code.as_deref(), Some("http_5xx"));
        assert_eq!(e.last_status_code, Some(500));
        let due = e.next_attempt_at.expect("next attempt scheduled");
        let nominal = OFFSETS_MS[attempt as usize];
        let offset = due - created;
        assert!(
            offset >= nominal * 4 / 5 && offset <= nominal * 6 / 5 + 1_000,
            "attempt {} due at +{offset} ms, nominal {nominal}",
            attempt + 1
        );
        assert_eq!(rx.count_for("k"), attempt as usize);
        advance_to(&app, due);
    }
    let e = wait_status(&app, &id, "delivered").await;
    assert_eq!(e.attempts, 4);
    assert_eq!(e.last_status_code, Some(200));
    let hits = rx.hits_for("k");
    assert_eq!(hits.len(), 4);
    // Each attempt was signed at its own send time, never before its scheduled offset.
    for (i, hit) in hits.iter().enumerate() {
        assert!(hits.iter().all(|h| h.event_id() == id));
        let offset = hit.signed_at() - created;
        let nominal = OFFSETS_MS[i];
        assert!(
            offset >= nominal * 4 / 5 && offset <= nominal * 6 / 5 + 5_000,
            "attempt {} sent at +{offset} ms",
            i + 1
        );
    }
}

/// A 400 is terminal after one attempt; the key's next event is delivered after it.
async fn client_error_is_terminal(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|_, n| {
        if n == 1 {
            Reply::Status(400)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let first = emit(&app, &key.id, "trade.failed", true).await;
    let second = emit(&app, &key.id, "trade.completed", true).await;
    let e = wait_status(&app, &first, "failed").await;
    assert_eq!(e.attempts, 1);
    assert_eq!(
        e.last_failure_code.as_deref(),
        Some("terminal_client_error")
    );
    assert!(e.terminal_failure_at.is_some());
    assert_eq!(e.next_attempt_at, None);
    wait_status(&app, &second, "delivered").await;
    let hits = rx.hits_for("k");
    assert_eq!(
        hits.iter().map(|h| h.event_id()).collect::<Vec<_>>(),
        vec![first, second]
    );
}

/// A 3xx is retried and its Location is never followed.
async fn redirects_are_not_followed(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let target = rx.url("elsewhere");
    rx.set_script(Arc::new(move |name, _| {
        if name == "k" {
            Reply::Redirect(target.clone())
        } else {
            Reply::Status(200)
        }
    }));
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    let e = wait_attempts(&app, &id, 1).await;
    assert_eq!(e.status, "retrying");
    assert_eq!(e.last_failure_code.as_deref(), Some("http_3xx"));
    assert_eq!(e.last_status_code, Some(302));
    assert!(e.next_attempt_at.is_some());
    assert_eq!(rx.count_for("elsewhere"), 0);
}

/// A receiver that never answers is cut at the (configured) timeout and retried.
async fn hanging_receiver_times_out(backend: Backend) {
    let app = spawn_fast(backend, 300).await;
    let rx = Receiver::with_script(Arc::new(|_, _| Reply::Hang)).await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    let e = wait_attempts(&app, &id, 1).await;
    assert_eq!(e.status, "retrying");
    assert_eq!(e.last_failure_code.as_deref(), Some("timeout"));
    assert_eq!(e.last_status_code, None);
    assert!(e
        .last_error_message
        .as_deref()
        .is_some_and(|m| m.contains("300 ms")));
}

/// One key's receiver is down: its queue waits behind its first event, while another key's
/// events are all delivered, in order.
async fn per_key_order_holds_while_another_key_is_down(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|name, _| {
        if name == "down" {
            Reply::Status(503)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let down = hook_key(&app, Some(rx.url("down"))).await;
    let up = hook_key(&app, Some(rx.url("up"))).await;
    let mut down_ids = Vec::new();
    let mut up_ids = Vec::new();
    for i in 0..10 {
        down_ids.push(emit(&app, &down.id, EVENT_TYPES[i % 4], true).await);
        up_ids.push(emit(&app, &up.id, EVENT_TYPES[i % 4], true).await);
    }
    for id in &up_ids {
        wait_status(&app, id, "delivered").await;
    }
    let got: Vec<String> = rx.hits_for("up").iter().map(|h| h.event_id()).collect();
    assert_eq!(got, up_ids, "delivered in event order");
    let first = wait_attempts(&app, &down_ids[0], 1).await;
    assert_eq!(first.status, "retrying");
    for id in &down_ids[1..] {
        let e = event(&app, id).await;
        assert_eq!(
            (e.status.as_str(), e.attempts),
            ("pending", 0),
            "{id} waits"
        );
        assert_eq!(e.next_attempt_at, None);
    }
    assert!(rx
        .hits_for("down")
        .iter()
        .all(|h| h.event_id() == down_ids[0]));
    assert_eq!(rx.overlaps(), 0);

    // The receiver recovers: the queue drains in order.
    rx.set_script(Arc::new(|_, _| Reply::Status(200)));
    advance_to(&app, first.next_attempt_at.expect("scheduled"));
    for id in &down_ids {
        wait_status(&app, id, "delivered").await;
    }
    let mut got: Vec<String> = rx.hits_for("down").iter().map(|h| h.event_id()).collect();
    got.dedup();
    assert_eq!(got, down_ids);
}

/// Five consecutive failures open the breaker of a URL: a paused attempt is postponed (not
/// consumed) with `circuit_open`; after 30 s one probe closes it again.
async fn circuit_breaker_pauses_and_probes(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|_, _| Reply::Status(500))).await;
    let url = rx.url("shared");
    let mut first_events = Vec::new();
    for _ in 0..5 {
        let key = hook_key(&app, Some(url.clone())).await;
        let id = emit(&app, &key.id, "trade.completed", true).await;
        wait_attempts(&app, &id, 1).await;
        first_events.push(id);
    }
    assert_eq!(rx.count_for("shared"), 5);
    let sixth = hook_key(&app, Some(url.clone())).await;
    let paused = emit(&app, &sixth.id, "trade.completed", true).await;
    let app_ref = &app;
    let paused_ref = &paused;
    wait_for("the paused attempt to be postponed", LIMIT, || async move {
        event(app_ref, paused_ref)
            .await
            .last_failure_code
            .as_deref()
            == Some("circuit_open")
    })
    .await;
    let e = event(&app, &paused).await;
    assert_eq!(e.attempts, 0, "a paused attempt is not consumed");
    assert_eq!(e.status, "pending");
    assert_eq!(rx.count_for("shared"), 5);
    // 30 s later one probe goes; it succeeds and the breaker closes.
    rx.set_script(Arc::new(|_, _| Reply::Status(200)));
    advance_to(&app, e.next_attempt_at.expect("postponed until"));
    let e = wait_status(&app, &paused, "delivered").await;
    assert_eq!(e.attempts, 1);
}

/// `KASH_WEBHOOK_ALLOW_PRIVATE=false`: loopback destinations (literal or resolved) are refused
/// on every attempt with `url_validation_failed`, and nothing reaches them.
async fn ssrf_guard_refuses_private_destinations(backend: Backend) {
    let app = spawn_tweaked(backend, 2_000, false).await;
    let rx = Receiver::start().await;
    let key = hook_key(&app, None).await;
    for host in ["127.0.0.1", "localhost"] {
        // Set directly: the URL check at set time refuses these too; this is what a DNS
        // change after validation would look like.
        let url = format!("http://{host}:{}/hook/ssrf", rx.addr.port());
        kash_store::sqlx::query("UPDATE api_keys SET webhook_url = $1 WHERE id = $2")
            .bind(&url)
            .bind(&key.id)
            .execute(app.svc.db.writer())
            .await
            .expect("set url");
        // A key needs a secret to sign with.
        kash_store::sqlx::query("UPDATE api_keys SET webhook_secret_enc = $1 WHERE id = $2")
            .bind(app.svc.secrets.secret_box.seal("whsec_test"))
            .bind(&key.id)
            .execute(app.svc.db.writer())
            .await
            .expect("set secret");
        let id = emit(&app, &key.id, "trade.completed", true).await;
        let e = wait_attempts(&app, &id, 1).await;
        assert_eq!(e.status, "retrying", "{host}");
        assert_eq!(
            e.last_failure_code.as_deref(),
            Some("url_validation_failed"),
            "{host}: {e:?}"
        );
        // Clear the queue for the next host.
        kash_store::sqlx::query(
            "UPDATE webhook_events SET status = 'failed', next_attempt_at = NULL WHERE id = $1",
        )
        .bind(&id)
        .execute(app.svc.db.writer())
        .await
        .expect("settle");
    }
    assert_eq!(rx.count(), 0);
    // Setting such a URL is refused up front.
    let err = kash_service::keys::update(
        &app.svc,
        &key.id,
        kash_service::keys::KeyUpdate {
            webhook_url: Some(rx.url("x")),
            ..Default::default()
        },
        "test",
        false,
    )
    .await;
    assert!(err.is_err());
}

/// A URL change applies to deliveries already pending; events raised with no URL stay `none`.
async fn url_changes_apply_to_pending_deliveries(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|name, _| {
        if name == "old" {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("old"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    let e = wait_attempts(&app, &id, 1).await;
    kash_service::keys::update(
        &app.svc,
        &key.id,
        kash_service::keys::KeyUpdate {
            webhook_url: Some(rx.url("new")),
            ..Default::default()
        },
        "test",
        false,
    )
    .await
    .expect("update url");
    advance_to(&app, e.next_attempt_at.expect("scheduled"));
    wait_status(&app, &id, "delivered").await;
    assert_eq!(rx.count_for("new"), 1);

    // Removing the URL: a pending event is set aside as `none`, not delivered.
    kash_service::keys::update(
        &app.svc,
        &key.id,
        kash_service::keys::KeyUpdate {
            webhook_url: Some(String::new()),
            ..Default::default()
        },
        "test",
        false,
    )
    .await
    .expect("remove url");
    let later = emit(&app, &key.id, "trade.completed", true).await;
    wait_status(&app, &later, "none").await;
    let never = emit(&app, &key.id, "trade.failed", false).await;
    assert_eq!(event(&app, &never).await.status, "none");
    assert_eq!(rx.count(), 2);
}

/// `Retry-After` on a 429 postpones the next attempt beyond the schedule (capped at 1 h).
async fn retry_after_is_honoured(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|_, n| {
        if n == 1 {
            Reply::RetryAfter(429, "7200".into())
        } else {
            Reply::Status(200)
        }
    }))
    .await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    let e = wait_attempts(&app, &id, 1).await;
    assert_eq!(e.last_failure_code.as_deref(), Some("http_4xx"));
    let due = e.next_attempt_at.expect("scheduled");
    let wait = due - e.last_attempted_at.expect("attempted");
    assert!((3_600_000..3_602_000).contains(&wait), "waits {wait} ms");
    advance_to(&app, due);
    wait_status(&app, &id, "delivered").await;
}

/// After the tenth failed attempt the event is terminally failed.
async fn tenth_failure_is_terminal(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::with_script(Arc::new(|_, _| Reply::Status(500))).await;
    let key = hook_key(&app, Some(rx.url("k"))).await;
    let id = emit(&app, &key.id, "trade.completed", true).await;
    for n in 1..=9 {
        let e = wait_attempts(&app, &id, n).await;
        assert_eq!(e.status, "retrying");
        advance_to(&app, e.next_attempt_at.expect("scheduled"));
        // Keep the breaker out of the way: it opens after 5 failures and would only delay.
        advance_to(&app, app.now_ms() + 31_000);
    }
    let e = wait_status(&app, &id, "failed").await;
    assert_eq!(e.attempts, 10);
    assert!(e.terminal_failure_at.is_some());
    assert_eq!(e.last_failure_code.as_deref(), Some("http_5xx"));
    assert_eq!(rx.count_for("k"), 10);
}

backend_tests!(
    every_event_type_arrives_signed,
    retries_follow_the_schedule,
    client_error_is_terminal,
    redirects_are_not_followed,
    hanging_receiver_times_out,
    per_key_order_holds_while_another_key_is_down,
    circuit_breaker_pauses_and_probes,
    ssrf_guard_refuses_private_destinations,
    url_changes_apply_to_pending_deliveries,
    retry_after_is_honoured,
    tenth_failure_is_terminal,
);
