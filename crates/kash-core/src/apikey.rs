//! The shape of API keys (`api.md` §3). Generation and hashing need randomness and secrets and
//! live with the service layer; the format rules live here so every crate agrees on them.

use std::fmt;
use std::str::FromStr;

/// The environment a server runs in; a key of the other environment is unknown to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    Live,
    Test,
}

impl Environment {
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Test => "test",
        }
    }

    /// `kash_live_` or `kash_test_`.
    pub fn key_prefix(self) -> String {
        format!("kash_{}_", self.as_str())
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Environment::Live),
            "test" => Ok(Environment::Test),
            other => Err(format!(
                "unknown environment `{other}` (expected live or test)"
            )),
        }
    }
}

/// Length of the random part of a key.
pub const KEY_SECRET_LEN: usize = 32;

/// Checks `^kash_(live|test)_[A-Za-z0-9]{32}$` without a regex engine (the gate runs this on
/// every request) and returns the environment the key claims.
pub fn key_environment(key: &str) -> Option<Environment> {
    let rest = key.strip_prefix("kash_")?;
    let (env, secret) = if let Some(s) = rest.strip_prefix("live_") {
        (Environment::Live, s)
    } else if let Some(s) = rest.strip_prefix("test_") {
        (Environment::Test, s)
    } else {
        return None;
    };
    (secret.len() == KEY_SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(env)
}

/// The display hint kept beside the hash: the prefix and the last four characters.
pub fn key_hint(key: &str) -> String {
    let env_prefix_len = "kash_test_".len();
    let tail = key.len().saturating_sub(4);
    match (key.get(..env_prefix_len), key.get(tail..)) {
        (Some(prefix), Some(last)) => format!("{prefix}…{last}"),
        _ => "…".to_string(),
    }
}

/// Replaces anything that looks like a key (`kash_live_…`/`kash_test_…`) with a redaction
/// marker, so keys can never reach a log line even by accident.
pub fn redact_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("kash_") {
        out.push_str(&rest[..pos]);
        let candidate = &rest[pos..];
        let env_len = if candidate.starts_with("kash_live_") || candidate.starts_with("kash_test_")
        {
            "kash_live_".len()
        } else {
            0
        };
        if env_len == 0 {
            out.push_str("kash_");
            rest = &candidate[5..];
            continue;
        }
        let secret_len = candidate[env_len..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        out.push_str(&candidate[..env_len]);
        out.push_str("[REDACTED]");
        rest = &candidate[env_len + secret_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "kash_test_abcdefghijklmnopqrstuvwxyzABCDEF";

    #[test]
    fn shape() {
        assert_eq!(key_environment(GOOD), Some(Environment::Test));
        assert_eq!(
            key_environment(&GOOD.replace("test", "live")),
            Some(Environment::Live)
        );
        assert_eq!(key_environment(&GOOD[..GOOD.len() - 1]), None);
        assert_eq!(key_environment(&format!("{GOOD}x")), None);
        assert_eq!(key_environment(&GOOD.replace('a', "-")), None);
        assert_eq!(key_environment(&GOOD.replace("test", "prod")), None);
        assert_eq!(
            key_environment("kash_test_ÄbcdefghijklmnopqrstuvwxyzABCD"),
            None
        );
        assert_eq!(key_environment(""), None);
    }

    #[test]
    fn hint_and_redaction() {
        assert_eq!(key_hint(GOOD), "kash_test_…CDEF");
        let line = format!("header X-API-Key: {GOOD}, other kash_x and kash_live_");
        let redacted = redact_keys(&line);
        assert!(!redacted.contains("abcdefghij"));
        assert!(redacted.contains("kash_test_[REDACTED]"));
        assert!(redacted.contains("kash_x"));
    }
}
