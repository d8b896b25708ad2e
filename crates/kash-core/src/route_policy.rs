//! What the gate needs to know about every authenticated `/v1` route: the scopes that admit a
//! key, the kill-switch flag that can disable it, and whether it draws on the read or the
//! write budget. One table serves the gate, the operator CLI (flag names) and the docs.

use crate::scope::Scope;

/// The global trade kill switch (Kash's name): refuses new trades and confirmations with
/// `503 API_TRADE_PROCESSING_HALTED` while every read keeps working.
pub const TRADE_PROCESSING_FLAG: &str = "API_TRADE_PROCESSING";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `GET`: sliding 60 s window.
    Read,
    /// `POST`: token bucket.
    Write,
}

#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub method: &'static str,
    /// The route as axum matches it (`{id}` captures).
    pub path: &'static str,
    /// A key holding any of these scopes is admitted.
    pub scopes: &'static [Scope],
    /// Per-route kill switch (Kash's `api-<resource>-<read|write>` names).
    pub flag: &'static str,
    /// Also stopped by [`TRADE_PROCESSING_FLAG`].
    pub trade_processing: bool,
}

impl RoutePolicy {
    pub fn budget(&self) -> Budget {
        if self.method == "GET" {
            Budget::Read
        } else {
            Budget::Write
        }
    }
}

macro_rules! policies {
    ($( $method:literal $path:literal [$($scope:ident),+] $flag:literal $(trade = $trade:literal)? ;)+) => {
        /// Every authenticated `/v1` route.
        pub const V1_ROUTES: &[RoutePolicy] = &[ $(
            RoutePolicy {
                method: $method,
                path: $path,
                scopes: &[$(Scope::$scope),+],
                flag: $flag,
                trade_processing: policies!(@trade $($trade)?),
            },
        )+ ];
    };
    (@trade $v:literal) => { $v };
    (@trade) => { false };
}

policies! {
    "GET" "/v1/markets" [MarketsRead] "api-markets-read";
    "GET" "/v1/markets/{id}" [MarketsRead] "api-markets-read";
    "GET" "/v1/markets/{id}/predictions" [MarketsRead] "api-markets-read";
    "GET" "/v1/markets/{id}/quote" [MarketsQuote] "api-quotes-read";
    "POST" "/v1/markets/{id}/cancel" [TradesWrite] "api-markets-write";
    "GET" "/v1/trades" [TradesRead] "api-trades-read";
    "GET" "/v1/trades/{id}" [TradesRead] "api-trades-read";
    "POST" "/v1/trades" [TradesWrite] "api-trades-write" trade = true;
    "POST" "/v1/trades/{id}/confirm" [TradesWrite] "api-trades-write" trade = true;
    "GET" "/v1/traces/{id}" [TradesRead] "api-traces-read";
    "POST" "/v1/redemptions" [TradesWrite] "api-redemptions-write";
    "GET" "/v1/portfolio" [PortfolioRead] "api-portfolio-read";
    "GET" "/v1/portfolio/positions" [PortfolioRead] "api-portfolio-read";
    "GET" "/v1/account/usage" [AuthManage] "api-account-read";
    "GET" "/v1/webhooks/events" [WebhooksManage] "api-webhooks-read";
    "POST" "/v1/webhooks/events/{id}/redeliver" [WebhooksManage] "api-webhooks-write";
    "POST" "/v1/auth/api-keys/me/webhook-secret/rotate" [WebhooksManage, AuthManage] "api-auth-write";
    "GET" "/v1/organizations/me" [PortfolioRead] "api-organizations-read";
    "GET" "/v1/organizations/me/analytics" [PortfolioRead] "api-organizations-read";
    "GET" "/v1/organizations/me/embeds" [PortfolioRead] "api-organizations-read";
    "GET" "/v1/organizations/me/earnings" [PortfolioRead] "api-organizations-read";
    "GET" "/v1/organizations/me/revenue-events" [PortfolioRead] "api-organizations-read";
}

/// The policy of a matched route.
pub fn find(method: &str, path: &str) -> Option<&'static RoutePolicy> {
    V1_ROUTES
        .iter()
        .find(|p| p.method == method && p.path == path)
}

/// Every flag `kash-admin kill-switch set` accepts.
pub fn known_flags() -> Vec<&'static str> {
    let mut flags: Vec<&'static str> = V1_ROUTES.iter().map(|p| p.flag).collect();
    flags.push(TRADE_PROCESSING_FLAG);
    flags.sort_unstable();
    flags.dedup();
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for p in V1_ROUTES {
            assert!(
                seen.insert((p.method, p.path)),
                "duplicate {} {}",
                p.method,
                p.path
            );
            assert!(p.path.starts_with("/v1/"));
            assert!(!p.scopes.is_empty());
            assert!(p.flag.starts_with("api-"));
        }
        assert!(find("POST", "/v1/trades").unwrap().trade_processing);
        assert_eq!(find("GET", "/v1/markets").unwrap().budget(), Budget::Read);
        assert!(known_flags().contains(&"api-quotes-read"));
        assert!(known_flags().contains(&TRADE_PROCESSING_FLAG));
    }
}
