//! The error catalogue of `api.md` §2: one table, so code, status and title can never disagree
//! between the server, the docs and the clients.

use std::fmt;

macro_rules! catalogue {
    ($( $variant:ident => ($code:literal, $status:literal, $title:literal $(, retry = $retry:literal)? $(, never = $never:literal)?) ),+ $(,)?) => {
        /// A stable machine-readable error code (`code` of a problem response).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode { $( $variant ),+ }

        impl ErrorCode {
            /// Every code of the catalogue, in the order of the spec's table.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),+ ];

            /// The wire code, e.g. `API_KEY_MISSING`.
            pub const fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code ),+ }
            }

            /// The HTTP status the code is always sent with.
            pub const fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status ),+ }
            }

            /// The stable `title` member, exactly the catalogue's.
            pub const fn title(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title ),+ }
            }

            /// A `Retry-After` (seconds) the catalogue fixes for this code, if any.
            pub const fn fixed_retry_after(self) -> Option<u64> {
                match self { $( ErrorCode::$variant => catalogue!(@opt $($retry)?) ),+ }
            }

            /// Codes the catalogue keeps for compatibility but this platform never emits.
            pub const fn never_emitted(self) -> bool {
                match self { $( ErrorCode::$variant => catalogue!(@bool $($never)?) ),+ }
            }
        }
    };
    (@opt $v:literal) => { Some($v) };
    (@opt) => { None };
    (@bool $v:literal) => { $v };
    (@bool) => { false };
}

catalogue! {
    ApiKeyMissing => ("API_KEY_MISSING", 401, "Authentication required"),
    ApiKeyMalformed => ("API_KEY_MALFORMED", 401, "Authentication required"),
    ApiKeyInvalid => ("API_KEY_INVALID", 401, "Authentication required"),
    ApiKeyRevoked => ("API_KEY_REVOKED", 401, "API key revoked"),
    ApiKeyExpired => ("API_KEY_EXPIRED", 401, "API key expired"),
    RequestSignatureInvalid => ("REQUEST_SIGNATURE_INVALID", 401, "Request signature invalid"),
    SessionRequired => ("SESSION_REQUIRED", 401, "Sign-in required"),
    InsufficientScope => ("INSUFFICIENT_SCOPE", 403, "Insufficient scope"),
    IpNotAllowed => ("IP_NOT_ALLOWED", 403, "IP not allowed"),
    CsrfCheckFailed => ("CSRF_CHECK_FAILED", 403, "CSRF check failed"),
    RoleNotPermitted => ("ROLE_NOT_PERMITTED", 403, "Role not permitted"),
    IpLockedOut => ("IP_LOCKED_OUT", 429, "IP locked out"),
    ValidationFailed => ("VALIDATION_FAILED", 400, "Validation failed"),
    AmountTooLarge => ("AMOUNT_TOO_LARGE", 400, "Amount too large"),
    OutcomeIndexInvalid => ("OUTCOME_INDEX_INVALID", 400, "Outcome index invalid"),
    IdempotencyKeyFormatInvalid => ("IDEMPOTENCY_KEY_FORMAT_INVALID", 400, "Idempotency key format invalid"),
    IdempotencyKeyTooLong => ("IDEMPOTENCY_KEY_TOO_LONG", 400, "Idempotency key too long"),
    ResourceNotFound => ("RESOURCE_NOT_FOUND", 404, "Not Found"),
    MarketNotFound => ("MARKET_NOT_FOUND", 404, "Market not found"),
    MethodNotAllowed => ("METHOD_NOT_ALLOWED", 405, "Method not allowed"),
    ActiveKeyLimitReached => ("ACTIVE_KEY_LIMIT_REACHED", 409, "Active key limit reached"),
    ClientRequestIdConflict => ("CLIENT_REQUEST_ID_CONFLICT", 409, "Client request id conflict"),
    IdempotencyKeyConflict => ("IDEMPOTENCY_KEY_CONFLICT", 409, "Idempotency key conflict"),
    ConfirmationExpired => ("CONFIRMATION_EXPIRED", 409, "Confirmation expired"),
    ConfirmationTokenInvalid => ("CONFIRMATION_TOKEN_INVALID", 409, "Confirmation token invalid"),
    ConfirmationTokenUsed => ("CONFIRMATION_TOKEN_USED", 409, "Confirmation token used"),
    TradeNotAwaitingConfirmation => ("TRADE_NOT_AWAITING_CONFIRMATION", 409, "Trade not awaiting confirmation"),
    InsufficientBalance => ("INSUFFICIENT_BALANCE", 409, "Insufficient balance"),
    InsufficientPosition => ("INSUFFICIENT_POSITION", 409, "Insufficient position"),
    MarketNotTradeable => ("MARKET_NOT_TRADEABLE", 409, "Market not tradeable"),
    MarketNotCancellable => ("MARKET_NOT_CANCELLABLE", 409, "Market not cancellable"),
    SpendingLimitExceeded => ("SPENDING_LIMIT_EXCEEDED", 409, "Spending limit exceeded"),
    PositionNotClaimable => ("POSITION_NOT_CLAIMABLE", 409, "Position not claimable"),
    SmartAccountNotProvisioned => ("SMART_ACCOUNT_NOT_PROVISIONED", 409, "Smart account not provisioned", never = true),
    WalletDelegationNotEnabled => ("WALLET_DELEGATION_NOT_ENABLED", 409, "Wallet delegation not enabled", never = true),
    WebhookNotConfigured => ("WEBHOOK_NOT_CONFIGURED", 409, "Webhook not configured"),
    LastOwnerRequired => ("LAST_OWNER_REQUIRED", 409, "Organization needs an owner"),
    IdempotencyKeyExpired => ("IDEMPOTENCY_KEY_EXPIRED", 410, "Idempotency key expired"),
    ApiVersionUnsupported => ("API_VERSION_UNSUPPORTED", 410, "API version unsupported"),
    PayloadTooLarge => ("PAYLOAD_TOO_LARGE", 413, "Payload too large"),
    RateLimitExceeded => ("RATE_LIMIT_EXCEEDED", 429, "Too Many Requests"),
    WebhookReplayLimitReached => ("WEBHOOK_REPLAY_LIMIT_REACHED", 429, "Replay limit reached"),
    WebhookSecretRotationCooldown => ("WEBHOOK_SECRET_ROTATION_COOLDOWN", 429, "Rotation cooldown active"),
    InternalError => ("INTERNAL_ERROR", 500, "Internal Server Error"),
    DependencyUnavailable => ("DEPENDENCY_UNAVAILABLE", 503, "Service unavailable", retry = 30),
    RateLimitUnavailable => ("RATE_LIMIT_UNAVAILABLE", 503, "Rate limit subsystem unavailable", retry = 1),
    RouteDisabled => ("ROUTE_DISABLED", 503, "Route disabled", retry = 60),
    ApiTradeProcessingHalted => ("API_TRADE_PROCESSING_HALTED", 503, "Service unavailable", retry = 300),
    RequestTimeout => ("REQUEST_TIMEOUT", 504, "Gateway timeout", retry = 5),
}

impl ErrorCode {
    /// Looks a wire code up; `None` for anything not in the catalogue.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// Whether a refusal with this code counts toward the per-IP brute-force lockout
    /// (`api.md` §3): only failures that present a wrong credential do.
    pub const fn is_credential_failure(self) -> bool {
        matches!(
            self,
            ErrorCode::ApiKeyMalformed
                | ErrorCode::ApiKeyInvalid
                | ErrorCode::ApiKeyRevoked
                | ErrorCode::ApiKeyExpired
                | ErrorCode::RequestSignatureInvalid
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert!((400..600).contains(&code.status()));
        }
        assert_eq!(ErrorCode::ALL.len(), 49);
    }

    #[test]
    fn exactly_two_codes_are_never_emitted() {
        let never: Vec<_> = ErrorCode::ALL
            .iter()
            .filter(|c| c.never_emitted())
            .collect();
        assert_eq!(
            never,
            vec![
                &ErrorCode::SmartAccountNotProvisioned,
                &ErrorCode::WalletDelegationNotEnabled
            ]
        );
    }
}
