//! Every worked vector of `amm.md`, reproduced through the HTTP API: the quote, then the
//! executed trade, equal to the unit.

mod market_kit;

use kash_testkit::{backend_tests, Backend, TestApp};
use market_kit::*;
use serde_json::json;

async fn binary_vectors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "1000").await;
    let m = market(&app, 2, "20").await;

    // Genesis: a binary market prices both outcomes at exactly 0.5.
    let got = get_json(&app, &key, &format!("/v1/markets/{m}")).await;
    assert_eq!(got["market"]["outcomes"][0]["probability"], json!(0.5));
    assert_eq!(got["market"]["outcomes"][1]["probability"], json!(0.5));
    assert_eq!(got["market"]["status"], "ACTIVE");

    // Quote, then buy 10 USDC of outcome 0.
    let q = get_json(
        &app,
        &key,
        &format!("/v1/markets/{m}/quote?outcomeIndex=0&action=buy&amount=10000000"),
    )
    .await;
    let quote = &q["quote"];
    assert_eq!(quote["protocolFee"], "100000");
    assert_eq!(quote["tokensOut"], "17256140433490960309");
    assert_eq!(quote["reserveAfter"], "29900000000000000000");
    assert_eq!(
        quote["pAfter"],
        json!(["650692487328374723", "349307512671625276"])
    );
    assert_eq!(
        quote["qAfter"],
        json!(["776288855829353140", "223711144170646860"])
    );
    assert_eq!(quote["impliedProbability"], json!(0.650692));
    assert_eq!(q["units"], json!({"usdc": "atomic-6", "token": "wad-18"}));

    let t = buy(&app, &key, &m, 0, "10").await;
    assert_eq!(t["status"], "completed");
    assert_eq!(t["tokensOut"], "17256140433490960309");
    assert_eq!(t["protocolFee"], "100000");
    let st = app.svc.db.reader();
    let rec = kash_store::markets::get(st, &m).await.unwrap().unwrap();
    assert_eq!(rec.reserve, "29900000000000000000");
    assert_eq!(rec.aggregate, "894009999999999999963753594809506687740");
    let prices = kash_core::amm::marginal_prices(&rec.state().unwrap()).unwrap();
    assert_eq!(
        prices.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        vec!["623012381830952513", "334448160535117056"]
    );
    let got = get_json(&app, &key, &format!("/v1/markets/{m}")).await;
    assert_eq!(got["market"]["outcomes"][0]["probability"], json!(0.650692));
    assert_eq!(got["market"]["outcomes"][1]["probability"], json!(0.349307));
    assert_eq!(
        got["market"]["outcomes"][0]["capitalShare"],
        json!(0.776288)
    );
    assert_eq!(
        got["market"]["outcomes"][1]["capitalShare"],
        json!(0.223711)
    );

    // The sell quote of those same tokens, then the sell.
    let q = get_json(
        &app,
        &key,
        &format!("/v1/markets/{m}/quote?outcomeIndex=0&action=sell&amount=17256140433490960309"),
    )
    .await;
    assert_eq!(q["quote"]["grossRelease"], "9899999999999999999");
    assert_eq!(q["quote"]["usdcOut"], "9751995");
    let (status, body) = trade(
        &app,
        &key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": "17256140433490960309"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["trade"]["usdcOut"], "9751995");
    assert_eq!(body["trade"]["tokensIn"], "17256140433490960309");
    assert_eq!(body["trade"]["amount"], "9.751995");
    assert_ledger_balanced(&app).await;
}

async fn resolution_vector(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "1000").await;
    let m = market(&app, 2, "20").await;
    buy(&app, &key, &m, 0, "10").await;
    kash_service::trading::markets::resolve(&app.svc, &m, &[0], "test")
        .await
        .unwrap();
    let resp = post(
        &app,
        &key,
        "/v1/redemptions",
        &json!({"marketId": m, "outcomeIndex": 0}),
    )
    .await;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap();
    // The automatic run may have claimed first; either way the payout is the vector's.
    assert!(status == 201 || status == 200, "{body}");
    assert_eq!(body["redemption"]["payoutUsdc"], "13848954");
    assert_eq!(body["redemption"]["kind"], "resolved");
    assert_eq!(body["redemption"]["sharesWad"], "17256140433490960309");
    app.stop().await;
    assert_ledger_balanced(&app).await;
}

async fn three_outcome_vector(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = trader(&app, "1000").await;
    let m = market(&app, 3, "50").await;
    let q = get_json(
        &app,
        &key,
        &format!("/v1/markets/{m}/quote?outcomeIndex=2&action=buy&amount=7654321"),
    )
    .await;
    assert_eq!(q["quote"]["tokensOut"], "20324971086036373820");
    let t = buy(&app, &key, &m, 2, "7.654321").await;
    assert_eq!(t["tokensOut"], "20324971086036373820");
    assert_ledger_balanced(&app).await;
}

backend_tests!(binary_vectors, resolution_vector, three_outcome_vector);
