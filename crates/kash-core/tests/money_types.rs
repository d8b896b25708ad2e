//! `Usdc` and `Wad`: parsing, formatting, arithmetic and serde.

use kash_core::money::{AmountParseError, Usdc, Wad, BPS, SUPPLY_CAP, U, WAD};
use proptest::prelude::*;
use ruint::aliases::U256;

#[test]
fn constants() {
    assert_eq!(WAD, U256::from(10u64).pow(U256::from(18u64)));
    assert_eq!(U, U256::from(10u64).pow(U256::from(12u64)));
    assert_eq!(BPS, 10_000);
    assert_eq!(SUPPLY_CAP, (U256::from(1u64) << 127) - U256::from(1u64));
}

#[test]
fn usdc_atomic_parse() {
    assert_eq!(
        Usdc::parse_atomic("12500000"),
        Ok(Usdc::from_atomic(12_500_000))
    );
    assert_eq!(Usdc::parse_atomic("0"), Ok(Usdc::ZERO));
    assert_eq!(Usdc::parse_atomic("007"), Ok(Usdc::from_atomic(7)));
    assert_eq!(Usdc::parse_atomic("18446744073709551615"), Ok(Usdc::MAX));
    for bad in [
        "", "+1", "-1", "1.5", " 1", "1 ", "1e6", "1_000", "０", "0x10",
    ] {
        assert_eq!(
            Usdc::parse_atomic(bad),
            Err(AmountParseError::NotDigits),
            "{bad:?}"
        );
    }
    let err = Usdc::parse_atomic("18446744073709551616").unwrap_err();
    assert_eq!(err.to_string(), "must be at most 18446744073709551615");
    assert_eq!(
        AmountParseError::NotDigits.to_string(),
        "must be a string of decimal digits"
    );
}

#[test]
fn usdc_human_parse() {
    let ok = |text: &str, atomic: u64| {
        assert_eq!(
            Usdc::parse_human(text),
            Ok(Usdc::from_atomic(atomic)),
            "{text:?}"
        )
    };
    ok("12.5", 12_500_000);
    ok("10", 10_000_000);
    ok("10.000000", 10_000_000);
    ok("0.000001", 1);
    ok("0", 0);
    ok("000.1", 100_000);
    ok("18446744073709.551615", u64::MAX);
    for bad in [
        "",
        ".5",
        "5.",
        "1.2345678",
        "1,5",
        "-1",
        "+1",
        "1e3",
        " 1",
        "1.2.3",
        "1..2",
        "abc",
        "1.-5",
    ] {
        let err = Usdc::parse_human(bad).unwrap_err();
        assert_eq!(err, AmountParseError::NotDecimal, "{bad:?}");
        assert_eq!(
            err.to_string(),
            "must be a decimal string with at most 6 decimal places"
        );
    }
    for too_large in [
        "18446744073709.551616",
        "18446744073710",
        "99999999999999999999999",
    ] {
        assert_eq!(
            Usdc::parse_human(too_large).unwrap_err().to_string(),
            "must be at most 18446744073709.551615"
        );
    }
}

#[test]
fn usdc_format() {
    let human = |atomic: u64| Usdc::from_atomic(atomic).to_human_string();
    assert_eq!(human(12_500_000), "12.5");
    assert_eq!(human(10_000_000), "10");
    assert_eq!(human(1), "0.000001");
    assert_eq!(human(0), "0");
    assert_eq!(human(u64::MAX), "18446744073709.551615");
    assert_eq!(Usdc::from_atomic(12_500_000).to_atomic_string(), "12500000");
    assert_eq!(Usdc::from_atomic(12_500_000).to_string(), "12500000");
}

#[test]
fn usdc_checked_arithmetic() {
    let a = Usdc::from_atomic(5);
    assert_eq!(
        a.checked_add(Usdc::from_atomic(7)),
        Some(Usdc::from_atomic(12))
    );
    assert_eq!(Usdc::MAX.checked_add(Usdc::from_atomic(1)), None);
    assert_eq!(a.checked_sub(Usdc::from_atomic(5)), Some(Usdc::ZERO));
    assert_eq!(a.checked_sub(Usdc::from_atomic(6)), None);
    assert_eq!(Usdc::MAX.to_wad(), U256::from(u64::MAX) * U);
}

#[test]
fn usdc_serde_is_the_atomic_string() {
    let amount = Usdc::from_atomic(12_500_000);
    assert_eq!(serde_json::to_string(&amount).unwrap(), "\"12500000\"");
    assert_eq!(
        serde_json::from_str::<Usdc>("\"12500000\"").unwrap(),
        amount
    );
    assert!(serde_json::from_str::<Usdc>("12500000").is_err());
    let err = serde_json::from_str::<Usdc>("\"12.5\"").unwrap_err();
    assert!(
        err.to_string()
            .contains("must be a string of decimal digits"),
        "{err}"
    );
}

#[test]
fn wad_parse_format_and_serde() {
    let one = Wad::parse("1000000000000000000").unwrap();
    assert_eq!(one, Wad::ONE);
    assert_eq!(one.to_string(), "1000000000000000000");
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        "\"1000000000000000000\""
    );
    assert_eq!(
        serde_json::from_str::<Wad>("\"1000000000000000000\"").unwrap(),
        one
    );
    assert!(serde_json::from_str::<Wad>("1").is_err());
    let max = U256::MAX.to_string();
    assert_eq!(max.len(), 78);
    assert_eq!(Wad::parse(&max), Ok(Wad::new(U256::MAX)));
    let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    assert!(matches!(
        Wad::parse(over),
        Err(AmountParseError::TooLarge { .. })
    ));
    let long = format!("0{max}");
    assert!(matches!(
        Wad::parse(&long),
        Err(AmountParseError::TooLarge { .. })
    ));
    for bad in ["", "-1", "+1", "1.0", "1_000", "0x1", " 1", "1e18"] {
        assert_eq!(Wad::parse(bad), Err(AmountParseError::NotDigits), "{bad:?}");
    }
    assert_eq!(Wad::parse("000"), Ok(Wad::ZERO));
}

fn human_pattern() -> regex::Regex {
    regex::Regex::new(r"^\d+(\.\d{1,6})?$").unwrap()
}

proptest! {
    #[test]
    fn usdc_strings_round_trip(atomic in any::<u64>()) {
        let amount = Usdc::from_atomic(atomic);
        prop_assert_eq!(Usdc::parse_atomic(&amount.to_atomic_string()), Ok(amount));
        let human = amount.to_human_string();
        prop_assert!(human_pattern().is_match(&human));
        prop_assert!(!human.contains('.') || !human.ends_with('0'));
        prop_assert_eq!(Usdc::parse_human(&human), Ok(amount));
    }

    #[test]
    fn human_parse_accepts_exactly_the_pattern(text in r"[0-9.+\- e]{0,12}") {
        let matches = human_pattern().is_match(&text);
        let parsed = Usdc::parse_human(&text);
        prop_assert_eq!(parsed.is_ok(), matches, "{:?} -> {:?}", text, parsed);
    }

    #[test]
    fn wad_strings_round_trip(limbs in any::<[u64; 4]>()) {
        let value = Wad::new(U256::from_limbs(limbs));
        prop_assert_eq!(Wad::parse(&value.to_string()), Ok(value));
    }
}
