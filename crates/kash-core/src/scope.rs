//! API key scopes (`api.md` §3).

use std::fmt;
use std::str::FromStr;

use crate::tier::Tier;

/// One permission an API key may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    MarketsRead,
    MarketsQuote,
    PortfolioRead,
    TradesRead,
    TradesWrite,
    WebhooksManage,
    AuthManage,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::MarketsRead,
        Scope::MarketsQuote,
        Scope::PortfolioRead,
        Scope::TradesRead,
        Scope::TradesWrite,
        Scope::WebhooksManage,
        Scope::AuthManage,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::MarketsRead => "markets:read",
            Scope::MarketsQuote => "markets:quote",
            Scope::PortfolioRead => "portfolio:read",
            Scope::TradesRead => "trades:read",
            Scope::TradesWrite => "trades:write",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::AuthManage => "auth:manage",
        }
    }

    /// The scopes a key of `tier` gets when issuance names none.
    pub fn defaults_for(tier: Tier) -> Vec<Scope> {
        let mut scopes = vec![
            Scope::MarketsRead,
            Scope::MarketsQuote,
            Scope::PortfolioRead,
        ];
        if matches!(tier, Tier::Enterprise | Tier::Mm) {
            scopes.extend([Scope::TradesRead, Scope::TradesWrite]);
        }
        scopes
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of the seven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}` (expected one of markets:read, markets:quote, portfolio:read, trades:read, trades:write, webhooks:manage, auth:manage)")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_string()))
    }
}

/// A sorted, de-duplicated set of scopes, stored and printed as a comma list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut list: Vec<Scope> = scopes.into_iter().collect();
        list.sort();
        list.dedup();
        ScopeSet(list)
    }

    /// Parses `a,b,c` (spaces around names allowed; empty items ignored).
    pub fn parse_list(text: &str) -> Result<Self, UnknownScope> {
        let scopes = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scope::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ScopeSet::new(scopes))
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in canonical order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    /// The stored form: `a,b,c`.
    pub fn to_list(&self) -> String {
        self.names().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_canonicalises() {
        let set = ScopeSet::parse_list(" trades:write,markets:read,,markets:read ").unwrap();
        assert_eq!(set.to_list(), "markets:read,trades:write");
        assert!(ScopeSet::parse_list("markets:read,admin").is_err());
    }

    #[test]
    fn tier_defaults() {
        assert!(!Scope::defaults_for(Tier::Free).contains(&Scope::TradesWrite));
        assert!(Scope::defaults_for(Tier::Mm).contains(&Scope::TradesWrite));
        assert_eq!(Scope::defaults_for(Tier::Developer).len(), 3);
    }
}
