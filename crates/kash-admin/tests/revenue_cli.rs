//! Revenue share after accrual (`organizations-embeds-portal.md` §2, §3, §7), through the real
//! HTTP server and the real `kash-admin` binary: volume brackets applied per trade under the
//! organization's lock, the settlement hold and job (`orgs settle`, the hourly worker, several
//! runs at once), payouts (`orgs payout`), the revenue-events ledger, the new ledger-check
//! invariants, and `GET /v1/organizations/me/earnings|revenue-events`.
//!
//! The CLI runs on the wall clock while the server runs on the test's injected clock, so the
//! tests that settle through the CLI place their held trades with the server's clock moved
//! back (`app.clock.advance(-8 days)`) and then restore it.

use chrono::Duration;
use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::trading::accounts::{move_funds, Holder};
use kash_service::trading::markets::{self, NewMarket};
use kash_store::revenue_events;
use kash_testkit::{backend_tests, expect_problem, Backend, CliOutput, Role, TestApp, TestOptions};
use serde_json::{json, Value};

const ADMIN: &str = env!("CARGO_BIN_EXE_kash-admin");

async fn admin(app: &TestApp, args: &[&str]) -> CliOutput {
    app.run_cli(ADMIN, args).await
}

async fn ok_json(app: &TestApp, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    admin(app, &all).await.ok().json()
}

fn usdc(text: &str) -> Usdc {
    Usdc::parse_human(text).unwrap()
}

async fn fund(app: &TestApp, owner: Owner, amount: &str) {
    move_funds(&app.svc, &Holder::Owner(owner), usdc(amount), true, "test")
        .await
        .unwrap();
}

/// A funded trader's key.
async fn trader(app: &TestApp, email: &str, amount: &str) -> String {
    let user = app.user(email).await;
    fund(app, Owner::User(user.clone()), amount).await;
    app.key_with(Owner::User(user), Tier::Mm, None).await.key
}

/// A market of `org` (seed 20 USDC from its balance; protocol fee 1 %).
async fn org_market(app: &TestApp, org: &str) -> String {
    markets::create(
        &app.svc,
        &NewMarket {
            title: "Will it rain?".into(),
            description: None,
            image_url: None,
            outcomes: vec!["Yes".into(), "No".into()],
            organization_id: Some(org.to_string()),
            seed: usdc("20"),
            freeze_at: None,
            resolve_at: None,
            fee_bps: 100,
            sell_fee_bps: 50,
            fields: Default::default(),
        },
        "test",
    )
    .await
    .unwrap()
    .id
}

async fn trade(app: &TestApp, key: &str, body: Value) -> Value {
    let resp = app
        .http
        .post(app.url("/v1/trades"))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    v["trade"].clone()
}

async fn buy(app: &TestApp, key: &str, market: &str, amount: &str) -> Value {
    trade(
        app,
        key,
        json!({"marketId": market, "outcomeIndex": 0, "side": "buy", "amount": amount}),
    )
    .await
}

async fn accrual(app: &TestApp, trade: &Value) -> kash_store::accruals::AccrualRecord {
    let rows = kash_store::accruals::of_trade(app.svc.db.reader(), trade["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    rows[0].clone()
}

async fn assert_ledger_balanced(app: &TestApp) {
    let report = kash_service::trading::check::run(&app.svc).await.unwrap();
    assert!(report.balanced(), "{:#?}", report.violations);
    // And the operator's command agrees.
    let out = admin(app, &["ledger", "check", "--json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
}

async fn events(
    app: &TestApp,
    org: &str,
    kind: Option<&str>,
) -> Vec<revenue_events::RevenueEventRecord> {
    revenue_events::list(app.svc.db.reader(), org, kind, None, 1000)
        .await
        .unwrap()
}

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    let resp = app.get(path, key).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.unwrap()
}

fn share(fee: i64, bps: i64) -> i64 {
    fee * bps / 10_000
}

async fn brackets_pick_each_trades_rate_deterministically(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    let out = ok_json(
        &app,
        &[
            "orgs",
            "set-revenue-share",
            "--org",
            &org,
            "--bps",
            "5000",
            "--brackets",
            "0:3000,100:4000",
        ],
    )
    .await;
    assert_eq!(out["revenueShareBps"], 5000);
    fund(&app, Owner::Org(org.clone()), "100").await;
    let m = org_market(&app, &org).await;
    let key = trader(&app, "t@test.example", "10000").await;
    // 30-day volume before each buy: 0, 40, 80, then 120 ≥ 100.
    let mut rates = Vec::new();
    for _ in 0..4 {
        let t = buy(&app, &key, &m, "40").await;
        let a = accrual(&app, &t).await;
        assert_eq!(a.volume_atomic, 40_000_000);
        assert_eq!(a.share_atomic, share(a.fee_atomic, a.share_bps));
        rates.push(a.share_bps);
    }
    assert_eq!(rates, vec![3000, 3000, 3000, 4000]);
    // A sell counts its payout as volume and is charged at the current bracket.
    let sold = trade(
        &app,
        &key,
        json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "10"}),
    )
    .await;
    let a = accrual(&app, &sold).await;
    assert_eq!(a.share_bps, 4000);
    assert!(a.volume_atomic > 0);
    assert_eq!(a.share_atomic, share(a.fee_atomic, 4000));
    // Earnings report the rate of the next trade.
    let org_key = app
        .key_with(Owner::Org(org.clone()), Tier::Free, None)
        .await
        .key;
    let e = get(&app, &org_key, "/v1/organizations/me/earnings").await;
    assert_eq!(e["earnings"]["shareBps"], 4000);
    // Volume older than 30 days no longer counts.
    app.clock.advance(Duration::days(31));
    let t = buy(&app, &key, &m, "40").await;
    assert_eq!(accrual(&app, &t).await.share_bps, 3000);
    app.clock.advance(Duration::days(-31));

    // Concurrent trades: whatever the order, exactly the trades whose preceding volume is
    // below the threshold get the lower rate (0, 30, 60, 90 → 4 of 10).
    let other = app.org("other").await;
    kash_service::orgs::set_revenue_share(
        &app.svc,
        &other,
        5000,
        &kash_service::orgs::BracketsChange::Set("0:3000,100:4000".into()),
        "test",
    )
    .await
    .unwrap();
    fund(&app, Owner::Org(other.clone()), "100").await;
    let m1 = org_market(&app, &other).await;
    let m2 = org_market(&app, &other).await;
    let mut keys = Vec::new();
    for i in 0..10 {
        keys.push(trader(&app, &format!("c{i}@test.example"), "100").await);
    }
    let trades = futures_join(&app, &keys, &[m1.clone(), m2.clone()]).await;
    let mut low = 0;
    let mut high = 0;
    for t in &trades {
        match accrual(&app, t).await.share_bps {
            3000 => low += 1,
            4000 => high += 1,
            other => panic!("unexpected rate {other}"),
        }
    }
    assert_eq!((low, high), (4, 6));
    assert_ledger_balanced(&app).await;
}

/// Ten 30-USDC buys at once, alternating between two markets of one organization.
async fn futures_join(app: &TestApp, keys: &[String], markets: &[String]) -> Vec<Value> {
    let mut handles = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let http = app.http.clone();
        let url = app.url("/v1/trades");
        let key = key.clone();
        let m = markets[i % markets.len()].clone();
        handles.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("X-API-Key", key)
                .json(&json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "30"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            let v: Value = resp.json().await.unwrap();
            v["trade"].clone()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn settlement_payouts_and_revenue_events(backend: Backend) {
    // No worker: only the command settles here.
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            role: Some(Role::Api),
            ..TestOptions::default()
        },
    )
    .await;
    app.clock.advance(Duration::days(-8));
    let org = app.org("acme").await;
    fund(&app, Owner::Org(org.clone()), "50").await;
    let m = org_market(&app, &org).await;
    let key = trader(&app, "t@test.example", "1000").await;
    let held = buy(&app, &key, &m, "100").await;
    assert_eq!(held["protocolFee"], "1000000");
    app.clock.advance(Duration::days(8));
    // A fresh accrual stays in the hold.
    let fresh = buy(&app, &key, &m, "100").await;
    let fresh_share = accrual(&app, &fresh).await.share_atomic;
    let org_key = app
        .key_with(Owner::Org(org.clone()), Tier::Free, None)
        .await
        .key;
    let e = get(&app, &org_key, "/v1/organizations/me/earnings").await;
    assert_eq!(
        e["earnings"],
        json!({"accruedUsdc": (500_000 + fresh_share).to_string(), "payableUsdc": "0",
               "paidUsdc": "0", "shareBps": 5000, "holdDays": 7})
    );

    let out = ok_json(&app, &["orgs", "settle"]).await;
    let settled = out["settled"].as_array().unwrap();
    assert_eq!(settled.len(), 1, "{out}");
    assert_eq!(settled[0]["organizationId"], org.as_str());
    assert_eq!(settled[0]["amountUsdc"], "500000");
    assert_eq!(settled[0]["accruals"], 1);
    // Running it again changes nothing.
    assert_eq!(
        ok_json(&app, &["orgs", "settle"]).await["settled"],
        json!([])
    );
    assert_eq!(
        ok_json(&app, &["orgs", "settle", "--org", &org]).await["settled"],
        json!([])
    );
    let evs = events(&app, &org, Some("revenue_share_settled")).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(
        (evs[0].amount_atomic, evs[0].balance_after_atomic),
        (500_000, 500_000)
    );
    assert!(accrual(&app, &held).await.settled_at.is_some());
    assert!(accrual(&app, &fresh).await.settled_at.is_none());
    assert_ledger_balanced(&app).await;

    // Payouts: part, then the rest; nothing more; never more than payable.
    let out = ok_json(&app, &["orgs", "payout", "--org", &org, "--usdc", "0.2"]).await;
    assert_eq!(out["amountUsdc"], "200000");
    assert_eq!(out["payableUsdc"], "300000");
    let balance_before: i64 = out["balanceUsdc"].as_str().unwrap().parse().unwrap();
    assert_eq!(balance_before, 30_000_000 + 200_000);
    let out = admin(
        &app,
        &["orgs", "payout", "--org", &org, "--usdc", "1", "--json"],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["error"]["code"], "INSUFFICIENT_BALANCE");
    let out = ok_json(&app, &["orgs", "payout", "--org", &org]).await;
    assert_eq!(out["amountUsdc"], "300000");
    assert_eq!(out["balanceUsdc"], "30500000");
    let out = admin(&app, &["orgs", "payout", "--org", &org, "--json"]).await;
    assert_eq!(out.code, 2, "nothing is payable: {out:?}");
    assert_eq!(out.json()["error"]["code"], "VALIDATION_FAILED");
    let out = admin(&app, &["orgs", "payout", "--org", &org, "--usdc", "abc"]).await;
    assert_eq!(out.code, 2);
    let e = get(&app, &org_key, "/v1/organizations/me/earnings").await;
    assert_eq!(e["earnings"]["accruedUsdc"], fresh_share.to_string());
    assert_eq!(e["earnings"]["payableUsdc"], "0");
    assert_eq!(e["earnings"]["paidUsdc"], "500000");
    // The operator records the off-platform transfer: a withdrawal event.
    ok_json(&app, &["accounts", "debit", "--org", &org, "--usdc", "0.5"]).await;
    assert_ledger_balanced(&app).await;

    // The revenue-events ledger, newest first, with kinds, signs and balances.
    let body = get(
        &app,
        &org_key,
        "/v1/organizations/me/revenue-events?limit=100",
    )
    .await;
    let kinds: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "withdrawal",
            "payout",
            "payout",
            "revenue_share_settled",
            "market_creation_fee",
            "deposit"
        ]
    );
    let d = &body["data"];
    assert_eq!(d[0]["amountUsdc"], "-500000");
    assert_eq!(d[0]["balanceAfterUsdc"], "30000000");
    assert_eq!(d[1]["amountUsdc"], "300000");
    assert_eq!(d[1]["balanceAfterUsdc"], "30500000");
    assert_eq!(d[3]["account"], "payable");
    assert_eq!(d[4]["amountUsdc"], "-20000000");
    assert_eq!(d[4]["balanceAfterUsdc"], "30000000");
    assert_eq!(d[4]["referenceId"], m.as_str());
    assert_eq!(d[5]["amountUsdc"], "50000000");
    assert!(d[0]["occurredAt"].as_str().unwrap().ends_with('Z'));
    assert!(d[0]["id"].is_string());
    // Cursor pagination walks the same list.
    let mut seen = Vec::new();
    let mut path = "/v1/organizations/me/revenue-events?limit=4".to_string();
    loop {
        let page = get(&app, &org_key, &path).await;
        for e in page["data"].as_array().unwrap() {
            seen.push(e["id"].clone());
        }
        assert!(page["data"].as_array().unwrap().len() <= 4);
        match page["pagination"]["cursor"].as_str() {
            Some(c) => {
                assert_eq!(page["pagination"]["hasMore"], true);
                path = format!("/v1/organizations/me/revenue-events?limit=4&cursor={c}");
            }
            None => break,
        }
    }
    let all: Vec<Value> = d
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(seen, all);
    let payouts = get(
        &app,
        &org_key,
        "/v1/organizations/me/revenue-events?kind=payout",
    )
    .await;
    assert_eq!(payouts["data"].as_array().unwrap().len(), 2);
    for bad in ["kind=bonus", "limit=0", "limit=x", "cursor=garbage"] {
        let resp = app
            .get(
                &format!("/v1/organizations/me/revenue-events?{bad}"),
                &org_key,
            )
            .await;
        assert_eq!(resp.status(), 400, "{bad}");
    }
    // A user's key: neither route exists for it.
    let user_key = trader(&app, "u@test.example", "1").await;
    for path in [
        "/v1/organizations/me/earnings",
        "/v1/organizations/me/revenue-events",
    ] {
        expect_problem(app.get(path, &user_key).await, 404, "RESOURCE_NOT_FOUND").await;
    }
    // Both are in the OpenAPI document.
    let doc: Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/organizations/me/earnings",
        "/v1/organizations/me/revenue-events",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    // Unknown organization.
    let out = admin(
        &app,
        &[
            "orgs",
            "settle",
            "--org",
            "8f14e45f-ceea-467f-a0d2-000000000000",
        ],
    )
    .await;
    assert_ne!(out.code, 0);
}

async fn concurrent_settlement_runs_move_each_accrual_once(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            role: Some(Role::Api),
            ..TestOptions::default()
        },
    )
    .await;
    let second = app.another_instance().await;
    let key = trader(&app, "t@test.example", "10000").await;
    let mut orgs = Vec::new();
    let mut total = std::collections::HashMap::new();
    for slug in ["one", "two", "three"] {
        let org = app.org(slug).await;
        fund(&app, Owner::Org(org.clone()), "25").await;
        let m = org_market(&app, &org).await;
        for amount in ["10", "25", "7.5"] {
            let t = buy(&app, &key, &m, amount).await;
            *total.entry(org.clone()).or_insert(0i64) += accrual(&app, &t).await.share_atomic;
        }
        orgs.push(org);
    }
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let (a, b, c) = tokio::join!(
        kash_service::revenue::settle(&app.svc, None),
        kash_service::revenue::settle(&second.svc, None),
        kash_service::revenue::settle(&app.svc, None),
    );
    let runs = [a.unwrap(), b.unwrap(), c.unwrap()];
    let moved: usize = runs.iter().map(Vec::len).sum();
    assert_eq!(
        moved, 3,
        "each organization settled by exactly one run: {runs:?}"
    );
    for org in &orgs {
        let evs = events(&app, org, Some("revenue_share_settled")).await;
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].amount_atomic, total[org]);
        let e = kash_service::revenue::earnings(
            &app.svc,
            &kash_store::orgs::get(app.svc.db.reader(), org)
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!((e.accrued_atomic, e.payable_atomic), (0, total[org]));
    }
    assert!(kash_service::revenue::settle(&app.svc, None)
        .await
        .unwrap()
        .is_empty());
    assert_ledger_balanced(&app).await;
}

async fn the_worker_settles_hourly_by_the_injected_clock(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    fund(&app, Owner::Org(org.clone()), "25").await;
    let m = org_market(&app, &org).await;
    let key = trader(&app, "t@test.example", "1000").await;
    let t = buy(&app, &key, &m, "100").await;
    // Inside the hold: the worker's runs move nothing.
    app.clock.advance(Duration::days(6));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(accrual(&app, &t).await.settled_at.is_none());
    assert!(events(&app, &org, None)
        .await
        .iter()
        .all(|e| e.kind != "revenue_share_settled"));
    // Past the hold and an hour after its last run, the worker settles it.
    app.clock.advance(Duration::days(1) + Duration::hours(2));
    let done = kash_testkit::eventually(std::time::Duration::from_secs(10), || async {
        accrual(&app, &t).await.settled_at.is_some()
    })
    .await;
    assert!(done, "the worker did not settle");
    app.clock.advance(Duration::hours(3));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let evs = events(&app, &org, Some("revenue_share_settled")).await;
    assert_eq!(evs.len(), 1, "no events for runs that move nothing");
    assert_eq!(evs[0].amount_atomic, 500_000);
    assert_ledger_balanced(&app).await;
}

async fn org_money_movements_are_revenue_events(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            role: Some(Role::Api),
            ..TestOptions::default()
        },
    )
    .await;
    let org = app.org("acme").await;
    ok_json(
        &app,
        &["accounts", "credit", "--org", &org, "--usdc", "100"],
    )
    .await;
    let m = org_market(&app, &org).await;
    // The organization trades in its own market with its own key: the fee is a trading_fee.
    let org_key = app
        .key_with(Owner::Org(org.clone()), Tier::Mm, None)
        .await
        .key;
    let t = buy(&app, &org_key, &m, "10").await;
    assert_eq!(t["protocolFee"], "100000");
    let fees = events(&app, &org, Some("trading_fee")).await;
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0].amount_atomic, -100_000);
    assert_eq!(
        fees[0].balance_after_atomic,
        100_000_000 - 20_000_000 - 10_000_000
    );
    assert_eq!(fees[0].reference_id.as_deref(), t["id"].as_str());
    // Resolution: its winning holdings (genesis leg and bought tokens) are redeemed.
    markets::resolve(&app.svc, &m, &[0], "test").await.unwrap();
    kash_service::trading::settle::settle_market(&app.svc, &m)
        .await
        .unwrap();
    let red = events(&app, &org, Some("redemption")).await;
    assert_eq!(red.len(), 1, "{red:?}");
    assert!(red[0].amount_atomic > 0);
    assert_eq!(red[0].reference_id.as_deref(), Some(m.as_str()));
    // Cancellation: its legs are refunded.
    let m2 = org_market(&app, &org).await;
    markets::cancel(&app.svc, &m2, false, "test").await.unwrap();
    kash_service::trading::settle::settle_market(&app.svc, &m2)
        .await
        .unwrap();
    let refunds = events(&app, &org, Some("refund")).await;
    assert!(!refunds.is_empty());
    assert!(refunds
        .iter()
        .all(|r| r.amount_atomic > 0 && r.reference_id.as_deref() == Some(m2.as_str())));
    // Every event's balance is the org's balance right after it: the last one is the balance.
    let all = events(&app, &org, None).await;
    let balance =
        kash_store::ledger::account_id(app.svc.db.reader(), kash_store::ledger::kind::ORG, &org)
            .await
            .unwrap()
            .unwrap();
    let bal = kash_store::ledger::get_account(app.svc.db.reader(), &balance)
        .await
        .unwrap()
        .unwrap()
        .balance_atomic;
    assert_eq!(all[0].balance_after_atomic, bal);
    assert_ledger_balanced(&app).await;
}

/// Trades by the organization's own key (its USDC account is the holder) in its markets, while
/// settlement (no hold) and payouts run: the lock order (organization, then accounts) holds,
/// so PostgreSQL never deadlocks and every operation succeeds.
async fn settlement_and_payouts_run_alongside_trades(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            role: Some(Role::Api),
            tweak: Some(std::sync::Arc::new(
                |s: &mut kash_service::config::Settings| {
                    s.revenue_hold_days = 0;
                },
            )),
            ..TestOptions::default()
        },
    )
    .await;
    let org = app.org("acme").await;
    fund(&app, Owner::Org(org.clone()), "1000").await;
    let markets = [org_market(&app, &org).await, org_market(&app, &org).await];
    let org_key = app
        .key_with(Owner::Org(org.clone()), Tier::Mm, None)
        .await
        .key;
    let user_key = trader(&app, "t@test.example", "1000").await;
    let mut handles = Vec::new();
    for i in 0..24 {
        let http = app.http.clone();
        let url = app.url("/v1/trades");
        let key = if i % 2 == 0 {
            org_key.clone()
        } else {
            user_key.clone()
        };
        let m = markets[i % 2].clone();
        handles.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("X-API-Key", key)
                .json(&json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "5"}))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    let svc = app.svc.clone();
    let org2 = org.clone();
    let ops = tokio::spawn(async move {
        for _ in 0..15 {
            kash_service::revenue::settle(&svc, Some(&org2))
                .await
                .unwrap();
            match kash_service::revenue::payout(&svc, &org2, None, "test").await {
                Ok(_) => {}
                Err(kash_service::ServiceError::Problem(p)) => {
                    assert_eq!(p.code.status(), 400, "{p:?}")
                }
                Err(e) => panic!("payout failed: {e}"),
            }
        }
    });
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    ops.await.unwrap();
    kash_service::revenue::settle(&app.svc, None).await.unwrap();
    let rec = kash_store::orgs::get(app.svc.db.reader(), &org)
        .await
        .unwrap()
        .unwrap();
    let e = kash_service::revenue::earnings(&app.svc, &rec)
        .await
        .unwrap();
    assert_eq!(e.accrued_atomic, 0);
    assert_eq!(events(&app, &org, Some("trading_fee")).await.len(), 12);
    assert_ledger_balanced(&app).await;
}

backend_tests!(
    settlement_and_payouts_run_alongside_trades,
    org_money_movements_are_revenue_events,
    brackets_pick_each_trades_rate_deterministically,
    settlement_payouts_and_revenue_events,
    concurrent_settlement_runs_move_each_accrual_once,
    the_worker_settles_hourly_by_the_injected_clock,
);
