//! Property test of the revenue share (`organizations-embeds-portal.md` §2): random sequences
//! (fixed seed) of trades, settlement runs, payouts, clock advances, cancellations, resolutions
//! and redemptions across several organizations (flat, bracketed and 0 bps) and an operator
//! market keep every revenue invariant and the global ledger balanced; and the same sequence
//! replayed with embed renders and clicks of every organization (with random `source` labels,
//! on other organizations' sites) and random trade channels accrues exactly the same shares.

mod market_kit;

use chrono::Duration;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::keys::{IssuedKey, LimitOverrides};
use kash_service::trading::markets;
use kash_service::trading::place::{place, Caller, Placed};
use kash_service::trading::settle;
use kash_testkit::{backend_tests, Backend, TestApp, TestOptions};
use market_kit::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;

const STEPS: usize = 250;
const CHANNELS: [&str; 4] = ["api", "webapp", "embed", "x"];
const SOURCES: [&str; 4] = ["other-site.example", "", "news.example/path", "Bad Source!"];

async fn send(app: &TestApp, key: &IssuedKey, body: serde_json::Value) -> Option<String> {
    let caller = Caller {
        key: &key.record,
        api_version: "2026-08-19",
    };
    match place(&app.svc, &caller, None, body.to_string().as_bytes()).await {
        Ok(Placed::Trade { trade, status, .. }) => {
            assert_eq!(status, 201);
            Some(trade.id.clone())
        }
        Ok(Placed::Refused { problem, .. }) => {
            assert!(problem.code.status() < 500, "{problem:?}");
            None
        }
        Err(e) => panic!("trade failed: {e}"),
    }
}

/// Every revenue invariant, checked independently of the ledger check too.
async fn check(app: &TestApp, orgs: &[String]) {
    assert_ledger_balanced(app).await;
    let totals = kash_store::accruals::totals(app.svc.db.reader())
        .await
        .unwrap();
    for org in orgs {
        let rec = kash_store::orgs::get(app.svc.db.reader(), org)
            .await
            .unwrap()
            .unwrap();
        let e = kash_service::revenue::earnings(&app.svc, &rec)
            .await
            .unwrap();
        let (all, unsettled, settled) = totals
            .iter()
            .find(|t| &t.0 == org)
            .map_or((0, 0, 0), |t| (t.1, t.2, t.3));
        assert_eq!(all, e.accrued_atomic + e.payable_atomic + e.paid_atomic);
        assert_eq!(unsettled, e.accrued_atomic);
        assert_eq!(settled - e.paid_atomic, e.payable_atomic);
    }
}

/// One replay of the seeded sequence; returns the accruals in trade order:
/// `(step, fee, bps, share, volume, org)`.
async fn run(backend: Backend, with_embeds: bool) -> Vec<(usize, i64, i64, i64, i64, String)> {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            tweak: Some(Arc::new(|s: &mut kash_service::config::Settings| {
                s.public_api_rate_scale = 1_000;
            })),
            // Settlement runs only where the sequence says (the check reads several
            // statements; an hourly run in between would race it).
            role: Some(kash_testkit::Role::Api),
            ..TestOptions::default()
        },
    )
    .await;
    let mut rng = StdRng::seed_from_u64(0x7265_7665);
    let mut noise = StdRng::seed_from_u64(0x6e6f_6973);
    let mut orgs = Vec::new();
    for (slug, bps, brackets) in [
        ("flat", 5000, None),
        ("tiered", 5000, Some("0:2000,300:3500,900:6000")),
        ("zero", 0, None),
    ] {
        let org = app.org(slug).await;
        kash_service::orgs::set_revenue_share(
            &app.svc,
            &org,
            bps,
            &match brackets {
                Some(b) => kash_service::orgs::BracketsChange::Set(b.into()),
                None => kash_service::orgs::BracketsChange::Keep,
            },
            "prop",
        )
        .await
        .unwrap();
        fund(&app, &Owner::Org(org.clone()), "100000").await;
        orgs.push(org);
    }
    let mut traders = Vec::new();
    for _ in 0..3 {
        let (user, key) = trader_with(&app, Tier::Mm, "1000000", LimitOverrides::default()).await;
        traders.push((user, key));
    }
    // One market per organization plus an operator market; replaced when settled.
    let new = |org: Option<String>, n: usize| {
        let mut spec = new_market(n, "20");
        spec.organization_id = org;
        spec
    };
    let mut live: Vec<(Option<String>, String, usize)> = Vec::new();
    for owner in orgs.iter().cloned().map(Some).chain([None]) {
        let n = rng.gen_range(2..=4usize);
        let id = markets::create(&app.svc, &new(owner.clone(), n), "prop")
            .await
            .unwrap()
            .id;
        live.push((owner, id, n));
    }
    let mut trades: Vec<(usize, String)> = Vec::new();
    for step in 0..STEPS {
        let slot = rng.gen_range(0..live.len());
        let (owner, m, n) = live[slot].clone();
        match rng.gen_range(0..12) {
            0..=6 => {
                if with_embeds {
                    // Renders and clicks of every organization's embed, labelled with
                    // sources, anywhere: analytics only.
                    for org in &orgs {
                        let source = SOURCES[noise.gen_range(0..SOURCES.len())];
                        let resp = app
                            .http
                            .post(app.url("/api/embeds/renders"))
                            .json(&json!({"kind": "organization", "id": org, "source": source}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(resp.status(), 202);
                    }
                }
                let (_, key) = &traders[rng.gen_range(0..traders.len())];
                let k = rng.gen_range(0..n) as u64;
                let mut body = if rng.gen_range(0..3) < 2 {
                    let atomic: u64 = rng.gen_range(1_000_000..150_000_000);
                    let amount = kash_core::money::Usdc::from_atomic(atomic).to_human_string();
                    json!({"marketId": m, "outcomeIndex": k, "side": "buy", "amount": amount})
                } else {
                    json!({"marketId": m, "outcomeIndex": k, "side": "sell", "closePosition": true})
                };
                if with_embeds {
                    body["channel"] = json!(CHANNELS[noise.gen_range(0..CHANNELS.len())]);
                }
                if let Some(id) = send(&app, key, body).await {
                    trades.push((step, id));
                }
            }
            7 => {
                kash_service::revenue::settle(&app.svc, None).await.unwrap();
            }
            8 => {
                let org = &orgs[rng.gen_range(0..orgs.len())];
                let rec = kash_store::orgs::get(app.svc.db.reader(), org)
                    .await
                    .unwrap()
                    .unwrap();
                let payable = kash_service::revenue::earnings(&app.svc, &rec)
                    .await
                    .unwrap()
                    .payable_atomic;
                if payable > 0 {
                    let part = if rng.gen_bool(0.5) {
                        None
                    } else {
                        Some(kash_core::money::Usdc::from_atomic(
                            rng.gen_range(1..=payable as u64),
                        ))
                    };
                    kash_service::revenue::payout(&app.svc, org, part, "prop")
                        .await
                        .unwrap();
                }
            }
            9 => app.clock.advance(Duration::hours(rng.gen_range(1..96))),
            _ => {
                if rng.gen_bool(0.5) {
                    markets::cancel(&app.svc, &m, false, "prop").await.unwrap();
                    for (user, _) in &traders {
                        for k in 0..n as i64 {
                            let _ =
                                settle::redeem(&app.svc, &Owner::User(user.clone()), &m, k, None)
                                    .await
                                    .unwrap();
                        }
                    }
                } else {
                    markets::resolve(&app.svc, &m, &[rng.gen_range(0..n)], "prop")
                        .await
                        .unwrap();
                }
                settle::settle_market(&app.svc, &m).await.unwrap();
                let n = rng.gen_range(2..=4usize);
                let id = markets::create(&app.svc, &new(owner.clone(), n), "prop")
                    .await
                    .unwrap()
                    .id;
                live[slot] = (owner, id, n);
            }
        }
        if step % 25 == 24 {
            check(&app, &orgs).await;
        }
    }
    app.clock.advance(Duration::days(8));
    kash_service::revenue::settle(&app.svc, None).await.unwrap();
    check(&app, &orgs).await;
    let mut out = Vec::new();
    for (step, id) in trades {
        let rows = kash_store::accruals::of_trade(app.svc.db.reader(), &id)
            .await
            .unwrap();
        assert!(rows.len() <= 1);
        for a in rows {
            assert!(
                a.settled_at.is_some(),
                "past the hold, every accrual settled"
            );
            let org = orgs.iter().position(|o| *o == a.organization_id).unwrap();
            out.push((
                step,
                a.fee_atomic,
                a.share_bps,
                a.share_atomic,
                a.volume_atomic,
                org.to_string(),
            ));
        }
    }
    // Bracketed org: both rates below the top occurred (the sequence crosses thresholds).
    let tiered: std::collections::BTreeSet<i64> =
        out.iter().filter(|a| a.5 == "1").map(|a| a.2).collect();
    assert!(
        tiered.len() >= 2,
        "the sequence never crossed a bracket: {tiered:?}"
    );
    out
}

async fn random_sequences_keep_revenue_invariants(backend: Backend) {
    let plain = run(backend, false).await;
    assert!(plain.len() > 50, "too few accruals: {}", plain.len());
    let with_embeds = run(backend, true).await;
    assert_eq!(
        plain, with_embeds,
        "accruals depend on embeds, sources or channels"
    );
}

backend_tests!(random_sequences_keep_revenue_invariants);
