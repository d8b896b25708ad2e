//! The market side of the anonymous Embed API (`/api/markets*`, an organization's and a
//! thread's markets, chapters, thread totals, embed targets of kind `market`) over real HTTP,
//! with every parameter's default and bounds, on SQLite and PostgreSQL.

mod market_kit;

use std::collections::BTreeSet;

use chrono::Duration;
use kash_core::owner::Owner;
use kash_service::orgs::OrgUpdate;
use kash_service::partners::PartnerFields;
use kash_service::threads::ThreadFields;
use kash_service::trading::markets::{self, MarketFields, NewMarket};
use kash_testkit::{backend_tests, Backend, TestApp, TestOptions};
use market_kit::{buy, fund, get_json, trader, usdc};
use serde_json::Value;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.unwrap()
}

async fn ok(app: &TestApp, path: &str) -> Value {
    let resp = get(app, path).await;
    assert_eq!(resp.status().as_u16(), 200, "GET {path}");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    resp.json().await.unwrap()
}

/// Asserts an `/api` error: status, code, and (when given) the exact message.
async fn expect_error(app: &TestApp, path: &str, status: u16, code: &str, message: Option<&str>) {
    let resp = get(app, path).await;
    assert_eq!(resp.status().as_u16(), status, "status of {path}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{path}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    if let Some(m) = message {
        assert_eq!(body["message"], m, "{path}");
    }
}

fn ids(body: &Value) -> Vec<String> {
    body["markets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(v: &[&String]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn market(title: &str, outcomes: usize, org: Option<&str>, fields: MarketFields) -> NewMarket {
    NewMarket {
        title: title.into(),
        description: Some(format!("About {title}")),
        image_url: None,
        outcomes: (0..outcomes).map(|i| format!("Outcome {i}")).collect(),
        organization_id: org.map(str::to_string),
        seed: usdc("100"),
        freeze_at: None,
        resolve_at: None,
        fee_bps: 100,
        sell_fee_bps: 50,
        fields,
    }
}

async fn create(app: &TestApp, m: NewMarket) -> String {
    let id = markets::create(&app.svc, &m, "test").await.unwrap().id;
    // Distinct creation times: created_at order has one answer.
    app.clock.advance(Duration::seconds(1));
    id
}

struct World {
    org: String,
    other_org: String,
    thread: String,
    partner: String,
    /// A's binary market in the thread, chapter "c1" (1 of 2), partner, tweet, sports.
    m1: String,
    /// A's 3-outcome market in the thread, chapter "c2" (2 of 2).
    m2: String,
    /// A's binary market, no thread, politics.
    m3: String,
    /// A's frozen, resolved and cancelled markets.
    frozen: String,
    resolved: String,
    cancelled: String,
    /// B's active market.
    b1: String,
    /// An operator market (never public).
    operator: String,
    /// A trader's key (for `/v1` comparisons).
    key: String,
}

async fn world(app: &TestApp) -> World {
    let org = app.org("acme").await;
    let other_org = app.org("globex").await;
    for o in [&org, &other_org] {
        fund(app, &Owner::Org(o.clone()), "10000").await;
    }
    let partner = kash_service::partners::create(
        &app.svc,
        &org,
        &PartnerFields {
            name: Some("Rocket".into()),
            slug: Some("rocket".into()),
            ..PartnerFields::default()
        },
        "test",
    )
    .await
    .unwrap()
    .id;
    let thread = kash_service::threads::create(
        &app.svc,
        &org,
        &ThreadFields {
            title: Some("Season".into()),
            description: Some("The season".into()),
            ..ThreadFields::default()
        },
        "test",
    )
    .await
    .unwrap()
    .id;
    let m1 = create(
        app,
        market(
            "Alpha wins",
            2,
            Some(&org),
            MarketFields {
                category: Some("Sports".into()),
                tags: Some("Final, cup".into()),
                thread_id: Some(thread.clone()),
                partner_id: Some(partner.clone()),
                source_tweet_url: Some("https://x.com/acme/status/1".into()),
                chapter_id: Some("c1".into()),
                chapter_title: Some("Opening".into()),
                chapter_position: Some(1),
                chapter_total: Some(2),
            },
        ),
    )
    .await;
    let m2 = create(
        app,
        market(
            "beta, gamma or delta",
            3,
            Some(&org),
            MarketFields {
                thread_id: Some(thread.clone()),
                chapter_id: Some("c2".into()),
                chapter_title: Some("Closing".into()),
                chapter_position: Some(2),
                chapter_total: Some(2),
                ..MarketFields::default()
            },
        ),
    )
    .await;
    let m3 = create(
        app,
        market(
            "Charlie elected",
            2,
            Some(&org),
            MarketFields {
                category: Some("politics".into()),
                ..MarketFields::default()
            },
        ),
    )
    .await;
    let frozen = create(
        app,
        market("Frozen one", 2, Some(&org), MarketFields::default()),
    )
    .await;
    markets::freeze(&app.svc, &frozen, "test").await.unwrap();
    let resolved = create(
        app,
        market("Resolved one", 2, Some(&org), MarketFields::default()),
    )
    .await;
    markets::freeze(&app.svc, &resolved, "test").await.unwrap();
    markets::resolve(&app.svc, &resolved, &[0], "test")
        .await
        .unwrap();
    let cancelled = create(
        app,
        market("Cancelled one", 2, Some(&org), MarketFields::default()),
    )
    .await;
    markets::cancel(&app.svc, &cancelled, false, "test")
        .await
        .unwrap();
    let b1 = create(
        app,
        market(
            "Globex market",
            2,
            Some(&other_org),
            MarketFields::default(),
        ),
    )
    .await;
    let operator = create(
        app,
        market("Operator market", 2, None, MarketFields::default()),
    )
    .await;
    let (_, key) = trader(app, "10000").await;
    buy(app, &key, &m1, 0, "25").await;
    buy(app, &key, &m1, 1, "5").await;
    buy(app, &key, &m2, 2, "1.234567").await;
    let (_, key2) = trader(app, "10000").await;
    buy(app, &key2, &m1, 0, "1").await;
    World {
        org,
        other_org,
        thread,
        partner,
        m1,
        m2,
        m3,
        frozen,
        resolved,
        cancelled,
        b1,
        operator,
        key,
    }
}

fn options() -> TestOptions {
    TestOptions {
        tweak: Some(std::sync::Arc::new(|s| s.public_api_rate_scale = 100)),
        ..TestOptions::default()
    }
}

async fn market_object_and_detail(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    let body = ok(&app, &format!("/api/markets/{}", w.m1)).await;
    let m = &body["market"];
    let v1 = get_json(&app, &w.key, &format!("/v1/markets/{}", w.m1)).await;
    let v1m = &v1["market"];
    // Probabilities are /v1's micro-unit numbers; noPrice = (10^6 − yesMicro) / 10^6.
    assert_eq!(m["probability"], v1m["outcomes"][0]["probability"]);
    assert_eq!(m["yesPrice"], m["probability"]);
    let yes_micro = (m["yesPrice"].as_f64().unwrap() * 1e6).round() as i64;
    let no_micro = (m["noPrice"].as_f64().unwrap() * 1e6).round() as i64;
    assert_eq!(yes_micro + no_micro, 1_000_000);
    assert!(yes_micro > 500_000, "outcome 0 was bought most: {m}");
    for (i, o) in m["outcomes"].as_array().unwrap().iter().enumerate() {
        assert_eq!(o["outcomeIndex"], i);
        assert_eq!(o["label"], format!("Outcome {i}"));
        assert_eq!(o["probability"], v1m["outcomes"][i]["probability"]);
        assert_eq!(o["capitalShare"], v1m["outcomes"][i]["capitalShare"]);
    }
    // 25 + 5 + 1 USDC of buys = 3100 cents.
    let volume: i64 = v1m["volumeUsdc"].as_str().unwrap().parse().unwrap();
    assert_eq!(m["totalVolume"], volume / 10_000);
    assert_eq!(m["totalVolume"], 3100);
    assert_eq!(m["tradeCount"], 3);
    assert_eq!(m["status"], "OPEN");
    assert_eq!(m["question"], "Alpha wins");
    assert_eq!(m["description"], "About Alpha wins");
    assert_eq!(m["category"], "sports");
    assert_eq!(m["sourceTweetUrl"], "https://x.com/acme/status/1");
    assert_eq!(m["organizationId"], w.org);
    assert_eq!(m["threadId"], w.thread);
    assert_eq!(m["partnerId"], w.partner);
    assert_eq!(m["endTime"], Value::Null);
    assert!(m["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(m.get("priceHistory").is_none());
    assert!(body.get("priceHistory").is_none() && body.get("recentTrades").is_none());
    assert_eq!(body["_meta"]["includes"]["history"], false);
    assert_eq!(body["_meta"]["includes"]["trades"], false);
    assert_eq!(body["_meta"]["includes"]["tradesCount"], 0);

    // History: genesis plus one snapshot per trade, newest first; the newest is now.
    let body = ok(&app, &format!("/api/markets/{}?history=true", w.m1)).await;
    let h = body["priceHistory"].as_array().unwrap();
    assert_eq!(h.len(), 4);
    assert_eq!(h[0]["probability"], body["market"]["probability"]);
    assert_eq!(h[0]["price"], h[0]["probability"]);
    assert_eq!(h[3]["probability"], 0.5, "genesis of a binary market");
    let volumes: Vec<i64> = h.iter().map(|s| s["volume"].as_i64().unwrap()).collect();
    assert_eq!(volumes, vec![3100, 3000, 2500, 0]);
    let nested = body["market"]["priceHistory"].as_array().unwrap();
    assert_eq!(nested.len(), 4);
    assert_eq!(nested[0]["probability"], h[0]["probability"]);
    assert!(nested[0]["timestamp"].as_i64().unwrap() >= nested[3]["timestamp"].as_i64().unwrap());
    // The second snapshot from the end is after the 25 USDC buy of outcome 0: its
    // probability is that trade's own recorded probability.
    let trades = ok(
        &app,
        &format!("/api/markets/{}?trades=true&trades_limit=3", w.m1),
    )
    .await;
    let t = trades["recentTrades"].as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(trades["_meta"]["includes"]["tradesCount"], 3);
    assert_eq!(t[2]["side"], "YES");
    assert_eq!(t[2]["action"], "buy");
    assert_eq!(t[2]["amount"], 2500);
    assert_eq!(t[2]["price"], h[2]["probability"]);
    assert_eq!(t[1]["side"], "NO");
    assert_eq!(t[1]["outcomeIndex"], 1);
    assert_eq!(t[0]["price"], h[0]["probability"]);
    assert!(t[0].get("ownerId").is_none() && t[0].get("trader").is_none());
    let two = ok(
        &app,
        &format!("/api/markets/{}?trades=1&trades_limit=2", w.m1),
    )
    .await;
    assert_eq!(two["recentTrades"].as_array().unwrap().len(), 2);
    // Non-binary markets name the outcome by its label.
    let t = ok(&app, &format!("/api/markets/{}?trades=true", w.m2)).await;
    assert_eq!(t["recentTrades"][0]["side"], "Outcome 2");
    assert_eq!(t["recentTrades"][0]["amount"], 123);

    // Phases on the wire.
    for (id, status) in [
        (&w.frozen, "FROZEN"),
        (&w.resolved, "RESOLVED"),
        (&w.cancelled, "CANCELLED"),
    ] {
        let b = ok(&app, &format!("/api/markets/{id}")).await;
        assert_eq!(b["market"]["status"], status);
    }
    // Unknown, malformed, operator and suspended-organization markets are unknown.
    for id in [
        "00000000-0000-4000-8000-000000000000".to_string(),
        "nope".to_string(),
        w.operator.clone(),
    ] {
        expect_error(
            &app,
            &format!("/api/markets/{id}"),
            404,
            "MARKET_NOT_FOUND",
            None,
        )
        .await;
    }
    ok(&app, &format!("/api/markets/{}", w.b1)).await;
    kash_service::orgs::update(
        &app.svc,
        &w.other_org,
        &OrgUpdate {
            status: Some("suspended".into()),
            ..OrgUpdate::default()
        },
        "test",
    )
    .await
    .unwrap();
    expect_error(
        &app,
        &format!("/api/markets/{}", w.b1),
        404,
        "MARKET_NOT_FOUND",
        None,
    )
    .await;
    let all = ok(&app, "/api/markets?status=all&limit=100").await;
    assert!(!ids(&all).contains(&w.b1));
}

async fn market_lists_filters_sorting_and_paging(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    // Default: ACTIVE markets of active organizations, newest first, limit 50.
    let body = ok(&app, "/api/markets").await;
    assert_eq!(
        ids(&body),
        vec![w.b1.clone(), w.m3.clone(), w.m2.clone(), w.m1.clone()]
    );
    assert_eq!(body["pagination"]["limit"], 50);
    assert_eq!(body["pagination"]["offset"], 0);
    assert_eq!(body["pagination"]["total"], 4);
    assert_eq!(body["pagination"]["hasMore"], false);
    assert!(body["_meta"]["requestedAt"].is_string());
    let status_cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("status=active", set(&[&w.m1, &w.m2, &w.m3, &w.b1])),
        ("status=paused", set(&[&w.frozen])),
        ("status=resolved", set(&[&w.resolved])),
        ("status=cancelled", set(&[&w.cancelled])),
        ("status=refunded", set(&[&w.cancelled])),
        (
            "status=ALL",
            set(&[
                &w.m1,
                &w.m2,
                &w.m3,
                &w.b1,
                &w.frozen,
                &w.resolved,
                &w.cancelled,
            ]),
        ),
        (
            "active=true&status=resolved",
            set(&[&w.m1, &w.m2, &w.m3, &w.b1]),
        ),
        ("active=false", set(&[&w.resolved])),
        ("status=all&category=POLITICS", set(&[&w.m3])),
        ("category=none", set(&[])),
        (
            "status=all&category=general",
            set(&[&w.m2, &w.b1, &w.frozen, &w.resolved, &w.cancelled]),
        ),
    ];
    for (query, expected) in status_cases {
        let b = ok(&app, &format!("/api/markets?{query}")).await;
        let got: BTreeSet<String> = ids(&b).into_iter().collect();
        assert_eq!(got, expected, "{query}");
        assert_eq!(b["pagination"]["total"], expected.len(), "{query}");
    }
    let id_cases: Vec<(String, BTreeSet<String>)> = vec![
        (format!("threadId={}", w.thread), set(&[&w.m1, &w.m2])),
        (
            format!("thread_id={}", w.thread.to_uppercase()),
            set(&[&w.m1, &w.m2]),
        ),
        (format!("organizationId={}", w.other_org), set(&[&w.b1])),
        (format!("partnerId={}", w.partner), set(&[&w.m1])),
        (format!("threadId={}&chapterId=c2", w.thread), set(&[&w.m2])),
        ("threadId=not-a-uuid".to_string(), set(&[])),
        (
            "organizationId=00000000-0000-4000-8000-000000000000".into(),
            set(&[]),
        ),
        (
            format!("unknown=1&organizationId={}", w.org),
            set(&[&w.m1, &w.m2, &w.m3]),
        ),
    ];
    for (query, expected) in id_cases {
        let b = ok(&app, &format!("/api/markets?{query}")).await;
        let got: BTreeSet<String> = ids(&b).into_iter().collect();
        assert_eq!(got, expected, "{query}");
    }
    // resolvedAfter/resolvedBefore bound resolved markets only.
    let resolved_at_s = app.now_ms() / 1000;
    for (query, n) in [
        (
            format!("status=resolved&resolvedAfter={}", resolved_at_s - 3600),
            1,
        ),
        (
            format!("status=resolved&resolvedAfter={}", resolved_at_s + 1),
            0,
        ),
        (
            format!("status=resolved&resolvedBefore={}", resolved_at_s - 3600),
            0,
        ),
        ("status=active&resolvedBefore=0".to_string(), 4),
    ] {
        let b = ok(&app, &format!("/api/markets?{query}")).await;
        assert_eq!(b["pagination"]["total"], n, "{query}");
    }
    // Sorting: volume (m1 31 USDC, m2 1.23, others 0; ties by id in the same direction).
    let b = ok(&app, "/api/markets?sortBy=total_volume").await;
    let got = ids(&b);
    assert_eq!(got[..2], [w.m1.clone(), w.m2.clone()]);
    let mut zero = [w.m3.clone(), w.b1.clone()];
    zero.sort();
    zero.reverse();
    assert_eq!(got[2..], zero[..]);
    let b = ok(&app, "/api/markets?sortBy=total_volume&sortOrder=asc").await;
    assert_eq!(ids(&b)[3], w.m1);
    // Probability of outcome 0: m1 highest, m2 (3 outcomes, outcome 2 bought) lowest.
    let b = ok(&app, "/api/markets?sortBy=current_probability").await;
    assert_eq!(ids(&b)[0], w.m1);
    assert_eq!(ids(&b)[3], w.m2);
    // Title, case-insensitive.
    let b = ok(&app, "/api/markets?sortBy=title&sortOrder=asc").await;
    assert_eq!(
        ids(&b),
        vec![w.m1.clone(), w.m2.clone(), w.m3.clone(), w.b1.clone()]
    );
    let b = ok(&app, "/api/markets?sortBy=TITLE&limit=2&offset=1").await;
    assert_eq!(ids(&b), vec![w.m3.clone(), w.m2.clone()]);
    assert_eq!(b["pagination"]["hasMore"], true);
    // end_time: markets without freezeAt last in either direction; created_at asc.
    let b = ok(&app, "/api/markets?sortBy=end_time&sortOrder=asc").await;
    assert_eq!(b["pagination"]["total"], 4);
    let b = ok(&app, "/api/markets?sortOrder=asc").await;
    assert_eq!(
        ids(&b),
        vec![w.m1.clone(), w.m2.clone(), w.m3.clone(), w.b1.clone()]
    );
    // Paging: every boundary.
    for (offset, limit, n, more) in [
        (0, 1, 1, true),
        (2, 2, 2, false),
        (3, 1, 1, false),
        (3, 2, 1, false),
        (4, 1, 0, false),
        (1000, 100, 0, false),
    ] {
        let b = ok(&app, &format!("/api/markets?offset={offset}&limit={limit}")).await;
        assert_eq!(ids(&b).len(), n, "offset {offset} limit {limit}");
        assert_eq!(
            b["pagination"]["hasMore"], more,
            "offset {offset} limit {limit}"
        );
        assert_eq!(b["pagination"]["total"], 4);
    }
    let mut paged = Vec::new();
    for offset in 0..4 {
        paged.extend(ids(&ok(
            &app,
            &format!("/api/markets?sortBy=total_volume&limit=1&offset={offset}"),
        )
        .await));
    }
    assert_eq!(
        paged,
        ids(&ok(&app, "/api/markets?sortBy=total_volume").await)
    );

    // The organization's list: only its markets, never resolved ones by default.
    let b = ok(&app, &format!("/api/organizations/{}/markets", w.org)).await;
    assert_eq!(ids(&b), vec![w.m3.clone(), w.m2.clone(), w.m1.clone()]);
    assert_eq!(b["_meta"]["organizationId"], w.org);
    let b = ok(
        &app,
        &format!(
            "/api/organizations/acme/markets?status=all&organizationId={}",
            w.other_org
        ),
    )
    .await;
    assert_eq!(
        b["pagination"]["total"], 6,
        "the id filters are not taken here"
    );
    assert!(!ids(&b).contains(&w.b1));
    let b = ok(
        &app,
        &format!("/api/organizations/{}/markets?status=resolved", w.org),
    )
    .await;
    assert_eq!(ids(&b), vec![w.resolved.clone()]);
    expect_error(
        &app,
        "/api/organizations/nope/markets",
        404,
        "NOT_FOUND",
        None,
    )
    .await;
    expect_error(
        &app,
        "/api/organizations/00000000-0000-4000-8000-000000000000/markets",
        404,
        "NOT_FOUND",
        None,
    )
    .await;
}

async fn threads_chapters_and_totals(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    // Totals from the markets: 2 markets, 31 + 1.234567 USDC, two distinct traders.
    let t = ok(&app, &format!("/api/threads/{}", w.thread)).await;
    assert_eq!(t["thread"]["marketCount"], 2);
    assert_eq!(t["thread"]["totalVolume"], 3223);
    assert_eq!(t["thread"]["participantCount"], 2);
    assert!(t.get("markets").is_none());
    let t = ok(
        &app,
        &format!("/api/threads/{}?includeMarkets=true", w.thread),
    )
    .await;
    let ms = t["markets"].as_array().unwrap();
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0]["id"], w.m2);
    assert_eq!(ms[1]["status"], "active");
    assert!(ms[1]["currentProbability"].is_number());
    assert!(ms[1].get("probability").is_none());
    assert_eq!(ms[1]["tags"], serde_json::json!(["final", "cup"]));
    // A newer thread without markets: newest first by default, last by volume.
    let empty = kash_service::threads::create(
        &app.svc,
        &w.org,
        &ThreadFields {
            title: Some("Empty".into()),
            description: Some("none".into()),
            ..ThreadFields::default()
        },
        "test",
    )
    .await
    .unwrap()
    .id;
    let thread_ids = |b: &Value| -> Vec<String> {
        b["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let list = ok(&app, "/api/threads").await;
    assert_eq!(thread_ids(&list), vec![empty.clone(), w.thread.clone()]);
    assert_eq!(list["threads"][1]["totalVolume"], 3223);
    assert_eq!(list["threads"][0]["totalVolume"], 0);
    assert_eq!(list["threads"][0]["marketCount"], 0);
    let list = ok(&app, "/api/threads?sortBy=total_volume").await;
    assert_eq!(thread_ids(&list), vec![w.thread.clone(), empty.clone()]);
    let list = ok(&app, "/api/threads?sortBy=total_volume&sortOrder=asc").await;
    assert_eq!(thread_ids(&list), vec![empty.clone(), w.thread.clone()]);
    let org_list = ok(
        &app,
        &format!("/api/organizations/{}/threads?sortBy=total_volume", w.org),
    )
    .await;
    assert_eq!(org_list["threads"][0]["totalVolume"], "3223");
    assert_eq!(org_list["threads"][0]["marketCount"], 2);
    assert_eq!(org_list["threads"][0]["participantCount"], 2);

    // The thread's markets.
    let b = ok(&app, &format!("/api/threads/{}/markets", w.thread)).await;
    assert_eq!(ids(&b), vec![w.m2.clone(), w.m1.clone()]);
    assert_eq!(b["pagination"]["limit"], 20);
    assert_eq!(b["pagination"]["total"], 2);
    assert_eq!(b["_meta"]["threadId"], w.thread);
    for (query, expected) in [
        ("status=active", vec![w.m2.clone(), w.m1.clone()]),
        ("status=paused", vec![]),
        ("status=resolved", vec![]),
        ("status=cancelled", vec![]),
        ("sortBy=total_volume", vec![w.m1.clone(), w.m2.clone()]),
        (
            "sortBy=current_probability&sortOrder=asc",
            vec![w.m2.clone(), w.m1.clone()],
        ),
        ("sortBy=title", vec![w.m2.clone(), w.m1.clone()]),
        ("limit=1&offset=1", vec![w.m1.clone()]),
    ] {
        let b = ok(&app, &format!("/api/threads/{}/markets?{query}", w.thread)).await;
        assert_eq!(ids(&b), expected, "{query}");
    }
    // Freezing m1 moves it to paused.
    markets::freeze(&app.svc, &w.m1, "test").await.unwrap();
    let b = ok(
        &app,
        &format!("/api/threads/{}/markets?status=paused", w.thread),
    )
    .await;
    assert_eq!(ids(&b), vec![w.m1.clone()]);
    assert_eq!(b["markets"][0]["status"], "paused");

    // Chapters by position.
    let c = ok(&app, &format!("/api/threads/{}/chapters", w.thread)).await;
    assert_eq!(
        c["chapters"],
        serde_json::json!([
            {"chapterId": "c1", "title": "Opening", "position": 1, "total": 2, "marketCount": 1},
            {"chapterId": "c2", "title": "Closing", "position": 2, "total": 2, "marketCount": 1},
        ])
    );
    assert_eq!(c["_meta"]["threadId"], w.thread);
    for bad in ["nope", "00000000-0000-4000-8000-000000000000"] {
        expect_error(
            &app,
            &format!("/api/threads/{bad}/chapters"),
            404,
            "NOT_FOUND",
            None,
        )
        .await;
        expect_error(
            &app,
            &format!("/api/threads/{bad}/markets"),
            404,
            "THREAD_NOT_FOUND",
            None,
        )
        .await;
    }

    // Embed targets of kind market resolve (owning org); operator markets do not.
    let render = |id: &str| {
        app.http
            .post(app.url("/api/embeds/renders"))
            .json(&serde_json::json!({"kind": "market", "id": id, "source": "t"}))
            .send()
    };
    assert_eq!(render(&w.m1).await.unwrap().status().as_u16(), 202);
    let click = app
        .http
        .post(app.url("/api/embeds/clicks"))
        .json(&serde_json::json!({"kind": "thread", "id": w.thread, "marketId": w.m2}))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status().as_u16(), 202);
    let click = app
        .http
        .post(app.url("/api/embeds/clicks"))
        .json(&serde_json::json!({"kind": "thread", "id": w.thread, "marketId": w.operator}))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status().as_u16(), 404);
    let resp = render(&w.operator).await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "MARKET_NOT_FOUND");
}

async fn featured_and_quote(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    // None flagged: the 6 highest-volume ACTIVE markets.
    let b = ok(&app, "/api/markets/featured").await;
    let got = ids(&b);
    assert_eq!(got.len(), 4);
    assert_eq!(got[..2], [w.m1.clone(), w.m2.clone()]);
    assert_eq!(b["_meta"]["count"], 4);
    assert!(b["markets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["featured"] == true));
    markets::set_featured(&app.svc, &w.m3, true, "test")
        .await
        .unwrap();
    markets::set_featured(&app.svc, &w.frozen, true, "test")
        .await
        .unwrap();
    let b = ok(&app, "/api/markets/featured").await;
    assert_eq!(ids(&b), vec![w.m3.clone()], "flagged ACTIVE markets only");
    markets::set_featured(&app.svc, &w.m3, false, "test")
        .await
        .unwrap();
    let b = ok(&app, "/api/markets/featured").await;
    assert_eq!(ids(&b).len(), 4);
    assert!(
        markets::set_featured(&app.svc, "00000000-0000-4000-8000-000000000000", true, "t")
            .await
            .is_err()
    );

    // Quote parity with /v1, field by field (apart from the request's own _meta).
    for query in [
        "outcomeIndex=0&action=buy&amount=1000000",
        "outcomeIndex=1&action=buy&amount=123456789",
        "outcomeIndex=0&action=sell&amount=1000000000000000000",
    ] {
        let resp = get(&app, &format!("/api/markets/{}/quote?{query}", w.m1)).await;
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        assert_eq!(resp.headers()["cache-control"], "public, max-age=10");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        assert_eq!(resp.headers()["x-ratelimit-limit"], "10000");
        let mut public: Value = resp.json().await.unwrap();
        let mut v1 = get_json(&app, &w.key, &format!("/v1/markets/{}/quote?{query}", w.m1)).await;
        assert!(public["_meta"]["timestamp"].is_string());
        public.as_object_mut().unwrap().remove("_meta");
        v1.as_object_mut().unwrap().remove("_meta");
        assert_eq!(public, v1, "{query}");
    }
    let q = |path: String, status: u16, error: &'static str, code: &'static str| {
        let app = &app;
        async move {
            let resp = get(app, &path).await;
            assert_eq!(resp.status().as_u16(), status, "{path}");
            assert_eq!(resp.headers()["access-control-allow-origin"], "*");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], error, "{path}: {body}");
            assert_eq!(body["code"], code, "{path}: {body}");
            body["message"].as_str().unwrap().to_string()
        }
    };
    let m1 = &w.m1;
    let msg = q(
        format!("/api/markets/{m1}/quote?action=buy&amount=1"),
        400,
        "ValidationError",
        "INVALID_REQUEST",
    )
    .await;
    assert!(msg.contains("outcomeIndex"), "{msg}");
    let msg = q(
        format!("/api/markets/{m1}/quote?outcomeIndex=0&amount=1"),
        400,
        "ValidationError",
        "INVALID_REQUEST",
    )
    .await;
    assert!(msg.contains("action"), "{msg}");
    let msg = q(
        format!("/api/markets/{m1}/quote?outcomeIndex=0&action=buy"),
        400,
        "ValidationError",
        "INVALID_REQUEST",
    )
    .await;
    assert!(msg.contains("amount"), "{msg}");
    for bad in ["0", "-1", "1.5", "abc"] {
        q(
            format!("/api/markets/{m1}/quote?outcomeIndex=0&action=buy&amount={bad}"),
            400,
            "ValidationError",
            "INVALID_REQUEST",
        )
        .await;
    }
    let msg = q(
        format!("/api/markets/{m1}/quote?outcomeIndex=2&action=buy&amount=1"),
        400,
        "ValidationError",
        "INVALID_REQUEST",
    )
    .await;
    assert!(msg.contains("outcomeIndex"), "{msg}");
    q(
        format!("/api/markets/{m1}/quote?outcomeIndex=0&action=hold&amount=1"),
        400,
        "ValidationError",
        "INVALID_REQUEST",
    )
    .await;
    q(
        format!(
            "/api/markets/{}/quote?outcomeIndex=0&action=buy&amount=1",
            w.frozen
        ),
        409,
        "ValidationError",
        "MARKET_NOT_TRADEABLE",
    )
    .await;
    for id in [
        "nope",
        "00000000-0000-4000-8000-000000000000",
        w.operator.as_str(),
    ] {
        q(
            format!("/api/markets/{id}/quote?outcomeIndex=0&action=buy&amount=1"),
            404,
            "NotFoundError",
            "MARKET_NOT_FOUND",
        )
        .await;
    }
}

/// Every parameter of the new routes: bad values → 400 INVALID_REQUEST naming it, never 500.
async fn bounds_table(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    let org = &w.org;
    let thread = &w.thread;
    let m1 = &w.m1;
    let mut cases: Vec<(String, &str)> = Vec::new();
    for base in [
        "/api/markets".to_string(),
        format!("/api/organizations/{org}/markets"),
    ] {
        for (query, message) in [
            ("limit=0", "limit must be between 1 and 100"),
            ("limit=101", "limit must be between 1 and 100"),
            ("limit=x", "limit must be between 1 and 100"),
            ("offset=-1", "offset must be between 0 and 1000000000"),
            ("offset=1.5", "offset must be between 0 and 1000000000"),
            (
                "status=nope",
                "status must be one of active, resolved, cancelled, paused, refunded, all",
            ),
            ("active=maybe", "active must be true or false"),
            ("resolvedAfter=-1", "resolvedAfter must be between 0 and 253402300799"),
            ("resolvedBefore=x", "resolvedBefore must be between 0 and 253402300799"),
            (
                "resolvedBefore=253402300800",
                "resolvedBefore must be between 0 and 253402300799",
            ),
            (
                "sortBy=nope",
                "sortBy must be one of created_at, total_volume, current_probability, title, end_time",
            ),
            ("sortOrder=up", "sortOrder must be one of asc, desc"),
            (
                "category=a%00b",
                "category must be at most 50 characters without control characters",
            ),
        ] {
            cases.push((format!("{base}?{query}"), message));
        }
    }
    cases.push((
        format!("/api/markets?category={}", "c".repeat(51)),
        "category must be at most 50 characters without control characters",
    ));
    for (name, max) in [
        ("threadId", 100),
        ("thread_id", 100),
        ("organizationId", 100),
        ("partnerId", 100),
        ("chapterId", 100),
    ] {
        let message: &'static str = Box::leak(
            format!("{name} must be at most {max} characters without control characters")
                .into_boxed_str(),
        );
        cases.push((format!("/api/markets?{name}=a%01"), message));
        cases.push((
            format!("/api/markets?{name}={}", "a".repeat(max + 1)),
            message,
        ));
    }
    let tm = format!("/api/threads/{thread}/markets");
    for (query, message) in [
        ("limit=0", "limit must be between 1 and 100"),
        ("limit=101", "limit must be between 1 and 100"),
        ("offset=-1", "offset must be between 0 and 1000000000"),
        (
            "status=all",
            "status must be one of active, resolved, cancelled, paused",
        ),
        (
            "status=refunded",
            "status must be one of active, resolved, cancelled, paused",
        ),
        (
            "sortBy=end_time",
            "sortBy must be one of created_at, total_volume, current_probability, title",
        ),
        ("sortOrder=x", "sortOrder must be one of asc, desc"),
    ] {
        cases.push((format!("{tm}?{query}"), message));
    }
    let detail = format!("/api/markets/{m1}");
    for (query, message) in [
        ("history=maybe", "history must be true or false"),
        ("trades=2", "trades must be true or false"),
        ("trades_limit=0", "trades_limit must be between 1 and 100"),
        ("trades_limit=101", "trades_limit must be between 1 and 100"),
        ("trades_limit=x", "trades_limit must be between 1 and 100"),
    ] {
        cases.push((format!("{detail}?{query}"), message));
    }
    for (path, message) in &cases {
        expect_error(&app, path, 400, "INVALID_REQUEST", Some(message)).await;
    }
    // A bad parameter is a 400 whatever the id.
    expect_error(
        &app,
        "/api/markets/nope?trades_limit=0",
        400,
        "INVALID_REQUEST",
        None,
    )
    .await;
    expect_error(
        &app,
        "/api/threads/nope/markets?limit=0",
        400,
        "INVALID_REQUEST",
        None,
    )
    .await;
    expect_error(
        &app,
        "/api/organizations/nope/markets?limit=0",
        400,
        "INVALID_REQUEST",
        None,
    )
    .await;
    // Bounds themselves are accepted; empty values are absent; unknown parameters ignored.
    for path in [
        "/api/markets?limit=1&offset=0".to_string(),
        "/api/markets?limit=100&offset=1000000000".to_string(),
        "/api/markets?limit=&offset=&status=&sortBy=&sortOrder=&x=y".to_string(),
        "/api/markets?resolvedAfter=0&resolvedBefore=253402300799&status=all".to_string(),
        format!("/api/markets/{m1}?trades_limit=1&trades=true&history=0"),
        format!("/api/markets/{m1}?trades_limit=100"),
        format!("{tm}?limit=100&offset=0"),
        "/api/markets/featured?limit=0".to_string(),
        format!("/api/threads/{thread}/chapters?x=1"),
    ] {
        ok(&app, &path).await;
    }
}

/// Market creation checks the new fields.
async fn market_fields_are_validated(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    let other_thread = kash_service::threads::create(
        &app.svc,
        &w.other_org,
        &ThreadFields {
            title: Some("Other".into()),
            description: Some("x".into()),
            ..ThreadFields::default()
        },
        "test",
    )
    .await
    .unwrap()
    .id;
    let bad: Vec<(MarketFields, Option<&str>, &str)> = vec![
        (
            MarketFields {
                source_tweet_url: Some("https://example.com/status/1".into()),
                ..MarketFields::default()
            },
            Some(&w.org),
            "sourceTweetUrl",
        ),
        (
            MarketFields {
                source_tweet_url: Some("http://twitter.com/a/status/1".into()),
                ..MarketFields::default()
            },
            Some(&w.org),
            "sourceTweetUrl",
        ),
        (
            MarketFields {
                thread_id: Some(other_thread.clone()),
                ..MarketFields::default()
            },
            Some(&w.org),
            "threadId",
        ),
        (
            MarketFields {
                thread_id: Some(w.thread.clone()),
                ..MarketFields::default()
            },
            None,
            "threadId",
        ),
        (
            MarketFields {
                partner_id: Some(w.partner.clone()),
                ..MarketFields::default()
            },
            Some(&w.other_org),
            "partnerId",
        ),
        (
            MarketFields {
                chapter_id: Some("c".into()),
                ..MarketFields::default()
            },
            Some(&w.org),
            "chapterId",
        ),
        (
            MarketFields {
                thread_id: Some(w.thread.clone()),
                chapter_title: Some("t".into()),
                ..MarketFields::default()
            },
            Some(&w.org),
            "chapterId",
        ),
        (
            MarketFields {
                thread_id: Some(w.thread.clone()),
                chapter_id: Some("c".into()),
                chapter_position: Some(3),
                chapter_total: Some(2),
                ..MarketFields::default()
            },
            Some(&w.org),
            "chapterPosition",
        ),
        (
            MarketFields {
                tags: Some("a".repeat(41)),
                ..MarketFields::default()
            },
            Some(&w.org),
            "tags",
        ),
    ];
    for (fields, org, field) in bad {
        let err = markets::create(&app.svc, &market("Bad", 2, org, fields), "test")
            .await
            .unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains(field), "{field}: {text}");
    }
    for url in [
        "https://twitter.com/a/status/1",
        "https://www.x.com/a/status/1",
        "https://WWW.TWITTER.COM/a",
    ] {
        markets::create(
            &app.svc,
            &market(
                "Good",
                2,
                Some(&w.org),
                MarketFields {
                    source_tweet_url: Some(url.into()),
                    ..MarketFields::default()
                },
            ),
            "test",
        )
        .await
        .unwrap();
    }
}

async fn trending_and_tweet_links(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    let w = world(&app).await;
    // Window 24h: m1 (31 USDC, 3 trades, 2 traders) and m2 (1.234567, 1, 1).
    // m1 = 100; m2 = 100·(0.5·1.234567/31 + 0.3/3 + 0.2/2) = 21.99… → 22.0.
    let b = ok(&app, "/api/markets/trending").await;
    assert_eq!(ids(&b), vec![w.m1.clone(), w.m2.clone()]);
    assert_eq!(b["timeframe"]["trending"], "24h");
    let m = &b["markets"][0];
    assert_eq!(m["trendingScore"], 100.0);
    assert_eq!(m["trendingRank"], 1);
    assert_eq!(m["recentMetrics"]["tradeCount"], 3);
    assert_eq!(m["recentMetrics"]["volume"], 3100);
    assert_eq!(m["recentMetrics"]["uniqueTraders"], 2);
    assert_eq!(b["markets"][1]["trendingScore"], 22.0);
    assert_eq!(b["markets"][1]["trendingRank"], 2);
    assert_eq!(b["markets"][1]["recentMetrics"]["volume"], 123);
    let b = ok(&app, "/api/markets/trending?limit=1&timeframe=7D").await;
    assert_eq!(ids(&b), vec![w.m1.clone()]);
    assert_eq!(b["timeframe"]["trending"], "7d");
    let b = ok(&app, "/api/markets/trending?category=politics").await;
    assert!(ids(&b).is_empty());
    app.clock.advance(Duration::hours(2));
    let b = ok(&app, "/api/markets/trending?timeframe=1h").await;
    assert!(ids(&b).is_empty(), "no trade in the last hour");
    for (query, message) in [
        ("timeframe=2h", "timeframe must be one of 1h, 24h, 7d"),
        ("limit=0", "limit must be between 1 and 200"),
        ("limit=201", "limit must be between 1 and 200"),
        (
            "category=a%00",
            "category must be at most 50 characters without control characters",
        ),
    ] {
        expect_error(
            &app,
            &format!("/api/markets/trending?{query}"),
            400,
            "INVALID_REQUEST",
            Some(message),
        )
        .await;
    }
    ok(&app, "/api/markets/trending?limit=200").await;

    // One link: the source tweet, else the market's public page.
    let b = ok(
        &app,
        &format!("/api/markets/{}/twitter-link?side=yes&amount=25", w.m1),
    )
    .await;
    assert_eq!(
        b["tweetContent"],
        "@kash_bot $25 on Yes https://x.com/acme/status/1"
    );
    assert_eq!(
        b["twitterUrl"],
        "https://twitter.com/intent/tweet?text=%40kash_bot%20%2425%20on%20Yes%20https%3A%2F%2Fx.com%2Facme%2Fstatus%2F1"
    );
    assert_eq!(b["market"]["id"], w.m1);
    assert_eq!(b["market"]["question"], "Alpha wins");
    let b = ok(
        &app,
        &format!("/api/markets/{}/twitter-link?side=NO&amount=12.50", w.m3),
    )
    .await;
    let content = b["tweetContent"].as_str().unwrap();
    assert!(
        content.starts_with("@kash_bot $12.5 on No http"),
        "{content}"
    );
    assert!(
        content.ends_with(&format!("/markets/{}", w.m3)),
        "{content}"
    );
    let m1 = &w.m1;
    for (path, status, code) in [
        (
            format!("/api/markets/{m1}/twitter-link?amount=5"),
            400,
            "INVALID_SIDE",
        ),
        (
            format!("/api/markets/{m1}/twitter-link?side=maybe&amount=5"),
            400,
            "INVALID_SIDE",
        ),
        (
            format!("/api/markets/{}/twitter-link?side=yes&amount=5", w.m2),
            400,
            "INVALID_SIDE",
        ),
        (
            format!("/api/markets/{m1}/twitter-link?side=yes"),
            400,
            "INVALID_REQUEST",
        ),
        (
            format!("/api/markets/{m1}/twitter-link?side=yes&amount=0"),
            400,
            "INVALID_REQUEST",
        ),
        (
            format!("/api/markets/{m1}/twitter-link?side=yes&amount=10001"),
            400,
            "INVALID_REQUEST",
        ),
        (
            format!("/api/markets/{m1}/twitter-link?side=yes&amount=abc"),
            400,
            "INVALID_REQUEST",
        ),
        (
            "/api/markets/nope/twitter-link?side=yes&amount=5".into(),
            404,
            "MARKET_NOT_FOUND",
        ),
        (
            format!("/api/markets/{}/twitter-link?side=yes&amount=5", w.operator),
            404,
            "MARKET_NOT_FOUND",
        ),
    ] {
        expect_error(&app, &path, status, code, None).await;
    }

    // Batch: per-item errors, still 200.
    let post = |body: Value| {
        app.http
            .post(app.url("/api/twitter-links"))
            .json(&body)
            .send()
    };
    let resp = post(serde_json::json!({"markets": [
        {"marketId": w.m1, "side": "yes", "amount": 25},
        {"marketId": w.m3, "side": "no", "amount": "1.5"},
        {"marketId": w.m2, "side": "yes", "amount": 5},
        {"marketId": "nope", "side": "yes", "amount": 5},
        {"marketId": w.m1, "side": "up", "amount": 5},
        {"marketId": w.m1, "side": "yes", "amount": 0},
    ]}))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["links"].as_array().unwrap().len(), 2);
    assert_eq!(
        b["links"][0]["tweetContent"],
        "@kash_bot $25 on Yes https://x.com/acme/status/1"
    );
    assert_eq!(b["links"][0]["side"], "yes");
    assert_eq!(b["links"][0]["amount"], 25);
    assert_eq!(b["links"][1]["amount"], 1.5);
    assert_eq!(b["errors"].as_array().unwrap().len(), 4);
    assert_eq!(b["errors"][1]["marketId"], "nope");
    assert_eq!(b["_meta"]["totalRequested"], 6);
    assert_eq!(b["_meta"]["totalGenerated"], 2);
    assert_eq!(b["_meta"]["totalErrors"], 4);
    let item = serde_json::json!({"marketId": w.m1, "side": "yes", "amount": 1});
    for body in [
        serde_json::json!({"markets": []}),
        serde_json::json!({"markets": vec![item.clone(); 51]}),
        serde_json::json!({"markets": "x"}),
        serde_json::json!({}),
        serde_json::json!([1]),
    ] {
        let resp = post(body.clone()).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{body}");
        let b: Value = resp.json().await.unwrap();
        assert_eq!(b["code"], "INVALID_REQUEST");
    }
    let resp = post(serde_json::json!({"markets": vec![item; 50]}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .http
        .post(app.url("/api/twitter-links"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    // A thread's links: active binary markets only (m1; m2 has three outcomes).
    let b = ok(&app, &format!("/api/threads/{}/twitter-links", w.thread)).await;
    assert_eq!(b["thread"]["id"], w.thread);
    assert_eq!(b["_meta"]["amount"], 10);
    assert_eq!(b["_meta"]["totalMarkets"], 1);
    let l = &b["markets"][0];
    assert_eq!(l["marketId"], w.m1);
    assert_eq!(
        l["yesTweetContent"],
        "@kash_bot $10 on Yes https://x.com/acme/status/1"
    );
    assert_eq!(
        l["noTweetContent"],
        "@kash_bot $10 on No https://x.com/acme/status/1"
    );
    assert!(l["noLink"]
        .as_str()
        .unwrap()
        .starts_with("https://twitter.com/intent/tweet?text="));
    let b = ok(
        &app,
        &format!("/api/threads/{}/twitter-links?amount=10000", w.thread),
    )
    .await;
    assert_eq!(b["_meta"]["amount"], 10000);
    for (q, code, status) in [
        ("amount=0", "INVALID_REQUEST", 400),
        ("amount=10001", "INVALID_REQUEST", 400),
    ] {
        expect_error(
            &app,
            &format!("/api/threads/{}/twitter-links?{q}", w.thread),
            status,
            code,
            Some("amount must be a number between 1 and 10000"),
        )
        .await;
    }
    expect_error(
        &app,
        "/api/threads/nope/twitter-links",
        404,
        "THREAD_NOT_FOUND",
        None,
    )
    .await;
    markets::freeze(&app.svc, &w.m1, "test").await.unwrap();
    let b = ok(&app, &format!("/api/threads/{}/twitter-links", w.thread)).await;
    assert_eq!(b["_meta"]["totalMarkets"], 0);
}

/// 100 requests from one IP to `/api/markets` pass, the 101st is refused; another IP is not
/// affected; the handle setting reaches the tweet links.
async fn market_routes_are_metered_per_ip(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            trusted_proxies: Some("127.0.0.1/32,::1".into()),
            tweak: Some(std::sync::Arc::new(|s| s.x_bot_handle = "acme_bot".into())),
            ..TestOptions::default()
        },
    )
    .await;
    let from = |path: &str, ip: &str| {
        app.http
            .get(app.url(path))
            .header("X-Forwarded-For", ip)
            .send()
    };
    for i in 0..100 {
        let resp = from("/api/markets", "198.51.100.9").await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "request {}", i + 1);
        assert_eq!(resp.headers()["x-ratelimit-limit"], "100");
    }
    let refused = from("/api/markets", "198.51.100.9").await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMIT_EXCEEDED");
    assert!(body["retryAfter"].as_u64().is_some());
    let other = from("/api/markets", "198.51.100.10").await.unwrap();
    assert_eq!(other.status().as_u16(), 200);
    // Another route has its own budget.
    let featured = from("/api/markets/featured", "198.51.100.9").await.unwrap();
    assert_eq!(featured.status().as_u16(), 200);
    let org = app.org("acme").await;
    fund(&app, &Owner::Org(org.clone()), "100").await;
    let m = create(&app, market("Rain", 2, Some(&org), MarketFields::default())).await;
    let link = from(
        &format!("/api/markets/{m}/twitter-link?side=yes&amount=3"),
        "198.51.100.11",
    )
    .await
    .unwrap();
    let b: Value = link.json().await.unwrap();
    assert!(
        b["tweetContent"]
            .as_str()
            .unwrap()
            .starts_with("@acme_bot $3 on Yes "),
        "{b}"
    );
}

backend_tests!(
    market_routes_are_metered_per_ip,
    trending_and_tweet_links,
    market_object_and_detail,
    market_lists_filters_sorting_and_paging,
    threads_chapters_and_totals,
    featured_and_quote,
    bounds_table,
    market_fields_are_validated,
);
