//! Quote latency: what `GET /v1/markets/{id}/quote` computes — the trade on the stored state
//! (validation included), every after-state derived value and the `effectivePrice` float.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kash_core::amm::{buy, genesis, sell, sell_for_target, MarketState};
use kash_core::money::Usdc;
use kash_core::numbers::nearest_f64;
use ruint::aliases::U256;

/// A market with some history, so no supply sits at its genesis value; returns the state and
/// the tokens trader bought of outcome 0 (sellable).
fn traded_market(n: usize) -> (MarketState, U256) {
    let mut state = genesis(n, Usdc::from_atomic(1_000_000_000), 100, 50).unwrap();
    for (k, amount) in [(1, 37_000_000u64), (n - 1, 5_123_456), (2 % n, 90_000_001)] {
        state = buy(&state, k, Usdc::from_atomic(amount))
            .unwrap()
            .state_after;
    }
    let bought = buy(&state, 0, Usdc::from_atomic(250_000_000)).unwrap();
    (bought.state_after, bought.tokens_out)
}

fn quote_benches(c: &mut Criterion) {
    for n in [2usize, 8] {
        let (state, held) = traded_market(n);
        let amount = Usdc::from_atomic(12_500_000);
        c.bench_function(&format!("buy quote, {n} outcomes"), |b| {
            b.iter(|| {
                let result = buy(black_box(&state), black_box(0), black_box(amount)).unwrap();
                let derived = result.derived_after().unwrap();
                let price = nearest_f64(U256::from(amount.atomic()), result.tokens_out);
                black_box((result, derived, price))
            })
        });
        let tokens = held / U256::from(3u64);
        c.bench_function(&format!("sell quote, {n} outcomes"), |b| {
            b.iter(|| {
                let result = sell(black_box(&state), black_box(0), black_box(tokens)).unwrap();
                let derived = result.derived_after().unwrap();
                let price = nearest_f64(U256::from(result.payout.atomic()), tokens);
                black_box((result, derived, price))
            })
        });
        // Not a quote, but the REST sell-by-amount path: a binary search over t.
        let target = sell(&state, 0, tokens).unwrap().payout;
        c.bench_function(&format!("sell for target, {n} outcomes"), |b| {
            b.iter(|| sell_for_target(black_box(&state), 0, black_box(target), held).unwrap())
        });
    }
}

criterion_group!(benches, quote_benches);
criterion_main!(benches);
