//! Every validation and domain error of `POST /v1/trades`, with its exact code and status, and
//! that none of them creates a trade.

mod market_kit;

use kash_core::tier::Tier;
use kash_service::keys::LimitOverrides;
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp};
use market_kit::*;
use serde_json::{json, Value};

async fn no_trades(app: &TestApp, key: &str) {
    let list = get_json(app, key, "/v1/trades").await;
    assert_eq!(list["data"], json!([]), "a refused request created a trade");
}

async fn malformed_bodies_name_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "100").await;
    let m = market(&app, 2, "20").await;
    let cases: Vec<(Value, &str)> = vec![
        (buy_body(&m, 0, "1e3"), "amount"),
        (buy_body(&m, 0, "-1"), "amount"),
        (buy_body(&m, 0, "0.0000001"), "amount"),
        (buy_body(&m, 0, ""), "amount"),
        (buy_body(&m, 0, "0"), "amount"),
        (buy_body(&m, 0, " 1"), "amount"),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": 10}),
            "amount",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": 10.5}),
            "amount",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy"}),
            "amount",
        ),
        (
            json!({"marketId": m, "outcomeIndex": "0", "side": "buy", "amount": "1"}),
            "outcomeIndex",
        ),
        (
            json!({"marketId": m, "outcomeIndex": -1, "side": "buy", "amount": "1"}),
            "outcomeIndex",
        ),
        (
            json!({"marketId": m, "side": "buy", "amount": "1"}),
            "outcomeIndex",
        ),
        (
            json!({"marketId": "nope", "outcomeIndex": 0, "side": "buy", "amount": "1"}),
            "marketId",
        ),
        (
            json!({"outcomeIndex": 0, "side": "buy", "amount": "1"}),
            "marketId",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "hold", "amount": "1"}),
            "side",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "tokens": "5"}),
            "tokens",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "1", "tokens": "5"}),
            "amount",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "sell"}),
            "amount",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": "1e3"}),
            "tokens",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": 5}),
            "tokens",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "closePosition": "yes"}),
            "closePosition",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "channel": "tv"}),
            "channel",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "clientRequestId": "a b"}),
            "clientRequestId",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "clientRequestId": "x".repeat(129)}),
            "clientRequestId",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "metadata": {"k": 1}}),
            "metadata.k",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "metadata": {"bad key": "v"}}),
            "metadata.bad key",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1", "metadata": {"k": "v".repeat(501)}}),
            "metadata.k",
        ),
        (
            json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "1",
            "metadata": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
            "metadata",
        ),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let resp = post(&app, &key, "/v1/trades", &body).await;
        let problem = expect_problem(resp, 400, "VALIDATION_FAILED").await;
        let issues = problem["issues"].as_array().cloned().unwrap_or_default();
        assert!(
            issues.iter().any(|i| i["path"] == field),
            "{body}: no issue for {field}: {problem}"
        );
    }
    // Malformed JSON and an empty body.
    for raw in ["{\"marketId\":", ""] {
        let resp = app
            .http
            .post(app.url("/v1/trades"))
            .header("X-API-Key", &key)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        expect_problem(resp, 400, "VALIDATION_FAILED").await;
    }
    // Unknown fields are ignored.
    let mut ok = buy_body(&m, 0, "1");
    ok["unexpected"] = json!({"anything": [1, 2]});
    let (status, _) = trade(&app, &key, &ok).await;
    assert_eq!(status, 201);
}

async fn domain_errors_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "100").await;
    let m = market(&app, 2, "20").await;

    // Unknown market (well-formed id).
    let resp = post(
        &app,
        &key,
        "/v1/trades",
        &buy_body("7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10", 0, "1"),
    )
    .await;
    expect_problem(resp, 404, "MARKET_NOT_FOUND").await;
    // Outcome index past the count.
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m, 2, "1")).await;
    expect_problem(resp, 400, "OUTCOME_INDEX_INVALID").await;
    // Platform ceiling (default 1,000,000 USDC), and an amount past any integer range.
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m, 0, "1000000.000001")).await;
    expect_problem(resp, 400, "AMOUNT_TOO_LARGE").await;
    let resp = post(
        &app,
        &key,
        "/v1/trades",
        &buy_body(&m, 0, "99999999999999999999999"),
    )
    .await;
    expect_problem(resp, 400, "AMOUNT_TOO_LARGE").await;
    let resp = post(
        &app,
        &key,
        "/v1/trades",
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": "9".repeat(78)}),
    )
    .await;
    expect_problem(resp, 400, "AMOUNT_TOO_LARGE").await;
    // Balance (mm caps are far above 100 USDC).
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m, 0, "100.000001")).await;
    let p = expect_problem(resp, 409, "INSUFFICIENT_BALANCE").await;
    assert!(p["detail"].as_str().unwrap().contains("100"));
    // Position: sells without a holding, by amount, tokens and close.
    for body in [
        json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "1"}),
        json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": "1000"}),
        json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "closePosition": true}),
    ] {
        let resp = post(&app, &key, "/v1/trades", &body).await;
        expect_problem(resp, 409, "INSUFFICIENT_POSITION").await;
    }
    no_trades(&app, &key).await;
    // Selling more tokens than held.
    let t = buy(&app, &key, &m, 0, "5").await;
    let held: u128 = t["tokensOut"].as_str().unwrap().parse().unwrap();
    let resp = post(&app, &key, "/v1/trades",
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": (held + 1).to_string()})).await;
    expect_problem(resp, 409, "INSUFFICIENT_POSITION").await;
    // A sell target the holding cannot reach.
    let resp = post(
        &app,
        &key,
        "/v1/trades",
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "5"}),
    )
    .await;
    expect_problem(resp, 409, "INSUFFICIENT_POSITION").await;

    // Frozen by the operator; and past freezeAt before any worker ran.
    kash_service::trading::markets::freeze(&app.svc, &m, "test")
        .await
        .unwrap();
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m, 0, "1")).await;
    expect_problem(resp, 409, "MARKET_NOT_TRADEABLE").await;
    let mut spec = new_market(2, "20");
    spec.freeze_at = Some(app.now_ms() + 60_000);
    let m2 = kash_service::trading::markets::create(&app.svc, &spec, "test")
        .await
        .unwrap()
        .id;
    buy(&app, &key, &m2, 1, "1").await;
    app.clock.advance(chrono::Duration::seconds(61));
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m2, 1, "1")).await;
    expect_problem(resp, 409, "MARKET_NOT_TRADEABLE").await;
    let got = get_json(&app, &key, &format!("/v1/markets/{m2}")).await;
    assert_eq!(got["market"]["status"], "ACTIVE");
    assert_eq!(got["market"]["tradeable"], false);
    assert_eq!(got["market"]["phase"], "FROZEN");
    // Market id checks come before the outcome: unknown market with a bad outcome is 404.
    let resp = post(
        &app,
        &key,
        "/v1/trades",
        &buy_body("7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10", 9, "1"),
    )
    .await;
    expect_problem(resp, 404, "MARKET_NOT_FOUND").await;
    assert_ledger_balanced(&app).await;
}

async fn spending_caps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let m = market(&app, 2, "20").await;
    // free tier: per-trade 500, daily 1,000.
    let (_, free) = trader_with(&app, Tier::Free, "5000", LimitOverrides::default()).await;
    let resp = post(
        &app,
        &free.key,
        "/v1/trades",
        &buy_body(&m, 0, "500.000001"),
    )
    .await;
    let p = expect_problem(resp, 409, "SPENDING_LIMIT_EXCEEDED").await;
    assert_eq!(p["cap"], "per_trade");
    assert_eq!(p["extensions"]["cap"], "per_trade");
    buy(&app, &free.key, &m, 0, "500").await;
    buy(&app, &free.key, &m, 1, "499.5").await;
    let resp = post(&app, &free.key, "/v1/trades", &buy_body(&m, 0, "0.500001")).await;
    let p = expect_problem(resp, 409, "SPENDING_LIMIT_EXCEEDED").await;
    assert_eq!(p["cap"], "daily_volume");
    assert!(p["detail"].as_str().unwrap().contains("0.000001"), "{p}");
    buy(&app, &free.key, &m, 0, "0.5").await;
    // Sells never count toward the daily cap, but obey the per-trade cap.
    let (status, body) = trade(
        &app,
        &free.key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "1"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let resp = post(
        &app,
        &free.key,
        "/v1/trades",
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "amount": "500.000001"}),
    )
    .await;
    let p = expect_problem(resp, 409, "SPENDING_LIMIT_EXCEEDED").await;
    assert_eq!(p["cap"], "per_trade");
    // The window rolls: 24 h later the cap is free again.
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    buy(&app, &free.key, &m, 0, "400").await;
    // A per-key override.
    let (_, tight) = trader_with(
        &app,
        Tier::Mm,
        "100",
        LimitOverrides {
            per_trade_cap: Some(usdc("2")),
            daily_cap: Some(usdc("3")),
            ..LimitOverrides::default()
        },
    )
    .await;
    let resp = post(&app, &tight.key, "/v1/trades", &buy_body(&m, 0, "2.01")).await;
    assert_eq!(
        expect_problem(resp, 409, "SPENDING_LIMIT_EXCEEDED").await["cap"],
        "per_trade"
    );
    buy(&app, &tight.key, &m, 0, "2").await;
    let resp = post(&app, &tight.key, "/v1/trades", &buy_body(&m, 0, "1.5")).await;
    assert_eq!(
        expect_problem(resp, 409, "SPENDING_LIMIT_EXCEEDED").await["cap"],
        "daily_volume"
    );
    // The platform ceiling comes before the caps.
    let resp = post(&app, &tight.key, "/v1/trades", &buy_body(&m, 0, "2000000")).await;
    expect_problem(resp, 400, "AMOUNT_TOO_LARGE").await;
    assert_ledger_balanced(&app).await;
}

async fn kill_switch_halts_trades_not_reads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "100").await;
    let m = market(&app, 2, "20").await;
    kash_service::killswitch::set(
        &app.svc,
        kash_core::route_policy::TRADE_PROCESSING_FLAG,
        None,
        "test",
    )
    .await
    .unwrap();
    let halted = kash_testkit::eventually(std::time::Duration::from_secs(3), || async {
        // A malformed body: 400 while trading runs, 503 once the switch applies.
        post(&app, &key, "/v1/trades", &buy_body(&m, 0, "x"))
            .await
            .status()
            == 503
    })
    .await;
    assert!(halted);
    let resp = post(&app, &key, "/v1/trades", &buy_body(&m, 0, "1")).await;
    expect_problem(resp, 503, "API_TRADE_PROCESSING_HALTED").await;
    get_json(&app, &key, &format!("/v1/markets/{m}")).await;
    no_trades(&app, &key).await;
}

backend_tests!(
    malformed_bodies_name_the_field,
    domain_errors_in_order,
    spending_caps,
    kill_switch_halts_trades_not_reads
);
