//! JSON numbers from integers: micro-units and the correctly rounded `effectivePrice`.

use kash_core::numbers::{micro_from_wad, nearest_f64, Micro};
use proptest::prelude::*;
use ruint::aliases::{U256, U512};

fn u(text: &str) -> U256 {
    text.parse().unwrap()
}

#[test]
fn micro_from_wad_floors() {
    assert_eq!(micro_from_wad(u("650692487328374723")), Some(650_692));
    assert_eq!(micro_from_wad(u("500000000000000000")), Some(500_000));
    assert_eq!(micro_from_wad(u("999999999999")), Some(0));
    assert_eq!(micro_from_wad(u("1000000000000")), Some(1));
    let limit = U256::from(u64::MAX) * u("1000000000000");
    assert_eq!(micro_from_wad(limit + u("999999999999")), Some(u64::MAX));
    assert_eq!(micro_from_wad(limit + u("1000000000000")), None);
}

#[test]
fn micro_text_and_json() {
    let cases = [
        (500_000, "0.5"),
        (650_692, "0.650692"),
        (1_000_000, "1"),
        (0, "0"),
        (1, "0.000001"),
        (1_234_500, "1.2345"),
    ];
    for (micro, text) in cases {
        let value = Micro::new(micro);
        assert_eq!(value.to_decimal_string(), text);
        assert_eq!(value.to_string(), text);
        assert_eq!(serde_json::to_string(&value).unwrap(), text);
    }
    #[derive(serde::Serialize)]
    struct Outcome {
        probability: Micro,
        #[serde(rename = "capitalShare")]
        capital_share: Micro,
    }
    let body = serde_json::to_string(&Outcome {
        probability: Micro::new(650_692),
        capital_share: Micro::new(776_288),
    })
    .unwrap();
    assert_eq!(body, r#"{"probability":0.650692,"capitalShare":0.776288}"#);
    assert_eq!(
        serde_json::to_string(&vec![Micro::ZERO, Micro::ONE]).unwrap(),
        "[0,1]"
    );
}

#[test]
fn nearest_f64_known_values() {
    let n = |a: u64, b: u64| nearest_f64(U256::from(a), U256::from(b));
    assert_eq!(n(0, 5), 0.0);
    assert_eq!(n(5, 0), 0.0);
    assert_eq!(n(1, 2), 0.5);
    assert_eq!(n(1, 3), 1.0 / 3.0);
    assert_eq!(n(2, 3), 2.0 / 3.0);
    assert_eq!(n(1, 10), 0.1);
    assert_eq!(n(7, 1), 7.0);
    // The buy vector: 10 USDC for 17256140433490960309 WAD tokens.
    let price = nearest_f64(U256::from(10_000_000u64), u("17256140433490960309"));
    // Python: 10000000 / 17256140433490960309 (correctly rounded int division).
    assert_eq!(price, 5.795038605847145e-13);
    // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: ties go to the even mantissa.
    assert_eq!(n((1 << 53) + 1, 1), 9007199254740992.0);
    assert_eq!(n((1 << 53) + 3, 1), 9007199254740996.0);
    // Just above the tie rounds up.
    let above_tie = nearest_f64(U256::from((1u64 << 54) + 3), U256::from(2u64));
    assert_eq!(above_tie, 9007199254740994.0);
    assert_eq!(nearest_f64(U256::MAX, U256::from(1u64)), 2f64.powi(256));
    assert_eq!(nearest_f64(U256::from(1u64), U256::MAX), 2f64.powi(-256));
    assert_eq!(nearest_f64(U256::MAX, U256::MAX), 1.0);
}

/// Reference: the exact decimal expansion of `num / den` to 400 fractional digits, with a
/// trailing `1` if anything remains, parsed by Rust's correctly rounded `f64::from_str`.
///
/// Every midpoint between neighbouring doubles in `[2^-256, 2^256]` has at most ~310 fractional
/// decimal digits, so truncating at 400 and appending a sticky digit never moves the value across
/// a midpoint.
fn reference(num: U256, den: U256) -> f64 {
    if den.is_zero() || num.is_zero() {
        return 0.0;
    }
    let (whole, remainder) = num.div_rem(den);
    let mut text = whole.to_string();
    text.push('.');
    let den = U512::from(den);
    let mut rem = U512::from(remainder);
    for _ in 0..400 {
        rem *= U512::from(10u64);
        let (digit, next) = rem.div_rem(den);
        text.push(char::from(b'0' + digit.as_limbs()[0] as u8));
        rem = next;
    }
    if !rem.is_zero() {
        text.push('1');
    }
    text.parse().unwrap()
}

fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        any::<[u64; 4]>().prop_map(U256::from_limbs),
        any::<u64>().prop_map(U256::from),
        (any::<[u64; 4]>(), 0usize..256).prop_map(|(l, s)| U256::from_limbs(l) >> s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nearest_f64_matches_the_decimal_reference(num in any_u256(), den in any_u256()) {
        prop_assert_eq!(nearest_f64(num, den).to_bits(), reference(num, den).to_bits());
    }

    /// Small operands are exact doubles, and IEEE division is correctly rounded.
    #[test]
    fn nearest_f64_matches_ieee_division(num in 0u64..(1 << 53), den in 1u64..(1 << 53)) {
        let expected = num as f64 / den as f64;
        prop_assert_eq!(nearest_f64(U256::from(num), U256::from(den)), expected);
    }

    /// Ties: odd multiples of half an ulp must round to even.
    #[test]
    fn nearest_f64_breaks_ties_to_even(mantissa in (1u64 << 52)..(1 << 53), shift in 0usize..190) {
        let tie = (U256::from(mantissa) << 1usize | U256::from(1u64)) << shift;
        let den = U256::from(1u64) << (shift + 1);
        let even = if mantissa % 2 == 0 { mantissa } else { mantissa + 1 };
        prop_assert_eq!(nearest_f64(tie, den), even as f64);
    }
}
