//! `GET /v1/organizations/me/analytics` (§3) over real HTTP: volume (buy amounts plus sell
//! payouts, checked against the markets' own volume), trades, unique traders, active markets,
//! new users (first trade anywhere), market-embed renders/clicks/viewers, per day, market and
//! partner; validation, and a user's key told 404.

mod market_kit;

use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::trading::markets;
use kash_testkit::{backend_tests, expect_problem, Backend, TestApp, TestOptions};
use market_kit::*;
use serde_json::{json, Value};

fn options() -> TestOptions {
    TestOptions {
        trusted_proxies: Some("127.0.0.1/32,::1".into()),
        ..TestOptions::default()
    }
}

async fn embed(app: &TestApp, path: &str, body: Value, ip: &str) {
    let resp = app
        .http
        .post(app.url(path))
        .header("X-Forwarded-For", ip)
        .header("User-Agent", "ua")
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{path} {body}");
}

async fn report(app: &TestApp, key: &str, query: &str) -> Value {
    let resp = app
        .get(&format!("/v1/organizations/me/analytics?{query}"), key)
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    resp.json::<Value>().await.unwrap()["data"].clone()
}

async fn volume_of(app: &TestApp, market: &str) -> i64 {
    kash_store::markets::get(app.svc.db.reader(), market)
        .await
        .unwrap()
        .unwrap()
        .volume_atomic
}

async fn figures_per_day_market_and_partner(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    // Every figure below is of one UTC day: start at the next noon, so no step crosses midnight.
    let day = 86_400_000;
    let to_noon = (day / 2 - app.now_ms().rem_euclid(day)).rem_euclid(day);
    app.clock.advance(chrono::Duration::milliseconds(to_noon));
    let org = app.org("acme").await;
    let other = app.org("other").await;
    fund(&app, &Owner::Org(org.clone()), "100").await;
    fund(&app, &Owner::Org(other.clone()), "100").await;
    let partner = kash_service::partners::create(
        &app.svc,
        &org,
        &kash_service::partners::PartnerFields {
            name: Some("P".into()),
            slug: Some("p".into()),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap()
    .id;
    let mut spec = new_market(2, "20");
    spec.organization_id = Some(org.clone());
    let m1 = markets::create(&app.svc, &spec, "test").await.unwrap().id;
    spec.fields.partner_id = Some(partner.clone());
    let m2 = markets::create(&app.svc, &spec, "test").await.unwrap().id;
    let mut elsewhere = new_market(2, "20");
    elsewhere.organization_id = Some(other.clone());
    let m3 = markets::create(&app.svc, &elsewhere, "test")
        .await
        .unwrap()
        .id;
    // A frozen market of acme is still active today (it was ACTIVE at some time).
    let mut spec4 = new_market(2, "20");
    spec4.organization_id = Some(org.clone());
    let m4 = markets::create(&app.svc, &spec4, "test").await.unwrap().id;
    markets::freeze(&app.svc, &m4, "test").await.unwrap();

    let (_, veteran) = trader(&app, "1000").await;
    let (_, newcomer) = trader(&app, "1000").await;
    // The veteran's first trade is in another org's market: not a new user of acme.
    buy(&app, &veteran, &m3, 0, "3").await;
    buy(&app, &veteran, &m2, 0, "5").await;
    buy(&app, &newcomer, &m1, 1, "10").await;
    let (status, sold) = trade(
        &app,
        &veteran,
        &json!({"marketId": m2, "outcomeIndex": 0, "side": "sell", "amount": "1"}),
    )
    .await;
    assert_eq!(status, 201, "{sold}");
    let v1 = volume_of(&app, &m1).await;
    let v2 = volume_of(&app, &m2).await;
    assert_eq!(v1, 10_000_000);
    assert!(v2 > 5_000_000, "the sell payout counts: {v2}");

    // Embeds: two viewers render m1, one clicks m2 from the org embed.
    embed(
        &app,
        "/api/embeds/renders",
        json!({"kind": "market", "id": m1}),
        "198.51.100.1",
    )
    .await;
    embed(
        &app,
        "/api/embeds/renders",
        json!({"kind": "market", "id": m1}),
        "198.51.100.2",
    )
    .await;
    embed(
        &app,
        "/api/embeds/clicks",
        json!({"kind": "organization", "id": org, "marketId": m2}),
        "198.51.100.1",
    )
    .await;

    let key = app
        .key_with(Owner::Org(org.clone()), Tier::Free, Some("portfolio:read"))
        .await
        .key;
    let today = chrono::DateTime::from_timestamp_millis(app.now_ms())
        .expect("a time")
        .date_naive();
    let yesterday = today - chrono::Duration::days(1);
    let q = format!("from={yesterday}&to={today}");
    let day = report(&app, &key, &q).await;
    assert_eq!(day["groupBy"], "day");
    let rows = day["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["date"], yesterday.to_string());
    assert_eq!(rows[0]["trades"], 0);
    assert_eq!(rows[0]["volume"], "0");
    assert_eq!(rows[0]["activeMarkets"], 0);
    let t = &rows[1];
    assert_eq!(t["date"], today.to_string());
    assert_eq!(t["volume"], (v1 + v2).to_string());
    assert_eq!(t["trades"], 3);
    assert_eq!(t["uniqueTraders"], 2);
    assert_eq!(t["activeMarkets"], 3);
    assert_eq!(t["newUsers"], 1);
    assert_eq!(t["renders"], 2);
    assert_eq!(t["uniqueViewers"], 2);
    assert_eq!(t["clicks"], 1);
    let totals = &day["totals"];
    assert_eq!(totals["volume"], (v1 + v2).to_string());
    assert_eq!(totals["trades"], 3);
    assert_eq!(totals["activeMarkets"], 3);
    assert_eq!(totals["newUsers"], 1);
    assert_eq!(totals["renders"], 2);

    let by_market = report(&app, &key, &format!("{q}&groupBy=market")).await;
    let rows = by_market["rows"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["marketId"] == id).cloned();
    let r1 = row(&m1).unwrap();
    assert_eq!(r1["volume"], v1.to_string());
    assert_eq!(r1["trades"], 1);
    assert_eq!(r1["newUsers"], 1);
    assert_eq!(r1["renders"], 2);
    assert_eq!(r1["uniqueViewers"], 2);
    assert_eq!(r1["activeMarkets"], 1);
    let r2 = row(&m2).unwrap();
    assert_eq!(r2["volume"], v2.to_string());
    assert_eq!(r2["trades"], 2);
    assert_eq!(r2["uniqueTraders"], 1);
    assert_eq!(r2["newUsers"], 0);
    assert_eq!(r2["clicks"], 1);
    assert_eq!(row(&m4).unwrap()["trades"], 0);
    assert!(row(&m3).is_none(), "another org's market is not reported");

    let by_partner = report(&app, &key, &format!("{q}&groupBy=partner")).await;
    let rows = by_partner["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let none = rows.iter().find(|r| r["partnerId"].is_null()).unwrap();
    assert_eq!(none["volume"], v1.to_string());
    assert_eq!(none["activeMarkets"], 2);
    let p = rows
        .iter()
        .find(|r| r["partnerId"] == partner.as_str())
        .unwrap();
    assert_eq!(p["volume"], v2.to_string());
    assert_eq!(p["clicks"], 1);
    assert_eq!(p["activeMarkets"], 1);
}

async fn validation_and_user_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("acme").await;
    let key = app
        .key_with(Owner::Org(org.clone()), Tier::Free, Some("portfolio:read"))
        .await
        .key;
    for (query, path) in [
        ("groupBy=source", "groupBy"),
        ("from=2025-01-01&to=2026-01-02", "to"),
        ("from=2025-02-01&to=2025-01-01", "from"),
        ("from=yesterday", "from"),
    ] {
        let body = expect_problem(
            app.get(&format!("/v1/organizations/me/analytics?{query}"), &key)
                .await,
            400,
            "VALIDATION_FAILED",
        )
        .await;
        assert_eq!(body["issues"][0]["path"], path, "{query}");
    }
    let full = report(&app, &key, "from=2025-01-01&to=2026-01-01").await;
    assert_eq!(full["rows"].as_array().unwrap().len(), 366);
    assert_eq!(full["totals"]["volume"], "0");
    let (_, user_key) = trader(&app, "1").await;
    expect_problem(
        app.get("/v1/organizations/me/analytics", &user_key).await,
        404,
        "RESOURCE_NOT_FOUND",
    )
    .await;
    let no_scope = app
        .key_with(Owner::Org(org), Tier::Free, Some("markets:read"))
        .await
        .key;
    expect_problem(
        app.get("/v1/organizations/me/analytics", &no_scope).await,
        403,
        "INSUFFICIENT_SCOPE",
    )
    .await;
    // Described in the OpenAPI document.
    let doc: Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/v1/organizations/me/analytics"]["get"];
    assert!(op.is_object(), "missing from the OpenAPI document");
    assert!(doc["components"]["schemas"]["AnalyticsReport"].is_object());
}

backend_tests!(figures_per_day_market_and_partner, validation_and_user_keys);
