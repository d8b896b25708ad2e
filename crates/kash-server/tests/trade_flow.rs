//! The life of trades through the API: idempotency and clientRequestId, webhook events and
//! `webhookDelivery`, listings, predictions, traces, usage, portfolio, settlement, the
//! grace-period cancellation and the organization revenue share.

mod market_kit;

use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, LimitOverrides};
use kash_service::trading::markets;
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp, TestOptions};
use market_kit::*;
use serde_json::json;

async fn idempotency_keys_and_client_request_ids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "100").await;
    let m = market(&app, 2, "20").await;
    // First use executes; a replay returns the stored result, marked.
    let first = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "10"), "idem-1").await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replay").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["_meta"]["idempotent"], false);
    let again = post_with(
        &app,
        &key,
        "/v1/trades",
        &buy_body(&m, 0, "10.000000"),
        "idem-1",
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers().get("idempotent-replay").unwrap(), "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["trade"]["id"], first["trade"]["id"]);
    assert_eq!(again["_meta"]["idempotent"], true);
    // Another identity under the same key.
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "11"), "idem-1").await;
    expect_problem(resp, 409, "IDEMPOTENCY_KEY_CONFLICT").await;
    // clientRequestId and channel are not part of the identity.
    let mut labelled = buy_body(&m, 0, "10");
    labelled["channel"] = json!("embed");
    let resp = post_with(&app, &key, "/v1/trades", &labelled, "idem-1").await;
    assert_eq!(resp.status(), 201);
    // A domain refusal is remembered too; a validation failure is not.
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "95"), "idem-2").await;
    expect_problem(resp, 409, "INSUFFICIENT_BALANCE").await;
    fund(&app, &Owner::User(owner_of(&app, &key).await), "100").await;
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "95"), "idem-2").await;
    assert_eq!(resp.headers().get("idempotent-replay").unwrap(), "true");
    expect_problem(resp, 409, "INSUFFICIENT_BALANCE").await;
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "x"), "idem-3").await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "1"), "idem-3").await;
    assert_eq!(resp.status(), 201);
    // Key format, on any /v1 POST.
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "1"), "bad key!").await;
    expect_problem(resp, 400, "IDEMPOTENCY_KEY_FORMAT_INVALID").await;
    let resp = post_with(
        &app,
        &key,
        "/v1/trades",
        &buy_body(&m, 0, "1"),
        &"k".repeat(256),
    )
    .await;
    expect_problem(resp, 400, "IDEMPOTENCY_KEY_TOO_LONG").await;
    let resp = post_with(&app, &key, "/v1/redemptions", &json!({}), "a/b").await;
    expect_problem(resp, 400, "IDEMPOTENCY_KEY_FORMAT_INVALID").await;
    // After 24 h: a tombstone. Same identity → 410, another → 409; after 30 more days, free.
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "10"), "idem-1").await;
    expect_problem(resp, 410, "IDEMPOTENCY_KEY_EXPIRED").await;
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "12"), "idem-1").await;
    expect_problem(resp, 409, "IDEMPOTENCY_KEY_CONFLICT").await;
    app.clock.advance(chrono::Duration::days(30));
    let resp = post_with(&app, &key, "/v1/trades", &buy_body(&m, 0, "1"), "idem-1").await;
    assert_eq!(resp.status(), 201);

    // clientRequestId: the durable domain key.
    let mut body = buy_body(&m, 1, "2");
    body["clientRequestId"] = json!("order-42");
    let (status, first) = trade(&app, &key, &body).await;
    assert_eq!(status, 201);
    assert_eq!(first["trade"]["clientRequestId"], "order-42");
    let (status, again) = trade(&app, &key, &body).await;
    assert_eq!(status, 200);
    assert_eq!(again["trade"]["id"], first["trade"]["id"]);
    assert_eq!(again["_meta"]["idempotent"], true);
    body["amount"] = json!("3");
    let resp = post(&app, &key, "/v1/trades", &body).await;
    expect_problem(resp, 409, "CLIENT_REQUEST_ID_CONFLICT").await;
    // Another owner may use the same clientRequestId.
    let (_, other) = trader(&app, "10").await;
    body["amount"] = json!("2");
    let (status, _) = trade(&app, &other, &body).await;
    assert_eq!(status, 201);
    assert_ledger_balanced(&app).await;
}

async fn owner_of(app: &TestApp, key: &str) -> String {
    let hash = app.svc.secrets.hasher.hash(key);
    kash_store::keys::find_by_hash(app.svc.db.reader(), &hash)
        .await
        .unwrap()
        .unwrap()
        .owner
        .id()
        .to_string()
}

async fn events_listings_traces_and_usage(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.user("hooks@test.example").await;
    let owner = Owner::User(user.clone());
    fund(&app, &owner, "100").await;
    let hooked = app
        .issue(IssueRequest {
            owner: owner.clone(),
            tier: Tier::Mm,
            scopes: Some(ScopeSet::parse_list(ALL_SCOPES).unwrap()),
            name: None,
            ip_allowlist: None,
            webhook_url: Some("http://127.0.0.1:9/hook".into()),
            expires_at: None,
            limits: LimitOverrides::default(),
        })
        .await;
    let plain = app.key_with(owner.clone(), Tier::Mm, None).await;
    let m = market(&app, 3, "30").await;
    let mut body = buy_body(&m, 2, "4.5");
    body["metadata"] = json!({"strategy": "mean-revert", "b": "2"});
    let (status, placed) = trade(&app, &hooked.key, &body).await;
    assert_eq!(status, 201, "{placed}");
    let t = &placed["trade"];
    assert_eq!(t["amount"], "4.5");
    assert_eq!(t["metadata"], json!({"strategy": "mean-revert", "b": "2"}));
    assert_eq!(t["channel"], "api");
    assert!(t["txHash"].as_str().unwrap().len() == 66);
    assert_eq!(placed["data"], placed["trade"]);
    let delivery = &t["webhookDelivery"];
    assert!(
        delivery.is_object(),
        "a key with a webhook URL gets webhookDelivery: {t}"
    );
    assert!(["pending", "retrying", "delivered", "failed"]
        .contains(&delivery["status"].as_str().unwrap()));
    // The other key of the same owner has no URL: null there, yet it sees the trade.
    let (_, by_plain) = trade(&app, &plain.key, &buy_body(&m, 0, "1")).await;
    assert!(by_plain["trade"]["webhookDelivery"].is_null());
    let id = t["id"].as_str().unwrap();
    let got = get_json(&app, &plain.key, &format!("/v1/trades/{id}")).await;
    assert_eq!(got["trade"]["id"], id);
    // The outbox has the completed event with the documented data.
    let events = kash_store::webhooks::events_of_trade(app.svc.db.reader(), id)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "trade.completed");
    let envelope: serde_json::Value = serde_json::from_str(&events[0].body).unwrap();
    let data = &envelope["data"];
    for k in [
        "tradeId",
        "marketId",
        "outcomeIndex",
        "amount",
        "side",
        "metadata",
        "status",
        "txHash",
        "tokensOut",
    ] {
        assert!(data.get(k).is_some(), "event data lacks {k}: {data}");
    }
    assert_eq!(data["status"], "completed");
    assert_eq!(data["txHash"], t["txHash"]);
    // Another owner cannot see it.
    let (_, stranger) = trader(&app, "1").await;
    let resp = app.get(&format!("/v1/trades/{id}"), &stranger).await;
    expect_problem(resp, 404, "RESOURCE_NOT_FOUND").await;
    let resp = app.get("/v1/trades/not-a-uuid", &stranger).await;
    expect_problem(resp, 404, "RESOURCE_NOT_FOUND").await;
    let resp = app
        .get(
            &format!("/v1/traces/{}", t["correlationId"].as_str().unwrap()),
            &stranger,
        )
        .await;
    expect_problem(resp, 404, "RESOURCE_NOT_FOUND").await;
    // Listing, filters, pagination.
    let list = get_json(&app, &plain.key, "/v1/trades?limit=1").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["pagination"]["hasMore"], true);
    let cursor = list["pagination"]["cursor"].as_str().unwrap();
    let next = get_json(
        &app,
        &plain.key,
        &format!("/v1/trades?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(next["data"][0]["id"], id);
    assert_eq!(next["pagination"]["hasMore"], false);
    let resp = app
        .get(
            &format!("/v1/trades?limit=1&status=failed&cursor={cursor}"),
            &plain.key,
        )
        .await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let resp = app.get("/v1/trades?status=done", &plain.key).await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let only = get_json(
        &app,
        &plain.key,
        &format!("/v1/trades?status=completed&marketId={m}"),
    )
    .await;
    assert_eq!(only["data"].as_array().unwrap().len(), 2);
    let none = get_json(&app, &plain.key, "/v1/trades?status=failed,rejected").await;
    assert_eq!(none["data"], json!([]));
    // Predictions: newest first, no trader identity.
    let preds = get_json(&app, &plain.key, &format!("/v1/markets/{m}/predictions")).await;
    let p = &preds["data"][1];
    assert_eq!(p["id"], id);
    assert_eq!(p["usdcIn"], "4500000");
    assert_eq!(p["tokensOut"], t["tokensOut"]);
    assert_eq!(p["transactionHash"], t["txHash"]);
    assert!(p["blockNumber"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(p["probability"].as_str().unwrap().starts_with("0."));
    assert!(p.get("ownerId").is_none() && p.get("apiKeyId").is_none());
    let side = get_json(
        &app,
        &plain.key,
        &format!("/v1/markets/{m}/predictions?side=sell"),
    )
    .await;
    assert_eq!(side["data"], json!([]));
    let resp = app.get("/v1/markets/nope/predictions", &plain.key).await;
    expect_problem(resp, 404, "MARKET_NOT_FOUND").await;
    // The trace: accepted then executed, data keys from the allowed set only.
    let trace = get_json(
        &app,
        &plain.key,
        &format!("/v1/traces/{}", t["correlationId"].as_str().unwrap()),
    )
    .await;
    let events = trace["trace"]["events"].as_array().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        &types[..2],
        ["com.kash.trade.accepted.v1", "com.kash.trade.executed.v1"]
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequenceNumber"], i as u64 + 1);
        for k in e["data"].as_object().unwrap().keys() {
            assert!(
                [
                    "tradeId",
                    "marketId",
                    "outcomeIndex",
                    "side",
                    "amount",
                    "chainId",
                    "txHash",
                    "tokensOut",
                    "errorCode",
                    "errorMessage",
                    "reason"
                ]
                .contains(&k.as_str()),
                "trace data key {k}"
            );
        }
    }
    assert_eq!(events[1]["data"]["chainId"], 31337);
    assert_eq!(events[1]["data"]["txHash"], t["txHash"]);
    // Usage: the key's trades.
    let usage = get_json(&app, &hooked.key, "/v1/account/usage").await;
    let day = &usage["data"]["trades"]["24h"];
    assert_eq!(day["total"], 1);
    assert_eq!(day["completed"], 1);
    assert_eq!(day["failed"], 0);
    assert_eq!(day["successRate"], 1.0);
    assert!(day["latencyMs"]["p50"].is_u64());
    assert_eq!(usage["data"]["trades"]["30d"]["total"], 1);
}

async fn portfolio_settlement_and_cancellation(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(std::sync::Arc::new(|s| s.auto_redeem = false)),
            ..TestOptions::default()
        },
    )
    .await;
    let (_, key) = trader(&app, "100").await;
    let m = market(&app, 2, "20").await;
    let t = buy(&app, &key, &m, 0, "10").await;
    let shares: u128 = t["tokensOut"].as_str().unwrap().parse().unwrap();
    let pf = get_json(&app, &key, "/v1/portfolio").await;
    assert_eq!(pf["portfolio"]["usdcBalance"], "90000000");
    assert_eq!(pf["portfolio"]["activePositions"], 1);
    assert_eq!(pf["portfolio"]["totalCostBasisAtomic"], "10000000");
    assert_eq!(pf["portfolio"]["realizedPnlAtomic"], "0");
    assert!(
        pf["portfolio"]["smartAccountAddress"]
            .as_str()
            .unwrap()
            .len()
            == 42
    );
    let pos = get_json(&app, &key, "/v1/portfolio/positions").await;
    let p = &pos["data"][0];
    assert_eq!(p["shares"], t["tokensOut"]);
    assert_eq!(p["costBasisAtomic"], "10000000");
    assert_eq!(p["tradeCount"], 1);
    // The mark value is the sell quote for the whole holding: 9751995 (amm.md).
    assert_eq!(p["markValueAtomic"], "9751995");
    // Sell half: average cost leaves with the tokens.
    let half = shares / 2;
    let (status, sold) = trade(
        &app,
        &key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": half.to_string()}),
    )
    .await;
    assert_eq!(status, 201, "{sold}");
    let payout: i64 = sold["trade"]["usdcOut"].as_str().unwrap().parse().unwrap();
    let removed = (10_000_000u128 * half / shares) as i64;
    let pf = get_json(&app, &key, "/v1/portfolio").await;
    assert_eq!(
        pf["portfolio"]["totalCostBasisAtomic"],
        (10_000_000 - removed).to_string()
    );
    assert_eq!(
        pf["portfolio"]["realizedPnlAtomic"],
        (payout - removed).to_string()
    );
    // Not claimable before settlement, nor without a holding.
    let resp = post(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": m, "outcomeIndex": 0}),
    )
    .await;
    expect_problem(resp, 409, "POSITION_NOT_CLAIMABLE").await;
    // The grace-period cancellation: not before resolveAt + 72 h, never once resolved.
    let resp = post(&app, &key, &format!("/v1/markets/{m}/cancel"), &json!({})).await;
    expect_problem(resp, 409, "MARKET_NOT_CANCELLABLE").await;
    let mut spec = new_market(2, "20");
    spec.resolve_at = Some(app.now_ms() + 3_600_000);
    let m2 = markets::create(&app.svc, &spec, "test").await.unwrap().id;
    let t2 = buy(&app, &key, &m2, 1, "5").await;
    app.clock.advance(chrono::Duration::hours(72));
    let resp = post(&app, &key, &format!("/v1/markets/{m2}/cancel"), &json!({})).await;
    expect_problem(resp, 409, "MARKET_NOT_CANCELLABLE").await;
    app.clock.advance(chrono::Duration::hours(1));
    let resp = post(&app, &key, &format!("/v1/markets/{m2}/cancel"), &json!({})).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["market"]["status"], "ABANDONED");
    assert_eq!(body["market"]["phase"], "CANCELLED");
    let resp = post(&app, &key, &format!("/v1/markets/{m2}/cancel"), &json!({})).await;
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["_meta"]["idempotent"], true);
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m2, 0, "1")).await;
    expect_problem(resp, 409, "MARKET_NOT_TRADEABLE").await;
    // Refund of the cancelled holding at the snapshot price (under an Idempotency-Key).
    let claim = json!({"marketId": m2, "outcomeIndex": 1});
    let resp = post_with(&app, &key, "/v1/redemptions", &claim, "redeem-1").await;
    assert_eq!(resp.status(), 201);
    let replayed = post_with(&app, &key, "/v1/redemptions", &claim, "redeem-1").await;
    assert_eq!(replayed.status(), 200);
    let replayed: serde_json::Value = replayed.json().await.unwrap();
    assert_eq!(replayed["_meta"]["idempotent"], true);
    let other = post_with(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": m2, "outcomeIndex": 0}),
        "redeem-1",
    )
    .await;
    expect_problem(other, 409, "IDEMPOTENCY_KEY_CONFLICT").await;
    let red: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(red["redemption"]["kind"], "cancelled");
    assert_eq!(red["redemption"]["sharesWad"], t2["tokensOut"]);
    let again = post(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": m2, "outcomeIndex": 1}),
    )
    .await;
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["_meta"]["idempotent"], true);
    assert_eq!(replayed["redemption"]["id"], red["redemption"]["id"]);
    assert_eq!(again["redemption"]["id"], red["redemption"]["id"]);
    // Never held: not claimable.
    let resp = post(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": m2, "outcomeIndex": 0}),
    )
    .await;
    expect_problem(resp, 409, "POSITION_NOT_CLAIMABLE").await;
    // Resolve the first market: winner claims, loser gets 0 with 201.
    markets::resolve(&app.svc, &m, &[1], "test").await.unwrap();
    let resp = post(&app, &key, &format!("/v1/markets/{m}/cancel"), &json!({})).await;
    expect_problem(resp, 409, "MARKET_NOT_CANCELLABLE").await;
    let resp = post(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": m, "outcomeIndex": 0}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let lost: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(lost["redemption"]["payoutUsdc"], "0");
    let got = get_json(&app, &key, &format!("/v1/markets/{m}")).await;
    assert_eq!(got["market"]["status"], "RESOLVED");
    assert_eq!(got["market"]["resolvedOutcomeIndex"], 1);
    assert_eq!(got["market"]["winningOutcomes"], json!([1]));
    let resp = post(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": "x", "outcomeIndex": 0}),
    )
    .await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    assert_ledger_balanced(&app).await;
}

async fn automatic_settlement_pays_everyone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, a) = trader(&app, "100").await;
    let (_, b) = trader(&app, "100").await;
    let m = market(&app, 3, "30").await;
    buy(&app, &a, &m, 0, "10").await;
    buy(&app, &b, &m, 0, "5").await;
    buy(&app, &b, &m, 2, "7").await;
    markets::resolve(&app.svc, &m, &[0], "test").await.unwrap();
    let settled = kash_testkit::eventually(std::time::Duration::from_secs(10), || async {
        kash_store::markets::get(app.svc.db.reader(), &m)
            .await
            .unwrap()
            .unwrap()
            .settled_at
            .is_some()
    })
    .await;
    assert!(settled, "the automatic run did not settle the market");
    // The last claimer swept the balance: the market holds nothing.
    let rec = kash_store::markets::get(app.svc.db.reader(), &m)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.balance_atomic, 0);
    let resp = post(
        &app,
        &a,
        "/v1/redemptions",
        &json!({"marketId": m, "outcomeIndex": 0}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["_meta"]["idempotent"], true);
    assert_eq!(body["redemption"]["automatic"], true);
    assert!(balance(&app, &a).await > 90_000_000);
    assert_ledger_balanced(&app).await;
}

async fn organization_markets_accrue_revenue_share(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    fund(&app, &Owner::Org(org.clone()), "50").await;
    let mut spec = new_market(2, "20");
    spec.organization_id = Some(org.clone());
    let m = markets::create(&app.svc, &spec, "test").await.unwrap().id;
    let (_, key) = trader(&app, "1000").await;
    let t = buy(&app, &key, &m, 0, "100").await;
    assert_eq!(t["protocolFee"], "1000000");
    let tid = t["id"].as_str().unwrap();
    let acc = kash_store::accruals::of_trade(app.svc.db.reader(), tid)
        .await
        .unwrap();
    assert_eq!(acc.len(), 1);
    assert_eq!(acc[0].fee_atomic, 1_000_000);
    assert_eq!(acc[0].share_bps, 5000);
    assert_eq!(acc[0].share_atomic, 500_000);
    assert_eq!(acc[0].organization_id, org);
    // Through an embed channel: identical accrual.
    let mut body = buy_body(&m, 0, "100");
    body["channel"] = json!("embed");
    let (_, t2) = trade(&app, &key, &body).await;
    let acc2 =
        kash_store::accruals::of_trade(app.svc.db.reader(), t2["trade"]["id"].as_str().unwrap())
            .await
            .unwrap();
    assert_eq!(acc2[0].share_atomic, 500_000);
    assert_eq!(acc2[0].channel, "embed");
    // A sell accrues mulDiv(F, 5000, 10000) of its own fee.
    let (status, sold) = trade(
        &app,
        &key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "33.333333"}),
    )
    .await;
    assert_eq!(status, 201, "{sold}");
    let fee: i64 = sold["trade"]["protocolFee"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let acc3 =
        kash_store::accruals::of_trade(app.svc.db.reader(), sold["trade"]["id"].as_str().unwrap())
            .await
            .unwrap();
    assert_eq!(acc3[0].share_atomic, fee * 5000 / 10000);
    // An operator market accrues nothing.
    let op = market(&app, 2, "20").await;
    let t4 = buy(&app, &key, &op, 0, "100").await;
    assert!(
        kash_store::accruals::of_trade(app.svc.db.reader(), t4["id"].as_str().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    // The org paid the seed from its balance.
    let org_acct = kash_store::ledger::account_id(app.svc.db.reader(), "org", &org)
        .await
        .unwrap()
        .unwrap();
    let org_bal = kash_store::ledger::get_account(app.svc.db.reader(), &org_acct)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org_bal.balance_atomic, 30_000_000);
    let got = get_json(&app, &key, &format!("/v1/markets/{m}")).await;
    assert_eq!(got["market"]["organizationId"], org);
    assert_ledger_balanced(&app).await;
}

async fn markets_listing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "10").await;
    let a = market(&app, 2, "20").await;
    let b = market(&app, 8, "40").await;
    let c = market(&app, 4, "20").await;
    markets::freeze(&app.svc, &b, "test").await.unwrap();
    markets::cancel(&app.svc, &c, false, "test").await.unwrap();
    let all = get_json(&app, &key, "/v1/markets").await;
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let m8 = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == b)
        .unwrap();
    assert_eq!(m8["outcomeCount"], 8);
    assert_eq!(m8["outcomes"][7]["index"], 7);
    assert_eq!(m8["outcomes"][7]["probability"], json!(0.125));
    assert_eq!(m8["chainId"], 31337);
    assert!(m8["contractAddress"].as_str().unwrap().starts_with("0x"));
    let active = get_json(&app, &key, "/v1/markets?status=active").await;
    assert_eq!(
        active["data"].as_array().unwrap().len(),
        2,
        "ACTIVE includes frozen"
    );
    let frozen = get_json(&app, &key, "/v1/markets?status=FROZEN").await;
    assert_eq!(frozen["data"][0]["id"], b);
    assert_eq!(frozen["data"][0]["status"], "ACTIVE");
    assert_eq!(frozen["data"][0]["tradeable"], false);
    let gone = get_json(&app, &key, "/v1/markets?status=ABANDONED").await;
    assert_eq!(gone["data"][0]["id"], c);
    let mixed = get_json(&app, &key, "/v1/markets?status=CANCELLED,unseeded&limit=1").await;
    assert_eq!(mixed["data"].as_array().unwrap().len(), 1);
    let resp = app.get("/v1/markets?status=open", &key).await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let resp = app.get("/v1/markets?limit=0", &key).await;
    expect_problem(resp, 400, "VALIDATION_FAILED").await;
    let page = get_json(&app, &key, "/v1/markets?limit=2").await;
    assert_eq!(page["pagination"]["hasMore"], true);
    let cursor = page["pagination"]["cursor"].as_str().unwrap();
    let rest = get_json(&app, &key, &format!("/v1/markets?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    // Newest first, ties broken by id: the pages continue the full listing.
    assert_eq!(rest["data"][0]["id"], all["data"][2]["id"]);
    assert_eq!(page["data"][0]["id"], all["data"][0]["id"]);
    assert!(ids.contains(&a.as_str()));
    let resp = app.get("/v1/markets/not-a-uuid", &key).await;
    expect_problem(resp, 404, "MARKET_NOT_FOUND").await;
    let resp = app.get("/v1/markets/7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10/quote?outcomeIndex=0&action=buy&amount=1", &key).await;
    expect_problem(resp, 404, "MARKET_NOT_FOUND").await;
    // Quote validation and state errors.
    for q in [
        "outcomeIndex=0&action=buy&amount=1e3",
        "outcomeIndex=0&action=hold&amount=1",
        "action=buy&amount=1",
        "outcomeIndex=0&action=buy&amount=0",
    ] {
        let resp = app.get(&format!("/v1/markets/{a}/quote?{q}"), &key).await;
        expect_problem(resp, 400, "VALIDATION_FAILED").await;
    }
    let resp = app
        .get(
            &format!("/v1/markets/{a}/quote?outcomeIndex=2&action=buy&amount=1"),
            &key,
        )
        .await;
    expect_problem(resp, 400, "OUTCOME_INDEX_INVALID").await;
    let resp = app
        .get(
            &format!("/v1/markets/{b}/quote?outcomeIndex=0&action=buy&amount=1"),
            &key,
        )
        .await;
    expect_problem(resp, 409, "MARKET_NOT_TRADEABLE").await;
    let resp = app
        .get(
            &format!("/v1/markets/{a}/quote?outcomeIndex=0&action=buy&amount=1000000"),
            &key,
        )
        .await;
    assert_eq!(
        resp.headers().get("cache-control").unwrap(),
        "public, max-age=10"
    );
    let q: serde_json::Value = resp.json().await.unwrap();
    assert!(q["quote"]["effectivePrice"].as_f64().unwrap() > 0.0);
    // ETags: a matching If-None-Match is 304.
    let resp = app.get(&format!("/v1/markets/{a}"), &key).await;
    let tag = resp
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let resp = app
        .http
        .get(app.url(&format!("/v1/markets/{a}")))
        .header("X-API-Key", &key)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
}

backend_tests!(
    idempotency_keys_and_client_request_ids,
    events_listings_traces_and_usage,
    portfolio_settlement_and_cancellation,
    automatic_settlement_pays_everyone,
    organization_markets_accrue_revenue_share,
    markets_listing
);
