//! The "Required properties" of `amm.md`, as property tests over random trade sequences with
//! every holder modelled explicitly (the creator holds the genesis legs; traders hold the rest).

use kash_core::amm::{
    self, buy, derive, genesis, sell, sell_for_target, AmmError, MarketState, Settlement,
};
use kash_core::money::{Usdc, SUPPLY_CAP, WAD};
use kash_core::numbers::Micro;
use proptest::prelude::*;
use ruint::aliases::U256;

const TRADERS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Buy {
        trader: usize,
        outcome: usize,
        amount: u64,
    },
    /// Sells `holding · numerator / 2^16` tokens (at least one).
    Sell {
        trader: usize,
        outcome: usize,
        numerator: u32,
    },
    SellTarget {
        trader: usize,
        outcome: usize,
        amount: u64,
    },
}

/// Holdings per holder and outcome: holder 0 is the creator, `1..=TRADERS` the traders.
#[derive(Clone, Debug)]
struct Model {
    state: MarketState,
    holdings: Vec<Vec<U256>>,
}

impl Model {
    fn new(n: usize, seed: u64, fee_bps: u32, sell_fee_bps: u32) -> Self {
        let state = genesis(n, Usdc::from_atomic(seed), fee_bps, sell_fee_bps).unwrap();
        let mut holdings = vec![vec![U256::ZERO; n]; TRADERS + 1];
        holdings[0] = vec![state.genesis_leg; n];
        Model { state, holdings }
    }

    /// Applies `op`; refusals are fine as long as they are input errors on a valid state.
    fn apply(&mut self, op: &Op) {
        let n = self.state.outcome_count();
        match *op {
            Op::Buy {
                trader,
                outcome,
                amount,
            } => {
                let k = outcome % n;
                match buy(&self.state, k, Usdc::from_atomic(amount)) {
                    Ok(result) => {
                        self.holdings[trader][k] += result.tokens_out;
                        self.state = result.state_after;
                    }
                    Err(err) => assert_input_error(&err),
                }
            }
            Op::Sell {
                trader,
                outcome,
                numerator,
            } => {
                let k = outcome % n;
                let holding = self.holdings[trader][k];
                let scaled: U256 = (holding * U256::from(numerator)) >> 16usize;
                let t = scaled.max(U256::from(1u64));
                if t > holding {
                    return;
                }
                match sell(&self.state, k, t) {
                    Ok(result) => {
                        self.holdings[trader][k] -= t;
                        self.state = result.state_after;
                    }
                    Err(err) => assert_input_error(&err),
                }
            }
            Op::SellTarget {
                trader,
                outcome,
                amount,
            } => {
                let k = outcome % n;
                let holding = self.holdings[trader][k];
                match sell_for_target(&self.state, k, Usdc::from_atomic(amount), holding) {
                    Ok(Some((t, result))) => {
                        assert!(t <= holding);
                        self.holdings[trader][k] -= t;
                        self.state = result.state_after;
                    }
                    Ok(None) => {}
                    Err(err) => assert_input_error(&err),
                }
            }
        }
    }
}

fn assert_input_error(err: &AmmError) {
    assert!(
        matches!(err, AmmError::Range(_) | AmmError::ZeroAmount),
        "unexpected error on a valid state: {err:?}"
    );
}

fn check_invariants(model: &Model) {
    let state = &model.state;
    state.validate().unwrap();
    let n = state.outcome_count();
    // The books match: the reserve is the balance in WAD (fees leave, the AMM sell fee stays).
    assert_eq!(state.reserve, state.balance.to_wad());
    // Holdings add up to the supplies, so W and the refunds below cover every holder.
    for k in 0..n {
        let total = model.holdings.iter().fold(U256::ZERO, |acc, h| acc + h[k]);
        assert_eq!(total, state.supplies[k]);
    }
    let derived = derive(state).unwrap();
    assert!(derived.prices.iter().all(|p| !p.is_zero()), "{derived:?}");
    let shares = derived.capital_shares.iter().fold(U256::ZERO, |a, q| a + q);
    assert_eq!(shares, WAD);
    let probabilities = derived.probabilities.iter().fold(U256::ZERO, |a, p| a + p);
    assert!(probabilities <= WAD);
    assert!(probabilities + U256::from(n - 1) >= WAD, "{probabilities}");
}

/// Redeems every holding of every holder after resolving with `winners`; every claim must
/// succeed and the claims must pay out exactly the balance (the last one sweeps the dust).
fn check_resolution(model: &Model, winners: &[usize], order_seed: u64) {
    let mut state = amm::resolve(&model.state, winners).unwrap();
    let balance = u128::from(state.balance.atomic());
    let mut paid: u128 = 0;
    for (k, t) in claims_in_random_order(model, order_seed) {
        let claim = amm::redeem(&state, k, t).unwrap();
        if !winners.contains(&k) {
            assert_eq!(claim.payout, Usdc::ZERO);
        }
        paid += u128::from(claim.payout.atomic());
        state = claim.state_after;
    }
    assert_eq!(paid, balance);
    assert_eq!(state.balance, Usdc::ZERO);
    assert!(matches!(
        state.settlement,
        Settlement::Resolved { remaining_winning_supply, .. } if remaining_winning_supply.is_zero()
    ));
}

/// Refunds every holding after cancelling; every refund must succeed (never more than the
/// balance) and the market keeps what rounding leaves.
fn check_cancellation(model: &Model, order_seed: u64) {
    let mut state = amm::cancel(&model.state).unwrap();
    let balance = u128::from(state.balance.atomic());
    let mut paid: u128 = 0;
    for (k, t) in claims_in_random_order(model, order_seed) {
        let refund = amm::redeem(&state, k, t).unwrap();
        paid += u128::from(refund.payout.atomic());
        state = refund.state_after;
    }
    assert!(paid <= balance);
    assert_eq!(u128::from(state.balance.atomic()), balance - paid);
}

/// Every (outcome, holding) pair, shuffled so that any holder may be the last claimer.
fn claims_in_random_order(model: &Model, seed: u64) -> Vec<(usize, U256)> {
    let mut claims: Vec<(usize, U256)> = model
        .holdings
        .iter()
        .flat_map(|holder| holder.iter().copied().enumerate())
        .collect();
    let mut x = seed | 1;
    for i in (1..claims.len()).rev() {
        // xorshift64: any fixed permutation source will do; proptest varies the seed.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        claims.swap(i, (x % (i as u64 + 1)) as usize);
    }
    claims
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 1u64..=1_000_000_000,
        3 => 1u64..=1_000_000_000_000,
        1 => any::<u64>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let trader = 1..=TRADERS;
    let outcome = 0usize..100;
    prop_oneof![
        3 => (trader.clone(), outcome.clone(), amount())
            .prop_map(|(trader, outcome, amount)| Op::Buy { trader, outcome, amount }),
        2 => (trader.clone(), outcome.clone(), 0u32..=65_536)
            .prop_map(|(trader, outcome, numerator)| Op::Sell { trader, outcome, numerator }),
        1 => (trader, outcome, amount())
            .prop_map(|(trader, outcome, amount)| Op::SellTarget { trader, outcome, amount }),
    ]
}

fn market() -> impl Strategy<Value = (usize, u64, u32, u32)> {
    (
        prop_oneof![4 => 2usize..=8, 1 => 9usize..=100],
        prop_oneof![3 => 20_000_000u64..=1_000_000_000, 1 => 20_000_000u64..=u64::MAX],
        prop_oneof![Just(100u32), 0u32..=500],
        prop_oneof![Just(50u32), 0u32..=10_000],
    )
}

fn model_after_ops() -> impl Strategy<Value = Model> {
    (market(), prop::collection::vec(op(), 0..24)).prop_map(|((n, seed, fee, sell_fee), ops)| {
        let mut model = Model::new(n, seed, fee, sell_fee);
        for op in &ops {
            model.apply(op);
        }
        model
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Prices positive, capital shares sum to WAD, probabilities to WAD minus at most n − 1,
    /// and the books stay consistent, after every step of a random sequence.
    #[test]
    fn derived_values_hold_after_every_step(
        (n, seed, fee, sell_fee) in market(),
        ops in prop::collection::vec(op(), 0..24),
    ) {
        let mut model = Model::new(n, seed, fee, sell_fee);
        check_invariants(&model);
        for op in &ops {
            model.apply(op);
            check_invariants(&model);
        }
    }

    /// Whatever the winners, the market pays every winning holding and the sweep empties it.
    #[test]
    fn balance_covers_every_resolution(
        model in model_after_ops(),
        winner_bits in any::<u128>(),
        order_seed in any::<u64>(),
    ) {
        let n = model.state.outcome_count();
        let mut winners: Vec<usize> =
            (0..n.min(128)).filter(|i| winner_bits >> i & 1 == 1).collect();
        if winners.is_empty() {
            winners.push((winner_bits % n as u128) as usize);
        }
        check_resolution(&model, &winners, order_seed);
        check_resolution(&model, &winners[..1], order_seed);
    }

    /// After cancellation every holding is refunded without exceeding the balance.
    #[test]
    fn balance_covers_every_cancellation(model in model_after_ops(), order_seed in any::<u64>()) {
        check_cancellation(&model, order_seed);
    }

    /// Buying and immediately selling the same tokens never returns more than was paid.
    #[test]
    fn round_trip_never_profits(
        model in model_after_ops(),
        outcome in 0usize..100,
        amount in amount(),
    ) {
        let k = outcome % model.state.outcome_count();
        let paid = Usdc::from_atomic(amount);
        let Ok(bought) = buy(&model.state, k, paid) else { return Ok(()); };
        prop_assume!(!bought.tokens_out.is_zero());
        match sell(&bought.state_after, k, bought.tokens_out) {
            Ok(sold) => prop_assert!(sold.payout <= paid, "{} > {}", sold.payout, paid),
            Err(err) => assert_input_error(&err),
        }
    }

    /// The target search returns the smallest sufficient t, or None only when the whole
    /// holding falls short.
    #[test]
    fn sell_for_target_is_minimal(
        model in model_after_ops(),
        trader in 1..=TRADERS,
        outcome in 0usize..100,
        fraction in 1u64..=1_100,
    ) {
        let n = model.state.outcome_count();
        let k = outcome % n;
        let holding = model.holdings[trader][k];
        prop_assume!(!holding.is_zero());
        let Ok(full) = sell(&model.state, k, holding) else { return Ok(()); };
        // Targets from a thousandth of the full payout to 10 % beyond it.
        let target = (u128::from(full.payout.atomic()) * u128::from(fraction) / 1_000).max(1);
        let Ok(target) = u64::try_from(target) else { return Ok(()); };
        let target = Usdc::from_atomic(target);
        match sell_for_target(&model.state, k, target, holding).unwrap() {
            Some((t, result)) => {
                prop_assert!(t <= holding);
                prop_assert_eq!(result.tokens_in, t);
                prop_assert!(result.payout >= target);
                if t > U256::from(1u64) {
                    let below = sell(&model.state, k, t - U256::from(1u64)).unwrap();
                    prop_assert!(below.payout < target);
                }
            }
            None => prop_assert!(full.payout < target),
        }
    }

    /// The genesis binary market quotes 0.5 / 0.5 whatever the seed and fees.
    #[test]
    fn genesis_binary_quotes_half_half(
        seed in 20_000_000u64..=u64::MAX,
        fee in 0u32..=500,
        sell_fee in 0u32..=10_000,
    ) {
        let state = genesis(2, Usdc::from_atomic(seed), fee, sell_fee).unwrap();
        let derived = derive(&state).unwrap();
        let half = WAD / U256::from(2u64);
        prop_assert_eq!(&derived.prices, &vec![half, half]);
        prop_assert_eq!(&derived.probabilities, &vec![half, half]);
        prop_assert_eq!(&derived.capital_shares, &vec![half, half]);
        let micro = Micro::from_wad(derived.probabilities[0]).unwrap();
        prop_assert_eq!(serde_json::to_string(&micro).unwrap(), "0.5");
    }

    /// Arbitrary, possibly corrupt states and huge inputs never panic; a valid state only ever
    /// answers with input errors.
    #[test]
    fn arbitrary_states_and_inputs_never_panic(
        supplies in prop::collection::vec(big(), 0..10),
        reserve in big(),
        leg in big(),
        balance in any::<u64>(),
        fee in 0u32..=20_000,
        sell_fee in 0u32..=20_000,
        k in 0usize..12,
        g in any::<u64>(),
        t in big(),
        consistent in any::<bool>(),
    ) {
        let a = if consistent {
            amm::aggregate(&supplies).unwrap_or(U256::from(1u64))
        } else {
            reserve
        };
        let leg = if consistent { supplies.iter().copied().min().unwrap_or(leg).min(leg) } else { leg };
        let state = MarketState {
            supplies,
            reserve,
            a,
            genesis_leg: leg,
            balance: Usdc::from_atomic(balance),
            fee_bps: fee,
            sell_fee_bps: sell_fee,
            settlement: Settlement::Open,
        };
        let valid = state.validate().is_ok();
        let g = Usdc::from_atomic(g);
        let outcomes = [
            buy(&state, k, g).map(|_| ()),
            sell(&state, k, t).map(|_| ()),
            sell_for_target(&state, k, g, t).map(|_| ()),
            derive(&state).map(|_| ()),
            amm::resolve(&state, &[k]).map(|_| ()),
            amm::cancel(&state)
                .and_then(|cancelled| amm::redeem(&cancelled, k, t))
                .map(|_| ()),
        ];
        for outcome in outcomes {
            if let Err(err) = outcome {
                prop_assert_eq!(err.is_corrupt_state(), !valid, "{:?}", err);
            }
        }
    }
}

/// Values spread over the whole range, with extra weight near the supply cap and near zero.
fn big() -> impl Strategy<Value = U256> {
    prop_oneof![
        2 => any::<u128>().prop_map(U256::from),
        1 => any::<[u64; 4]>().prop_map(U256::from_limbs),
        1 => (0u64..1_000_000).prop_map(|d| SUPPLY_CAP - U256::from(d)),
        1 => (1u64..1_000_000).prop_map(U256::from),
    ]
}
