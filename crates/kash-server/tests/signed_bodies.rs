//! Signed request bodies (gate step 9), tested on the rotate route and on `POST /v1/trades`;
//! the checks in `support::assert_signature_refusals` take any `/v1` POST.

mod market_kit;
mod support;

use kash_core::signature;
use kash_testkit::{backend_tests, expect_problem, Backend};
use support::*;

const ROTATE: &str = "/v1/auth/api-keys/me/webhook-secret/rotate";

async fn bad_signatures_are_refused_with_a_reason(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let key = hook_key(&app, Some("http://127.0.0.1:9/hook/x".into())).await;
    let secret = key.webhook_secret.clone().expect("secret");
    assert_signature_refusals(&app, ROTATE, &key.key, "{}", Some(&secret)).await;
    // Nothing was rotated by the refused requests.
    let n: i64 = kash_store::sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_events WHERE kind = 'webhook_secret_rotated'",
    )
    .fetch_one(app.svc.db.reader())
    .await
    .expect("count");
    assert_eq!(n, 0);
    // A key without a webhook secret: the API-key scheme alone.
    let bare = hook_key(&app, None).await;
    assert_signature_refusals(&app, ROTATE, &bare.key, "{}", None).await;
}

async fn trades_refuse_bad_signatures_and_accept_good_ones(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let key = hook_key(&app, Some("http://127.0.0.1:9/hook/x".into())).await;
    let secret = key.webhook_secret.clone().expect("secret");
    market_kit::fund(&app, &key.record.owner, "50").await;
    let m = market_kit::market(&app, 2, "20").await;
    let body = market_kit::buy_body(&m, 0, "2").to_string();
    assert_signature_refusals(&app, "/v1/trades", &key.key, &body, Some(&secret)).await;
    let trades = market_kit::get_json(&app, &key.key, "/v1/trades").await;
    assert_eq!(
        trades["data"],
        serde_json::json!([]),
        "a refused request traded"
    );
    // Both schemes pass and the trade executes.
    let now = app.now_ms();
    let by_key = key_signature(&key.key, now, "/v1/trades", &body);
    let resp = signed_post(&app, "/v1/trades", &key.key, &body, Some(by_key.as_bytes())).await;
    assert_eq!(resp.status(), 201);
    let by_secret = signature::webhook_header(&[&secret], now, body.as_bytes());
    let resp = signed_post(
        &app,
        "/v1/trades",
        &key.key,
        &body,
        Some(by_secret.as_bytes()),
    )
    .await;
    assert_eq!(resp.status(), 201);
    market_kit::assert_ledger_balanced(&app).await;
}

async fn valid_signatures_pass_and_the_previous_secret_counts_for_7_days(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let key = hook_key(&app, Some("http://127.0.0.1:9/hook/x".into())).await;
    let old = key.webhook_secret.clone().expect("secret");
    let body = "{}";
    // Unsigned requests proceed on the key alone; the API-key scheme passes.
    let now = app.now_ms();
    let resp = signed_post(
        &app,
        ROTATE,
        &key.key,
        body,
        Some(key_signature(&key.key, now, ROTATE, body).as_bytes()),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rotated: serde_json::Value = resp.json().await.expect("json");
    let new = rotated["webhookSecret"]["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    // Both secrets (webhook scheme) and several v1 entries (one valid) pass the gate: the
    // handler answers (cooldown), not the gate.
    for secrets in [
        vec![old.as_str()],
        vec![new.as_str()],
        vec!["whsec_x", new.as_str()],
    ] {
        let header = signature::webhook_header(&secrets, app.now_ms(), body.as_bytes());
        let resp = signed_post(&app, ROTATE, &key.key, body, Some(header.as_bytes())).await;
        expect_problem(resp, 429, "WEBHOOK_SECRET_ROTATION_COOLDOWN").await;
    }
    let resp = signed_post(&app, ROTATE, &key.key, body, None).await;
    expect_problem(resp, 429, "WEBHOOK_SECRET_ROTATION_COOLDOWN").await;
    // After the overlap the previous secret no longer signs.
    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    let header = signature::webhook_header(&[&old], app.now_ms(), body.as_bytes());
    let resp = signed_post(&app, ROTATE, &key.key, body, Some(header.as_bytes())).await;
    let problem = expect_problem(resp, 401, "REQUEST_SIGNATURE_INVALID").await;
    assert_eq!(problem["signatureReason"], "mismatch");
    let header = signature::webhook_header(&[&new], app.now_ms(), body.as_bytes());
    let resp = signed_post(&app, ROTATE, &key.key, body, Some(header.as_bytes())).await;
    assert_eq!(resp.status(), 200);
}

backend_tests!(
    trades_refuse_bad_signatures_and_accept_good_ones,
    bad_signatures_are_refused_with_a_reason,
    valid_signatures_pass_and_the_previous_secret_counts_for_7_days,
);
