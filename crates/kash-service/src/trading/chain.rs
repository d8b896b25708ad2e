//! Chain-shaped fields (`api.md` §5): deterministic functions of ledger ids, so a client that
//! expects addresses and hashes gets stable, unique values without any chain.

use sha2::{Digest, Sha256};

fn digest(prefix: &str, id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prefix.as_bytes());
    h.update(id.as_bytes());
    h.finalize().into()
}

/// `0x` + the first 20 bytes of SHA-256(`"market:" + id`).
pub fn contract_address(market_id: &str) -> String {
    format!("0x{}", hex::encode(&digest("market:", market_id)[..20]))
}

/// `0x` + the first 20 bytes of SHA-256(`"account:" + USDC ledger account id`).
pub fn smart_account_address(account_id: &str) -> String {
    format!("0x{}", hex::encode(&digest("account:", account_id)[..20]))
}

/// `0x` + SHA-256(`"ledger-tx:" + ledger transaction id`).
pub fn tx_hash(ledger_tx_id: &str) -> String {
    format!("0x{}", hex::encode(digest("ledger-tx:", ledger_tx_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let a = contract_address("7b0d3a56-3f51-4b7e-9c55-0a2a7c1d9e10");
        assert_eq!(a.len(), 42);
        assert!(
            a.starts_with("0x")
                && a[2..]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(tx_hash("x").len(), 66);
        // SHA-256("market:abc") computed independently.
        let expected = Sha256::digest(b"market:abc");
        assert_eq!(
            contract_address("abc"),
            format!("0x{}", hex::encode(&expected[..20]))
        );
    }
}
