//! Acceptance scenarios of `organizations-embeds-portal.md` §9, each as written there. (The
//! other scenarios' behaviour is covered, in other shapes, by `public_api`, `public_markets`,
//! `embeds`, `org_analytics`, `kash-admin/tests/revenue_cli` and the console tests.)

mod market_kit;

use kash_core::owner::Owner;
use kash_service::trading::markets::{self, NewMarket};
use kash_store::accruals::{self, AccrualRecord};
use kash_testkit::{backend_tests, Backend, TestApp};
use market_kit::*;
use serde_json::json;

async fn accrual_of(app: &TestApp, trade: &serde_json::Value) -> Vec<AccrualRecord> {
    accruals::of_trade(app.svc.db.reader(), trade["id"].as_str().expect("trade id"))
        .await
        .expect("accruals")
}

/// Scenario 1, revenue share: org O (5000 bps) owns binary market M. A 100 USDC buy through
/// `/v1` pays a 1000000 fee and accrues 500000 to O; the same buy with channel `embed` after 50
/// renders of M's embed from another site accrues the same; a trade in an operator market accrues
/// nothing; a sell accrues `mulDiv(F, 5000, 10000)` of its own fee.
async fn scenario_1_revenue_share(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("o").await;
    fund(&app, &Owner::Org(org.clone()), "100").await;
    let m = markets::create(
        &app.svc,
        &NewMarket {
            organization_id: Some(org.clone()),
            ..new_market(2, "20")
        },
        "test",
    )
    .await
    .expect("org market")
    .id;
    let operator_market = market(&app, 2, "20").await;
    let (_, key) = trader(&app, "1000").await;

    let first = buy(&app, &key, &m, 0, "100").await;
    assert_eq!(first["protocolFee"], "1000000", "{first}");
    let a = accrual_of(&app, &first).await;
    assert_eq!(a.len(), 1);
    assert_eq!(
        (
            a[0].organization_id.as_str(),
            a[0].fee_atomic,
            a[0].share_bps,
            a[0].share_atomic,
            a[0].channel.as_str()
        ),
        (org.as_str(), 1_000_000, 5000, 500_000, "api")
    );

    for _ in 0..50 {
        let resp = app
            .http
            .post(app.url("/api/embeds/renders"))
            .json(&json!({"kind": "market", "id": m, "source": "other-site.example"}))
            .send()
            .await
            .expect("render");
        assert_eq!(resp.status(), 202);
    }
    let (status, second) = trade(
        &app,
        &key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "buy", "amount": "100", "channel": "embed"}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let b = accrual_of(&app, &second["trade"]).await;
    assert_eq!(b.len(), 1);
    assert_eq!(
        (
            b[0].fee_atomic,
            b[0].share_bps,
            b[0].share_atomic,
            b[0].channel.as_str()
        ),
        (1_000_000, 5000, 500_000, "embed")
    );

    let elsewhere = buy(&app, &key, &operator_market, 1, "100").await;
    assert!(accrual_of(&app, &elsewhere).await.is_empty());

    let tokens = first["tokensOut"].as_str().expect("tokens").to_string();
    let (status, sold) = trade(
        &app,
        &key,
        &json!({"marketId": m, "outcomeIndex": 0, "side": "sell", "tokens": tokens}),
    )
    .await;
    assert_eq!(status, 201, "{sold}");
    let fee: i64 = sold["trade"]["protocolFee"]
        .as_str()
        .expect("fee")
        .parse()
        .expect("atomic");
    assert!(fee > 0);
    let s = accrual_of(&app, &sold["trade"]).await;
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].fee_atomic, s[0].share_atomic),
        (fee, fee * 5000 / 10_000)
    );

    let earnings = app
        .key_with(Owner::Org(org), kash_core::tier::Tier::Developer, None)
        .await;
    let e = get_json(&app, &earnings.key, "/v1/organizations/me/earnings").await;
    assert_eq!(
        e["earnings"]["accruedUsdc"],
        (1_000_000 + fee * 5000 / 10_000).to_string(),
        "{e}"
    );
    assert_ledger_balanced(&app).await;
}

backend_tests!(scenario_1_revenue_share);
