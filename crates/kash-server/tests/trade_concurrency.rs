//! Concurrency: caps, positions, idempotency keys and confirmations stay exact under
//! concurrent requests — from one server and, on PostgreSQL, from two instances.

mod market_kit;

use std::collections::HashSet;

use futures::future::join_all;
use kash_core::tier::Tier;
use kash_service::keys::LimitOverrides;
use kash_testkit::{backend_tests, Backend, TestApp};
use market_kit::*;
use serde_json::json;

async fn concurrent_buys(apps: &[&TestApp]) {
    let app = apps[0];
    let m = market(app, 2, "100").await;
    // Daily cap 10 USDC; 50 buys of 0.3 USDC: exactly 33 fit.
    let (_, key) = trader_with(
        app,
        Tier::Mm,
        "1000",
        LimitOverrides {
            daily_cap: Some(usdc("10")),
            ..LimitOverrides::default()
        },
    )
    .await;
    let body = buy_body(&m, 0, "0.3");
    let results = join_all((0..50).map(|i| {
        let target = apps[i % apps.len()];
        let (key, body) = (key.key.clone(), body.clone());
        async move { trade(target, &key, &body).await }
    }))
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 201).count();
    for (status, body) in &results {
        assert!(
            *status == 201 || (*status == 409 && body["cap"] == "daily_volume"),
            "{status} {body}"
        );
    }
    assert_eq!(ok, 33, "exactly floor(10 / 0.3) buys fit the daily cap");
    let spent: u64 = 1_000_000_000 - balance(app, &key.key).await;
    assert!(spent <= 10_000_000, "daily cap overrun: {spent}");
    assert_eq!(spent, 9_900_000);
    assert_ledger_balanced(app).await;
}

async fn concurrent_sells(apps: &[&TestApp]) {
    let app = apps[0];
    let m = market(app, 2, "100").await;
    let (_, key) = trader(app, "1000").await;
    let t = buy(app, &key, &m, 1, "50").await;
    let held: u128 = t["tokensOut"].as_str().unwrap().parse().unwrap();
    let slice = held / 20;
    let body =
        json!({"marketId": m, "outcomeIndex": 1, "side": "sell", "tokens": slice.to_string()});
    let results = join_all((0..50).map(|i| {
        let target = apps[i % apps.len()];
        let (key, body) = (key.clone(), body.clone());
        async move { trade(target, &key, &body).await }
    }))
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 201).count();
    for (status, body) in &results {
        assert!(
            *status == 201 || (*status == 409 && body["code"] == "INSUFFICIENT_POSITION"),
            "{status} {body}"
        );
    }
    assert_eq!(ok, 20, "exactly held / slice sells can be delivered");
    let pos = get_json(app, &key, &format!("/v1/portfolio/positions?marketId={m}")).await;
    assert_eq!(pos["data"][0]["shares"], (held - 20 * slice).to_string());
    assert_ledger_balanced(app).await;
}

async fn caps_and_positions_hold_under_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    concurrent_buys(&[&app]).await;
    concurrent_sells(&[&app]).await;
}

async fn two_instances_share_caps_and_positions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance().await;
    concurrent_buys(&[&app, &other]).await;
    concurrent_sells(&[&app, &other]).await;
}

async fn retries_with_one_idempotency_key_make_one_trade(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "100").await;
    let m = market(&app, 2, "20").await;
    let body = buy_body(&m, 0, "3");
    let results = join_all((0..20).map(|_| {
        let (app, key, body) = (&app, key.clone(), body.clone());
        async move {
            let resp = post_with(app, &key, "/v1/trades", &body, "retry-me").await;
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            (status, body)
        }
    }))
    .await;
    let ids: HashSet<String> = results
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b}");
            b["trade"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one trade for one key");
    let list = get_json(&app, &key, "/v1/trades").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        results
            .iter()
            .filter(|(_, b)| b["_meta"]["idempotent"] == false)
            .count(),
        1
    );
    assert_eq!(balance(&app, &key).await, 97_000_000);
    // Concurrent retries of one clientRequestId: one trade as well.
    let mut body = buy_body(&m, 1, "2");
    body["clientRequestId"] = json!("same-order");
    let results = join_all((0..20).map(|_| {
        let (app, key, body) = (&app, key.clone(), body.clone());
        async move { trade(app, &key, &body).await }
    }))
    .await;
    let ids: HashSet<String> = results
        .iter()
        .map(|(s, b)| {
            assert!(*s == 201 || *s == 200, "{b}");
            b["trade"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(balance(&app, &key).await, 95_000_000);
    assert_ledger_balanced(&app).await;
}

async fn confirm_races_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.another_instance().await;
    let (_, key) = trader_with(
        &app,
        Tier::Enterprise,
        "100",
        LimitOverrides {
            confirm_threshold: Some(usdc("1")),
            ..LimitOverrides::default()
        },
    )
    .await;
    let m = market(&app, 2, "20").await;
    let (status, held) = trade(&app, &key.key, &buy_body(&m, 0, "5")).await;
    assert_eq!(status, 202);
    let id = held["trade"]["id"].as_str().unwrap().to_string();
    let token = held["confirmationToken"].as_str().unwrap().to_string();
    let results = join_all((0..20).map(|i| {
        let target = if i % 2 == 0 { &app } else { &other };
        let (key, id, token) = (key.key.clone(), id.clone(), token.clone());
        async move {
            let resp = post(
                target,
                &key,
                &format!("/v1/trades/{id}/confirm"),
                &json!({"token": token}),
            )
            .await;
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            (status, body)
        }
    }))
    .await;
    let wins = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(wins, 1, "{results:?}");
    for (status, body) in &results {
        assert!(
            *status == 200 || body["code"] == "CONFIRMATION_TOKEN_USED",
            "{status} {body}"
        );
    }
    assert_eq!(balance(&app, &key.key).await, 95_000_000);
    assert_ledger_balanced(&app).await;
}

backend_tests!(
    caps_and_positions_hold_under_concurrency,
    two_instances_share_caps_and_positions,
    retries_with_one_idempotency_key_make_one_trade,
    confirm_races_have_one_winner
);
