//! Real trades raise every `trade.*` event type (`webhooks.md`, "Events"): each reaches a real
//! receiver signed, an independent verifier (Python's `hmac`) accepts it, and its `data` holds
//! exactly the members the contract lists for that type — never the confirmation token.

mod market_kit;
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, LimitOverrides};
use kash_service::trading::accounts::{move_funds, Holder};
use kash_testkit::receiver::{wait_for, Receiver};
use kash_testkit::{backend_tests, eventually, Backend};
use market_kit::*;
use serde_json::{json, Value};
use support::{python_verify, spawn_fast};

fn keys_of(data: &Value) -> BTreeSet<String> {
    data.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn expected_keys(event_type: &str, side: &str) -> BTreeSet<String> {
    let mut keys: Vec<&str> = vec![
        "tradeId",
        "marketId",
        "outcomeIndex",
        "amount",
        "side",
        "metadata",
        "status",
    ];
    match (event_type, side) {
        ("trade.confirmation-required", _) => keys.push("confirmationExpiresAt"),
        ("trade.completed", "sell") => keys.extend(["txHash", "tokensOut", "tokensIn", "usdcOut"]),
        ("trade.completed", _) => keys.extend(["txHash", "tokensOut"]),
        _ => keys.extend(["errorCode", "errorMessage"]),
    }
    keys.into_iter().map(str::to_string).collect()
}

async fn real_trades_raise_every_event_type(backend: Backend) {
    let app = spawn_fast(backend, 2_000).await;
    let rx = Receiver::start().await;
    let user = app.user("events@test.example").await;
    let owner = Owner::User(user.clone());
    fund(&app, &owner, "100").await;
    let key = app
        .issue(IssueRequest {
            owner: owner.clone(),
            tier: Tier::Enterprise,
            scopes: Some(ScopeSet::parse_list(ALL_SCOPES).expect("scopes")),
            name: None,
            ip_allowlist: None,
            webhook_url: Some(rx.url("k")),
            expires_at: None,
            limits: LimitOverrides {
                confirm_threshold: Some(usdc("5")),
                ..LimitOverrides::default()
            },
        })
        .await;
    let secret = key.webhook_secret.clone().expect("secret shown once");
    let m = market(&app, 2, "50").await;

    // completed (buy), then completed (sell of what was bought).
    let bought = buy(&app, &key.key, &m, 0, "2").await;
    let tokens = bought["tokensOut"].as_str().expect("tokensOut").to_string();
    let (status, sold) = trade(
        &app,
        &key.key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": tokens,
                "metadata": {"strategy": "exit"}}),
    )
    .await;
    assert_eq!(status, 201, "{sold}");
    // confirmation-required, then rejected when the window lapses.
    let (status, held) = trade(&app, &key.key, &buy_body(&m, 1, "6")).await;
    assert_eq!(status, 202, "{held}");
    let expiring = held["trade"]["id"].as_str().expect("id").to_string();
    let token = held["confirmationToken"]
        .as_str()
        .expect("token")
        .to_string();
    app.clock.advance(chrono::Duration::seconds(61));
    let expired = eventually(Duration::from_secs(10), || async {
        get_json(&app, &key.key, &format!("/v1/trades/{expiring}")).await["trade"]["status"]
            == "rejected"
    })
    .await;
    assert!(expired, "the expiry worker did not reject the trade");
    // confirmation-required, then failed when the balance moved away before the confirm.
    let (status, held) = trade(&app, &key.key, &buy_body(&m, 1, "7")).await;
    assert_eq!(status, 202, "{held}");
    let failing = held["trade"]["id"].as_str().expect("id").to_string();
    let token2 = held["confirmationToken"]
        .as_str()
        .expect("token")
        .to_string();
    let left = balance(&app, &key.key).await;
    move_funds(
        &app.svc,
        &Holder::Owner(owner),
        Usdc::from_atomic(left),
        false,
        "test",
    )
    .await
    .expect("withdraw");
    let resp = post(
        &app,
        &key.key,
        &format!("/v1/trades/{failing}/confirm"),
        &json!({ "token": token2 }),
    )
    .await;
    assert_eq!(resp.status(), 409);

    let expected = [
        ("trade.completed", "buy"),
        ("trade.completed", "sell"),
        ("trade.confirmation-required", "buy"),
        ("trade.rejected", "buy"),
        ("trade.confirmation-required", "buy"),
        ("trade.failed", "buy"),
    ];
    wait_for("six deliveries", Duration::from_secs(30), || {
        let n = rx.hits_for("k").len();
        async move { n >= expected.len() }
    })
    .await;
    let hits = rx.hits_for("k");
    assert_eq!(hits.len(), expected.len());
    for (hit, (event_type, side)) in hits.iter().zip(expected) {
        let body = hit.json();
        assert_eq!(body["type"], event_type, "{body}");
        assert_eq!(body["data"]["side"], side, "{body}");
        assert_eq!(
            keys_of(&body["data"]),
            expected_keys(event_type, side),
            "{body}"
        );
        let text = String::from_utf8_lossy(&hit.body);
        assert!(!text.contains(&token) && !text.contains(&token2), "{text}");
    }
    let sell = hits[1].json();
    assert_eq!(sell["data"]["tokensOut"], "0");
    assert_eq!(sell["data"]["tokensIn"].as_str(), Some(tokens.as_str()));
    assert_eq!(sell["data"]["metadata"]["strategy"], "exit");
    assert_eq!(hits[3].json()["data"]["errorCode"], "confirmation_expired");
    assert_eq!(hits[5].json()["data"]["errorCode"], "INSUFFICIENT_BALANCE");

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
    assert_eq!(
        python_verify(&cases, app.now_ms()),
        vec![true; expected.len()]
    );
    assert_ledger_balanced(&app).await;
}

backend_tests!(real_trades_raise_every_event_type);
