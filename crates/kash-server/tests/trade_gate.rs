//! The high-value gate: `202` with a one-time token, confirmation, replays, expiry and failed
//! re-checks.

mod market_kit;

use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::keys::LimitOverrides;
use kash_service::trading::accounts::{move_funds, Holder};
use kash_testkit::{backend_tests, eventually, expect_problem, Backend, TestApp};
use market_kit::*;
use serde_json::json;

fn gated() -> LimitOverrides {
    LimitOverrides {
        confirm_threshold: Some(usdc("5")),
        daily_cap: Some(usdc("12")),
        ..LimitOverrides::default()
    }
}

async fn confirm(app: &TestApp, key: &str, id: &str, token: &str) -> reqwest::Response {
    post(
        app,
        key,
        &format!("/v1/trades/{id}/confirm"),
        &json!({ "token": token }),
    )
    .await
}

async fn event_types(app: &TestApp, trade: &str) -> Vec<(String, serde_json::Value)> {
    kash_store::webhooks::events_of_trade(app.svc.db.reader(), trade)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let body: serde_json::Value = serde_json::from_str(&e.body).unwrap();
            (e.event_type, body["data"].clone())
        })
        .collect()
}

async fn high_value_trades_wait_for_confirmation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, key) = trader_with(&app, Tier::Enterprise, "100", gated()).await;
    let key = key.key;
    let m = market(&app, 2, "20").await;
    // Below the threshold: executed at once.
    buy(&app, &key, &m, 0, "4.999999").await;
    let mut body = buy_body(&m, 0, "5");
    body["clientRequestId"] = json!("big-1");
    let resp = post_with(&app, &key, "/v1/trades", &body, "hv-1").await;
    assert_eq!(resp.status(), 202);
    let held: serde_json::Value = resp.json().await.unwrap();
    let token = held["confirmation"]["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43);
    assert_eq!(held["confirmationToken"], token.as_str());
    assert!(held["confirmation"]["expiresAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let id = held["trade"]["id"].as_str().unwrap().to_string();
    assert_eq!(held["trade"]["status"], "pending_confirmation");
    assert!(held["trade"]["txHash"].is_null());
    // The webhook event never holds the token.
    let events = event_types(&app, &id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "trade.confirmation-required");
    assert_eq!(events[0].1["status"], "pending_confirmation");
    assert!(events[0].1["confirmationExpiresAt"].is_string());
    assert!(!events[0].1.to_string().contains(&token));
    // Stored as an HMAC and an AEAD copy, never in plaintext.
    let rec = kash_store::trades::get(app.svc.db.reader(), &id)
        .await
        .unwrap()
        .unwrap();
    assert!(rec
        .confirm_token_hash
        .as_deref()
        .is_some_and(|h| !h.contains(&token)));
    assert!(rec
        .confirm_token_enc
        .as_deref()
        .is_some_and(|c| !c.contains(&token)));
    // Replays (either mechanism) give the same trade and token with 202.
    let resp = post_with(&app, &key, "/v1/trades", &body, "hv-1").await;
    assert_eq!(resp.status(), 202);
    let again: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(again["confirmation"]["token"], token.as_str());
    assert_eq!(again["_meta"]["idempotent"], true);
    let (status, again) = trade(&app, &key, &body).await;
    assert_eq!(status, 202);
    assert_eq!(again["confirmationToken"], token.as_str());
    // Its amount counts toward the daily cap meanwhile (12 − 4.999999 − 5 < 2.1).
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m, 1, "2.1")).await;
    assert_eq!(
        expect_problem(resp, 409, "SPENDING_LIMIT_EXCEEDED").await["cap"],
        "daily_volume"
    );
    // Confirm: body, owner and token checks.
    let resp = post(&app, &key, &format!("/v1/trades/{id}/confirm"), &json!({})).await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let resp = post(
        &app,
        &key,
        &format!("/v1/trades/{id}/confirm"),
        &json!({"token": 5}),
    )
    .await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let (_, stranger) = trader_with(&app, Tier::Enterprise, "1", gated()).await;
    let resp = confirm(&app, &stranger.key, &id, &token).await;
    expect_problem(resp, 404, "RESOURCE_NOT_FOUND").await;
    let resp = confirm(&app, &key, "00000000-0000-4000-8000-000000000000", &token).await;
    expect_problem(resp, 404, "RESOURCE_NOT_FOUND").await;
    let resp = confirm(&app, &key, &id, "A".repeat(43).as_str()).await;
    expect_problem(resp, 409, "CONFIRMATION_TOKEN_INVALID").await;
    let small = get_json(&app, &key, "/v1/trades?limit=3").await;
    let never_gated = small["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "completed")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = confirm(&app, &key, &never_gated, &token).await;
    expect_problem(resp, 409, "TRADE_NOT_AWAITING_CONFIRMATION").await;
    // The right token executes it.
    let resp = confirm(&app, &key, &id, &token).await;
    assert_eq!(resp.status(), 200);
    let done: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(done["trade"]["status"], "completed");
    assert!(done["trade"]["txHash"].is_string());
    assert!(done.get("confirmation").is_none());
    let resp = confirm(&app, &key, &id, &token).await;
    expect_problem(resp, 409, "CONFIRMATION_TOKEN_USED").await;
    // Replays now answer 200 with the current state and no confirmation block.
    let resp = post_with(&app, &key, "/v1/trades", &body, "hv-1").await;
    assert_eq!(resp.status(), 200);
    let replay: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(replay["trade"]["status"], "completed");
    assert!(replay.get("confirmation").is_none() && replay.get("confirmationToken").is_none());
    let rec = kash_store::trades::get(app.svc.db.reader(), &id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        rec.confirm_token_enc.is_none(),
        "the AEAD copy is erased once confirmed"
    );
    let events = event_types(&app, &id).await;
    assert_eq!(events.last().unwrap().0, "trade.completed");
    // The trace shows the whole story.
    let trace = get_json(
        &app,
        &key,
        &format!(
            "/v1/traces/{}",
            done["trade"]["correlationId"].as_str().unwrap()
        ),
    )
    .await;
    let types: Vec<String> = trace["trace"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "com.kash.trade.accepted.v1",
            "com.kash.trade.confirmation-required.v1",
            "com.kash.trade.confirmed.v1",
            "com.kash.trade.executed.v1",
        ]
    );
    let _ = user;
    assert_ledger_balanced(&app).await;
}

async fn unconfirmed_trades_expire_and_rechecks_fail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, key) = trader_with(&app, Tier::Enterprise, "100", gated()).await;
    let key = key.key;
    let m = market(&app, 2, "20").await;
    let (status, held) = trade(&app, &key, &buy_body(&m, 0, "6")).await;
    assert_eq!(status, 202);
    let id = held["trade"]["id"].as_str().unwrap().to_string();
    let token = held["confirmationToken"].as_str().unwrap().to_string();
    app.clock.advance(chrono::Duration::seconds(61));
    let expired = eventually(std::time::Duration::from_secs(10), || async {
        kash_store::trades::get(app.svc.db.reader(), &id)
            .await
            .unwrap()
            .unwrap()
            .status
            == "rejected"
    })
    .await;
    assert!(expired, "the expiry worker did not reject the trade");
    let t = get_json(&app, &key, &format!("/v1/trades/{id}")).await;
    assert_eq!(t["trade"]["errorCode"], "confirmation_expired");
    let resp = confirm(&app, &key, &id, &token).await;
    expect_problem(resp, 409, "CONFIRMATION_EXPIRED").await;
    let events = event_types(&app, &id).await;
    assert_eq!(events.last().unwrap().0, "trade.rejected");
    assert_eq!(
        events.last().unwrap().1["errorCode"],
        "confirmation_expired"
    );
    let rec = kash_store::trades::get(app.svc.db.reader(), &id)
        .await
        .unwrap()
        .unwrap();
    assert!(rec.confirm_token_enc.is_none());
    // A rejected trade no longer counts toward the daily cap: 6 + 6 ≤ 12 again.
    let (status, held) = trade(&app, &key, &buy_body(&m, 0, "6")).await;
    assert_eq!(status, 202);
    let id2 = held["trade"]["id"].as_str().unwrap().to_string();
    let token2 = held["confirmationToken"].as_str().unwrap().to_string();
    // The balance moves away before the confirm: the re-check fails the trade.
    move_funds(
        &app.svc,
        &Holder::Owner(Owner::User(user.clone())),
        Usdc::from_atomic(96_000_000),
        false,
        "test",
    )
    .await
    .unwrap();
    let resp = confirm(&app, &key, &id2, &token2).await;
    expect_problem(resp, 409, "INSUFFICIENT_BALANCE").await;
    let t = get_json(&app, &key, &format!("/v1/trades/{id2}")).await;
    assert_eq!(t["trade"]["status"], "failed");
    assert_eq!(t["trade"]["errorCode"], "INSUFFICIENT_BALANCE");
    let events = event_types(&app, &id2).await;
    assert_eq!(events.last().unwrap().0, "trade.failed");
    let resp = confirm(&app, &key, &id2, &token2).await;
    expect_problem(resp, 409, "CONFIRMATION_TOKEN_USED").await;
    // A frozen market fails the re-check too.
    fund(&app, &Owner::User(user), "50").await;
    let (_, held) = trade(&app, &key, &buy_body(&m, 1, "5")).await;
    let id3 = held["trade"]["id"].as_str().unwrap().to_string();
    kash_service::trading::markets::freeze(&app.svc, &m, "test")
        .await
        .unwrap();
    let resp = confirm(
        &app,
        &key,
        &id3,
        held["confirmationToken"].as_str().unwrap(),
    )
    .await;
    expect_problem(resp, 409, "MARKET_NOT_TRADEABLE").await;
    assert_ledger_balanced(&app).await;
}

backend_tests!(
    high_value_trades_wait_for_confirmation,
    unconfirmed_trades_expire_and_rechecks_fail
);
