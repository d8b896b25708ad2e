//! The integer helpers against independent references.

use kash_core::amm::{isqrt, mul_div, AmmError};
use proptest::prelude::*;
use ruint::aliases::{U256, U512};

fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        any::<[u64; 4]>().prop_map(U256::from_limbs),
        any::<u128>().prop_map(U256::from),
        (any::<[u64; 4]>(), 0usize..256).prop_map(|(l, s)| U256::from_limbs(l) >> s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn isqrt_is_the_floor_root(x in any_u256()) {
        let r = U512::from(isqrt(x));
        let x = U512::from(x);
        prop_assert!(r * r <= x);
        let next = r + U512::from(1u64);
        prop_assert!(next * next > x);
    }

    #[test]
    fn isqrt_of_squares_and_neighbours(root in any::<u128>()) {
        let r = U256::from(root);
        let square = r * r;
        prop_assert_eq!(isqrt(square), r);
        if !r.is_zero() {
            prop_assert_eq!(isqrt(square - U256::from(1u64)), r - U256::from(1u64));
        }
    }

    #[test]
    fn mul_div_matches_a_512_bit_reference(a in any_u256(), b in any_u256(), d in any_u256()) {
        let got = mul_div(a, b, d);
        if d.is_zero() {
            prop_assert!(matches!(got, Err(AmmError::Range(_))));
        } else {
            let exact = U512::from(a) * U512::from(b) / U512::from(d);
            if exact > U512::from(U256::MAX) {
                prop_assert!(matches!(got, Err(AmmError::Range(_))));
            } else {
                prop_assert_eq!(U512::from(got.unwrap()), exact);
            }
        }
    }
}
