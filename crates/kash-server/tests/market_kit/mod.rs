//! Helpers of the trading tests: funded traders, seeded markets, trade requests over HTTP, and
//! the ledger check (the same function `kash-admin ledger check` runs).

#![allow(dead_code)]

use kash_core::money::Usdc;
use kash_core::owner::Owner;
use kash_core::scope::ScopeSet;
use kash_core::tier::Tier;
use kash_service::keys::{IssueRequest, IssuedKey, LimitOverrides};
use kash_service::trading::accounts::{move_funds, Holder};
use kash_service::trading::markets::{self, NewMarket};
use kash_testkit::TestApp;
use serde_json::{json, Value};

pub const ALL_SCOPES: &str =
    "markets:read,markets:quote,portfolio:read,trades:read,trades:write,webhooks:manage,auth:manage";

pub fn usdc(text: &str) -> Usdc {
    Usdc::parse_human(text).expect("USDC amount")
}

/// Deposits `amount` USDC for `owner`.
pub async fn fund(app: &TestApp, owner: &Owner, amount: &str) {
    move_funds(
        &app.svc,
        &Holder::Owner(owner.clone()),
        usdc(amount),
        true,
        "test",
    )
    .await
    .expect("fund");
}

/// A new user with `usdc` deposited and one key of `tier` (with `limits`): (user id, key).
pub async fn trader_with(
    app: &TestApp,
    tier: Tier,
    usdc_amount: &str,
    limits: LimitOverrides,
) -> (String, IssuedKey) {
    let email = format!(
        "t{}@test.example",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let user = app.user(&email).await;
    let owner = Owner::User(user.clone());
    fund(app, &owner, usdc_amount).await;
    let key = app
        .issue(IssueRequest {
            owner,
            tier,
            scopes: Some(ScopeSet::parse_list(ALL_SCOPES).expect("scopes")),
            name: None,
            ip_allowlist: None,
            webhook_url: None,
            expires_at: None,
            limits,
        })
        .await;
    (user, key)
}

/// A funded `mm` trader (no confirmation gate below 50,000 USDC).
pub async fn trader(app: &TestApp, usdc_amount: &str) -> (String, String) {
    let (user, key) = trader_with(app, Tier::Mm, usdc_amount, LimitOverrides::default()).await;
    (user, key.key)
}

pub fn new_market(outcomes: usize, seed: &str) -> NewMarket {
    NewMarket {
        title: format!("Market with {outcomes} outcomes"),
        description: None,
        image_url: None,
        outcomes: (0..outcomes).map(|i| format!("Outcome {i}")).collect(),
        organization_id: None,
        seed: usdc(seed),
        freeze_at: None,
        resolve_at: None,
        fee_bps: 100,
        sell_fee_bps: 50,
        fields: Default::default(),
    }
}

/// An operator market (treasury-funded) with default fees.
pub async fn market(app: &TestApp, outcomes: usize, seed: &str) -> String {
    markets::create(&app.svc, &new_market(outcomes, seed), "test")
        .await
        .expect("create market")
        .id
}

pub async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("X-API-Key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

pub async fn post_with(
    app: &TestApp,
    key: &str,
    path: &str,
    body: &Value,
    idem: &str,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("X-API-Key", key)
        .header("Idempotency-Key", idem)
        .json(body)
        .send()
        .await
        .expect("request")
}

pub fn buy_body(market: &str, outcome: u32, amount: &str) -> Value {
    json!({ "marketId": market, "outcomeIndex": outcome, "side": "buy", "amount": amount })
}

/// Places a trade and returns `(status, body)`.
pub async fn trade(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let resp = post(app, key, "/v1/trades", body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

/// A buy that must execute; returns the trade resource.
pub async fn buy(app: &TestApp, key: &str, market: &str, outcome: u32, amount: &str) -> Value {
    let (status, body) = trade(app, key, &buy_body(market, outcome, amount)).await;
    assert_eq!(status, 201, "buy failed: {body}");
    body["trade"].clone()
}

pub async fn get_json(app: &TestApp, key: &str, path: &str) -> Value {
    let resp = app.get(path, key).await;
    assert_eq!(resp.status().as_u16(), 200, "GET {path}");
    resp.json().await.expect("JSON")
}

/// Runs the ledger check and fails the test on any violation.
pub async fn assert_ledger_balanced(app: &TestApp) {
    let report = kash_service::trading::check::run(&app.svc)
        .await
        .expect("ledger check");
    assert!(report.balanced(), "ledger broken: {:#?}", report.violations);
}

/// The caller's USDC balance, atomic.
pub async fn balance(app: &TestApp, key: &str) -> u64 {
    let p = get_json(app, key, "/v1/portfolio").await;
    p["portfolio"]["usdcBalance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}
