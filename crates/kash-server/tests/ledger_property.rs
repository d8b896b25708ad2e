//! Property test: 1,000 random sequences of trades, redemptions, resolutions and
//! cancellations (fixed seed, so a failure reproduces) keep the ledger check green, every open
//! market's probabilities summing to `WAD` minus at most `n − 1`, and buy-then-sell never
//! profitable. Operations go through the same service functions the routes call.

mod market_kit;

use kash_core::amm::{derive, marginal_prices, probabilities};
use kash_core::money::WAD;
use kash_core::owner::Owner;
use kash_core::tier::Tier;
use kash_service::keys::{IssuedKey, LimitOverrides};
use kash_service::trading::markets;
use kash_service::trading::place::{place, Caller, Placed};
use kash_service::trading::settle;
use kash_testkit::{backend_tests, Backend, TestApp};
use market_kit::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ruint::aliases::U256;
use serde_json::json;

const SEQUENCES: usize = 1_000;

async fn send(
    app: &TestApp,
    key: &IssuedKey,
    body: serde_json::Value,
) -> Option<kash_store::trades::TradeRecord> {
    let caller = Caller {
        key: &key.record,
        api_version: "2026-08-19",
    };
    match place(&app.svc, &caller, None, body.to_string().as_bytes()).await {
        Ok(Placed::Trade { trade, status, .. }) => {
            assert_eq!(status, 201);
            Some(*trade)
        }
        Ok(Placed::Refused { problem, .. }) => {
            // Refusals are fine (balance, position, range); a 5xx never is.
            assert!(problem.code.status() < 500, "{problem:?}");
            None
        }
        Err(e) => panic!("trade failed: {e}"),
    }
}

async fn random_sequences_keep_the_books(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut rng = StdRng::seed_from_u64(0x6b61_7368);
    let mut traders = Vec::new();
    for _ in 0..3 {
        let (user, key) = trader_with(&app, Tier::Mm, "1000000", LimitOverrides::default()).await;
        traders.push((user, key));
    }
    for seq in 0..SEQUENCES {
        let n = rng.gen_range(2..=8usize);
        let mut spec = new_market(n, "20");
        spec.seed = kash_core::money::Usdc::from_atomic(rng.gen_range(20_000_000..200_000_000));
        spec.fee_bps = rng.gen_range(0..=500);
        spec.sell_fee_bps = rng.gen_range(0..=200);
        let m = markets::create(&app.svc, &spec, "prop").await.unwrap().id;
        for _ in 0..rng.gen_range(2..7) {
            let (_, key) = &traders[rng.gen_range(0..traders.len())];
            let k = rng.gen_range(0..n) as u64;
            match rng.gen_range(0..4) {
                0 | 1 => {
                    let atomic: u64 = rng.gen_range(1..50_000_000);
                    let amount = kash_core::money::Usdc::from_atomic(atomic).to_human_string();
                    send(
                        &app,
                        key,
                        json!({"marketId": m, "outcomeIndex": k, "side": "buy", "amount": amount}),
                    )
                    .await;
                }
                2 => {
                    let atomic: u64 = rng.gen_range(1..20_000_000);
                    let amount = kash_core::money::Usdc::from_atomic(atomic).to_human_string();
                    send(
                        &app,
                        key,
                        json!({"marketId": m, "outcomeIndex": k, "side": "sell", "amount": amount}),
                    )
                    .await;
                }
                _ => {
                    send(&app, key, json!({"marketId": m, "outcomeIndex": k, "side": "sell", "closePosition": true})).await;
                }
            }
        }
        // Buy then immediately sell the same tokens never returns more than was paid.
        let (_, key) = &traders[seq % traders.len()];
        let k = rng.gen_range(0..n) as u64;
        let paid: u64 = rng.gen_range(1..30_000_000);
        let amount = kash_core::money::Usdc::from_atomic(paid).to_human_string();
        if let Some(b) = send(
            &app,
            key,
            json!({"marketId": m, "outcomeIndex": k, "side": "buy", "amount": amount}),
        )
        .await
        {
            let tokens = b.tokens_out.clone().unwrap();
            if let Some(s) = send(
                &app,
                key,
                json!({"marketId": m, "outcomeIndex": k, "side": "sell", "tokens": tokens}),
            )
            .await
            {
                let back = s.usdc_out_atomic.unwrap() as u64;
                assert!(
                    back <= paid,
                    "sequence {seq}: bought for {paid}, sold for {back}"
                );
            }
        }
        // Probabilities of the open market sum to WAD minus at most n − 1.
        let rec = kash_store::markets::get(app.svc.db.reader(), &m)
            .await
            .unwrap()
            .unwrap();
        let state = rec.state().unwrap();
        let probs = probabilities(&marginal_prices(&state).unwrap()).unwrap();
        let sum: U256 = probs.iter().copied().sum();
        assert!(
            sum <= WAD && WAD - sum <= U256::from(n as u64 - 1),
            "sequence {seq}: Σπ = {sum}"
        );
        assert_eq!(
            derive(&state)
                .unwrap()
                .capital_shares
                .iter()
                .copied()
                .sum::<U256>(),
            WAD
        );
        // Settle some: resolve (one or two winners) or cancel, then claim everything.
        match rng.gen_range(0..4) {
            0 => {
                let mut winners = vec![rng.gen_range(0..n)];
                if rng.gen_bool(0.3) {
                    let w = rng.gen_range(0..n);
                    if !winners.contains(&w) {
                        winners.push(w);
                    }
                }
                markets::resolve(&app.svc, &m, &winners, "prop")
                    .await
                    .unwrap();
                settle::settle_market(&app.svc, &m).await.unwrap();
            }
            1 => {
                markets::cancel(&app.svc, &m, false, "prop").await.unwrap();
                for (user, _) in &traders {
                    for k in 0..n as i64 {
                        let _ = settle::redeem(&app.svc, &Owner::User(user.clone()), &m, k, None)
                            .await
                            .unwrap();
                    }
                }
                settle::settle_market(&app.svc, &m).await.unwrap();
            }
            _ => {}
        }
        if seq % 100 == 99 {
            assert_ledger_balanced(&app).await;
        }
    }
    assert_ledger_balanced(&app).await;
}

backend_tests!(random_sequences_keep_the_books);
