-- Revenue share settlement, payouts and the revenue-events ledger
-- (organizations-embeds-portal.md §2). Keep this file and migrations/postgres/0008_revenue.sql
-- column-for-column equal (tests/schema_parity.rs checks it).

-- The trade's volume (buy amount or sell payout, atomic USDC): the organization's rolling
-- 30-day completed volume that picks its revenue-share bracket is the sum of this column.
ALTER TABLE revenue_accruals ADD COLUMN volume_atomic BIGINT NOT NULL DEFAULT 0;
CREATE INDEX revenue_accruals_unsettled_idx ON revenue_accruals (organization_id, settled_at, accrued_at);

-- Everything that moves an organization's money, written in the same transaction as the
-- movement. `account` names the ledger account `balance_after_atomic` is read from: `balance`
-- (the organization's USDC balance, the Fund) or `payable` (settled earnings awaiting payout).
CREATE TABLE revenue_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL CHECK (kind IN ('revenue_share_settled', 'payout', 'market_creation_fee',
        'trading_fee', 'redemption', 'refund', 'deposit', 'withdrawal', 'adjustment')),
    account TEXT NOT NULL CHECK (account IN ('balance', 'payable')),
    amount_atomic BIGINT NOT NULL,
    balance_after_atomic BIGINT NOT NULL,
    ledger_tx_id TEXT,
    reference_id TEXT,
    memo TEXT,
    occurred_at BIGINT NOT NULL,
    CONSTRAINT revenue_events_id_key UNIQUE (id)
);
CREATE INDEX revenue_events_org_idx ON revenue_events (org_id, occurred_at, seq);
