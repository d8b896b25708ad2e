//! Every worked vector of `amm.md`, to the unit, plus hand-checked edge cases of the helpers.

use kash_core::amm::{
    self, buy, derive, genesis, mul_div, redeem_resolved, resolve, sell, sell_for_target, AmmError,
    MarketState, Settlement,
};
use kash_core::money::{Usdc, SUPPLY_CAP, WAD};
use kash_core::numbers::Micro;
use ruint::aliases::U256;

fn u(text: &str) -> U256 {
    text.parse().unwrap()
}

fn usdc(atomic: u64) -> Usdc {
    Usdc::from_atomic(atomic)
}

fn binary_seed_20() -> MarketState {
    genesis(2, usdc(20_000_000), 100, 50).unwrap()
}

#[test]
fn genesis_binary_seed_20() {
    let state = binary_seed_20();
    let r = u("20000000000000000000");
    assert_eq!(state.supplies, vec![r, r]);
    assert_eq!(state.reserve, r);
    assert_eq!(state.genesis_leg, r);
    assert_eq!(state.balance, usdc(20_000_000));
    assert_eq!(state.a, r * r);
    let derived = derive(&state).unwrap();
    let half = WAD / U256::from(2u64);
    assert_eq!(derived.prices, vec![half, half]);
    assert_eq!(derived.probabilities, vec![half, half]);
    assert_eq!(derived.capital_shares, vec![half, half]);
    assert_eq!(derived.liquidity, WAD);
}

#[test]
fn buy_10_usdc_on_binary_seed_20() {
    let result = buy(&binary_seed_20(), 0, usdc(10_000_000)).unwrap();
    assert_eq!(result.fee, usdc(100_000));
    assert_eq!(result.net_to_market, usdc(9_900_000));
    assert_eq!(result.x, u("9900000000000000000"));
    assert_eq!(result.tokens_out, u("17256140433490960309"));
    let after = &result.state_after;
    assert_eq!(after.reserve, u("29900000000000000000"));
    assert_eq!(after.a, u("894009999999999999963753594809506687740"));
    assert_eq!(
        after.supplies,
        vec![u("37256140433490960309"), u("20000000000000000000")]
    );
    assert_eq!(after.balance, usdc(29_900_000));
}

#[test]
fn derived_values_after_the_buy() {
    let after = buy(&binary_seed_20(), 0, usdc(10_000_000))
        .unwrap()
        .state_after;
    let derived = derive(&after).unwrap();
    assert_eq!(
        derived.prices,
        vec![u("623012381830952513"), u("334448160535117056")]
    );
    assert_eq!(
        derived.probabilities,
        vec![u("650692487328374723"), u("349307512671625276")]
    );
    assert_eq!(
        derived.capital_shares,
        vec![u("776288855829353140"), u("223711144170646860")]
    );
    assert_eq!(
        Micro::from_wad(derived.probabilities[0])
            .unwrap()
            .to_decimal_string(),
        "0.650692"
    );
}

#[test]
fn sell_back_the_bought_tokens() {
    let bought = buy(&binary_seed_20(), 0, usdc(10_000_000)).unwrap();
    let sold = sell(&bought.state_after, 0, bought.tokens_out).unwrap();
    assert_eq!(sold.released, u("9899999999999999999"));
    assert_eq!(sold.net, u("9850500000000000000"));
    assert_eq!(sold.gross, usdc(9_850_500));
    assert_eq!(sold.fee, usdc(98_505));
    assert_eq!(sold.payout, usdc(9_751_995));
    let after = &sold.state_after;
    assert_eq!(after.supplies, binary_seed_20().supplies);
    assert_eq!(after.reserve, u("20049500000000000000"));
    assert_eq!(after.balance, usdc(20_049_500));
    assert_eq!(after.a, binary_seed_20().a);
}

#[test]
fn sell_for_target_finds_the_vector_payout() {
    let bought = buy(&binary_seed_20(), 0, usdc(10_000_000)).unwrap();
    let (t, result) = sell_for_target(&bought.state_after, 0, usdc(9_751_995), bought.tokens_out)
        .unwrap()
        .unwrap();
    assert_eq!(result.payout, usdc(9_751_995));
    assert!(t <= bought.tokens_out);
    let below = sell(&bought.state_after, 0, t - U256::from(1u64)).unwrap();
    assert!(below.payout < usdc(9_751_995));
    // One atomic unit more than the whole holding can pay is out of reach.
    assert_eq!(
        sell_for_target(&bought.state_after, 0, usdc(9_751_996), bought.tokens_out).unwrap(),
        None
    );
}

#[test]
fn resolve_outcome_0_and_claim_the_bought_tokens() {
    let bought = buy(&binary_seed_20(), 0, usdc(10_000_000)).unwrap();
    let resolved = resolve(&bought.state_after, &[0]).unwrap();
    let w = u("37256140433490960309");
    assert_eq!(
        resolved.settlement,
        Settlement::Resolved {
            winners: vec![0],
            remaining_winning_supply: w
        }
    );
    let claim = redeem_resolved(&resolved, 0, bought.tokens_out).unwrap();
    assert_eq!(claim.payout, usdc(13_848_954));
    // The creator's genesis leg is the last of the winning supply: it sweeps the balance.
    let last = redeem_resolved(&claim.state_after, 0, u("20000000000000000000")).unwrap();
    assert_eq!(last.payout, usdc(29_900_000 - 13_848_954));
    assert_eq!(last.state_after.balance, Usdc::ZERO);
    assert_eq!(last.state_after.reserve, U256::ZERO);
    // Losing tokens pay nothing and change nothing.
    let losing = redeem_resolved(&resolved, 1, u("20000000000000000000")).unwrap();
    assert_eq!(losing.payout, Usdc::ZERO);
    assert_eq!(losing.state_after, resolved);
}

#[test]
fn three_outcomes_seed_50_buy_outcome_2() {
    let state = genesis(3, usdc(50_000_000), 100, 50).unwrap();
    let result = buy(&state, 2, usdc(7_654_321)).unwrap();
    assert_eq!(result.tokens_out, u("20324971086036373820"));
}

#[test]
fn weights_sum_to_wad_and_favour_the_last_outcome() {
    for n in 2..=100usize {
        let weights: Vec<U256> = (0..n).map(|i| amm::weight(n, i).unwrap()).collect();
        assert_eq!(weights.iter().fold(U256::ZERO, |a, b| a + b), WAD);
        assert_eq!(weights[0], WAD / U256::from(n));
    }
    assert_eq!(amm::weight(3, 2).unwrap(), u("333333333333333334"));
    assert_eq!(amm::weight(1, 0), Err(AmmError::InvalidOutcomeCount(1)));
    assert_eq!(
        amm::weight(2, 2),
        Err(AmmError::InvalidOutcome { index: 2, count: 2 })
    );
}

#[test]
fn mul_div_uses_the_full_product() {
    let max = U256::MAX;
    assert_eq!(mul_div(max, max, max).unwrap(), max);
    // floor(3·(2^256 − 1) / 4) = 3·2^254 − 1
    assert_eq!(
        mul_div(max, U256::from(3u64), U256::from(4u64)).unwrap(),
        (U256::from(3u64) << 254) - U256::from(1u64)
    );
    assert!(matches!(
        mul_div(max, U256::from(2u64), U256::from(1u64)),
        Err(AmmError::Range(_))
    ));
    assert!(matches!(
        mul_div(U256::from(1u64), U256::from(1u64), U256::ZERO),
        Err(AmmError::Range(_))
    ));
    assert_eq!(
        mul_div(U256::from(7u64), U256::from(3u64), U256::from(2u64)).unwrap(),
        U256::from(10u64)
    );
}

#[test]
fn isqrt_edges() {
    for x in 0u64..2000 {
        let r = amm::isqrt(U256::from(x));
        assert!(r * r <= U256::from(x));
        assert!((r + U256::from(1u64)) * (r + U256::from(1u64)) > U256::from(x));
    }
    let max = U256::MAX;
    let r = amm::isqrt(max);
    assert_eq!(r, (U256::from(1u64) << 128) - U256::from(1u64));
    let two_128 = U256::from(1u64) << 128;
    assert_eq!(amm::isqrt(two_128), U256::from(1u64) << 64);
    assert_eq!(
        amm::isqrt(two_128 - U256::from(1u64)),
        (U256::from(1u64) << 64) - U256::from(1u64)
    );
    let big = (U256::from(1u64) << 127) + U256::from(12345u64);
    let sq = big * big;
    assert_eq!(amm::isqrt(sq), big);
    assert_eq!(amm::isqrt(sq - U256::from(1u64)), big - U256::from(1u64));
}

#[test]
fn zero_amounts_are_refused() {
    let state = binary_seed_20();
    assert_eq!(buy(&state, 0, Usdc::ZERO), Err(AmmError::ZeroAmount));
    assert_eq!(sell(&state, 0, U256::ZERO), Err(AmmError::ZeroAmount));
    assert_eq!(
        sell_for_target(&state, 0, Usdc::ZERO, U256::from(1u64)),
        Err(AmmError::ZeroAmount)
    );
}

#[test]
fn the_genesis_leg_cannot_be_sold() {
    let state = binary_seed_20();
    assert_eq!(
        sell(&state, 0, U256::from(1u64)),
        Err(AmmError::ExceedsSellable)
    );
    assert_eq!(
        sell_for_target(&state, 0, usdc(1), U256::MAX).unwrap(),
        None
    );
    let bought = buy(&state, 1, usdc(1_000_000)).unwrap();
    let too_many = bought.tokens_out + U256::from(1u64);
    assert_eq!(
        sell(&bought.state_after, 1, too_many),
        Err(AmmError::ExceedsSellable)
    );
}

#[test]
fn genesis_checks_its_inputs() {
    assert_eq!(
        genesis(2, usdc(19_999_999), 100, 50),
        Err(AmmError::InvalidSeed)
    );
    assert_eq!(
        genesis(1, usdc(20_000_000), 100, 50),
        Err(AmmError::InvalidOutcomeCount(1))
    );
    assert_eq!(
        genesis(101, usdc(20_000_000), 100, 50),
        Err(AmmError::InvalidOutcomeCount(101))
    );
    assert_eq!(
        genesis(2, usdc(20_000_000), 501, 50),
        Err(AmmError::InvalidFee)
    );
    assert_eq!(
        genesis(2, usdc(20_000_000), 100, 10_001),
        Err(AmmError::InvalidFee)
    );
    assert!(genesis(100, Usdc::MAX, 500, 10_000).is_ok());
}

#[test]
fn validate_reports_corrupt_states() {
    let good = binary_seed_20();
    assert_eq!(good.validate(), Ok(()));
    let corrupt = |f: &dyn Fn(&mut MarketState)| {
        let mut state = good.clone();
        f(&mut state);
        let err = state.validate().unwrap_err();
        assert!(err.is_corrupt_state(), "{err:?}");
        // Operations refuse it the same way, so the caller can map by variant alone.
        assert!(buy(&state, 0, usdc(1)).unwrap_err().is_corrupt_state());
    };
    corrupt(&|s| s.supplies[0] = SUPPLY_CAP + U256::from(1u64));
    corrupt(&|s| s.reserve = SUPPLY_CAP + U256::from(1u64));
    corrupt(&|s| s.a = U256::ZERO);
    corrupt(&|s| s.a += U256::from(1u64));
    corrupt(&|s| s.supplies.truncate(1));
    corrupt(&|s| s.fee_bps = 501);
    corrupt(&|s| s.sell_fee_bps = 10_001);
    corrupt(&|s| s.genesis_leg += U256::from(1u64));
    corrupt(&|s| {
        s.settlement = Settlement::Resolved {
            winners: vec![1, 0],
            remaining_winning_supply: U256::ZERO,
        }
    });
}

#[test]
fn operations_respect_the_phase() {
    let state = binary_seed_20();
    let resolved = resolve(&state, &[1]).unwrap();
    assert_eq!(buy(&resolved, 0, usdc(1)), Err(AmmError::NotOpen));
    assert_eq!(resolve(&resolved, &[0]), Err(AmmError::NotOpen));
    assert_eq!(amm::cancel(&resolved), Err(AmmError::NotOpen));
    assert_eq!(
        amm::redeem(&state, 0, U256::from(1u64)),
        Err(AmmError::NotSettled)
    );
    assert_eq!(resolve(&state, &[]), Err(AmmError::InvalidWinners));
    assert_eq!(resolve(&state, &[0, 0]), Err(AmmError::InvalidWinners));
    assert_eq!(resolve(&state, &[2]), Err(AmmError::InvalidWinners));
    assert_eq!(
        redeem_resolved(&resolved, 1, U256::MAX),
        Err(AmmError::ExceedsClaimable)
    );
}

#[test]
fn cancellation_refunds_at_the_snapshot_price() {
    let bought = buy(&binary_seed_20(), 0, usdc(10_000_000)).unwrap();
    let cancelled = amm::cancel(&bought.state_after).unwrap();
    // p_0 = 623012381830952513: t · p_0 / WAD / U, floored twice.
    let refund = amm::refund_cancelled(&cancelled, 0, bought.tokens_out).unwrap();
    let expected = bought.tokens_out * u("623012381830952513") / WAD / u("1000000000000");
    assert_eq!(U256::from(refund.payout.atomic()), expected);
    assert_eq!(refund.payout, usdc(10_750_789));
    let after = &refund.state_after;
    assert_eq!(after.balance, usdc(29_900_000 - 10_750_789));
    assert_eq!(
        after.reserve,
        u("29900000000000000000") - U256::from(10_750_789u64) * u("1000000000000")
    );
    // The snapshot, not the shrinking reserve, prices later refunds.
    let again = amm::refund_cancelled(after, 0, bought.tokens_out).unwrap();
    assert_eq!(again.payout, refund.payout);
}

#[test]
fn a_state_at_the_cap_refuses_growth_with_range_errors() {
    let supplies = vec![SUPPLY_CAP, SUPPLY_CAP];
    let state = MarketState {
        a: amm::aggregate(&supplies).unwrap(),
        supplies,
        reserve: SUPPLY_CAP,
        genesis_leg: U256::from(1u64),
        balance: Usdc::MAX,
        fee_bps: 100,
        sell_fee_bps: 50,
        settlement: Settlement::Open,
    };
    assert_eq!(state.validate(), Ok(()));
    assert!(matches!(buy(&state, 0, Usdc::MAX), Err(AmmError::Range(_))));
    assert!(matches!(buy(&state, 1, usdc(1)), Err(AmmError::Range(_))));
    // Selling the whole sellable supply is fine; its gross does not fit 64 bits.
    let sellable = state.sellable(0).unwrap();
    assert!(matches!(sell(&state, 0, sellable), Err(AmmError::Range(_))));
}

#[test]
fn derived_after_matches_derive() {
    let bought = buy(&binary_seed_20(), 0, usdc(10_000_000)).unwrap();
    assert_eq!(
        bought.derived_after().unwrap(),
        derive(&bought.state_after).unwrap()
    );
    let sold = sell(&bought.state_after, 0, bought.tokens_out).unwrap();
    assert_eq!(
        sold.derived_after().unwrap(),
        derive(&sold.state_after).unwrap()
    );
    assert_eq!(
        bought.derived_after().unwrap().liquidity,
        u("1000000000000000000")
    );
}
