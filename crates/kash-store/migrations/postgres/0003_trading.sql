-- Trading: the double-entry ledger, markets and their market-maker state, positions, trades,
-- their timelines, idempotency records, redemptions and revenue-share accruals.
-- USDC is atomic BIGINT; WAD quantities (supplies, reserve, aggregate, tokens) are decimal
-- TEXT because they exceed 64 bits. Keep this file and its twin for the other back-end
-- column-for-column equal (tests/schema_parity.rs checks it).

-- One row per account. kind: user | org | market | platform_fees | treasury | org_accrual |
-- org_payable | external (the outside world: deposits come from it, withdrawals go to it).
-- owner_id is the user, organization or market id ('platform' for the singletons).
CREATE TABLE ledger_accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'org', 'market', 'platform_fees', 'treasury',
        'org_accrual', 'org_payable', 'external')),
    owner_id TEXT NOT NULL,
    balance_atomic BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    CONSTRAINT ledger_accounts_kind_owner_id_key UNIQUE (kind, owner_id)
);

-- One balanced movement: its entries sum to zero. seq is the ledger sequence number
-- (a prediction's blockNumber).
CREATE TABLE ledger_transactions (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference_id TEXT,
    memo TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT ledger_transactions_id_key UNIQUE (id)
);

CREATE TABLE ledger_entries (
    seq BIGSERIAL PRIMARY KEY,
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount_atomic BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id);
CREATE INDEX ledger_entries_tx_idx ON ledger_entries (transaction_id);

-- A market and its exact market-maker state (amm.md "Market state").
CREATE TABLE markets (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    image_url TEXT,
    organization_id TEXT REFERENCES organizations (id),
    creator_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    outcome_labels TEXT NOT NULL,
    outcome_count BIGINT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('UNSEEDED', 'ACTIVE', 'FROZEN', 'RESOLVED', 'CANCELLED')),
    fee_bps BIGINT NOT NULL,
    sell_fee_bps BIGINT NOT NULL,
    supplies TEXT NOT NULL,
    reserve TEXT NOT NULL,
    aggregate TEXT NOT NULL,
    genesis_leg TEXT NOT NULL,
    balance_atomic BIGINT NOT NULL,
    volume_atomic BIGINT NOT NULL DEFAULT 0,
    seed_atomic BIGINT NOT NULL,
    winners TEXT,
    remaining_winning_supply TEXT,
    snapshot_reserve TEXT,
    snapshot_aggregate TEXT,
    snapshot_supplies TEXT,
    freeze_at BIGINT,
    resolve_at BIGINT,
    frozen_at BIGINT,
    resolved_at BIGINT,
    cancelled_at BIGINT,
    settled_at BIGINT,
    trade_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX markets_created_idx ON markets (created_at, id);
CREATE INDEX markets_phase_idx ON markets (phase, freeze_at);

-- A holder's tokens of one outcome. holder_account_id is the holder's USDC account.
-- locked_shares is the unsellable genesis leg (creators only).
CREATE TABLE positions (
    holder_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    market_id TEXT NOT NULL REFERENCES markets (id),
    outcome_index BIGINT NOT NULL,
    shares TEXT NOT NULL,
    locked_shares TEXT NOT NULL,
    cost_basis_atomic BIGINT NOT NULL,
    realized_pnl_atomic BIGINT NOT NULL,
    trade_count BIGINT NOT NULL,
    first_trade_at BIGINT,
    last_trade_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (holder_account_id, market_id, outcome_index)
);
CREATE INDEX positions_market_idx ON positions (market_id, outcome_index);

CREATE TABLE trades (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    holder_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    market_id TEXT NOT NULL REFERENCES markets (id),
    outcome_index BIGINT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    sell_mode TEXT,
    amount TEXT NOT NULL,
    measure_atomic BIGINT NOT NULL,
    daily_atomic BIGINT NOT NULL,
    tokens_requested TEXT,
    close_position BIGINT,
    status TEXT NOT NULL CHECK (status IN ('pending_confirmation', 'pending', 'validating',
        'executing', 'completed', 'failed', 'rejected')),
    correlation_id TEXT NOT NULL,
    client_request_id TEXT,
    identity_hash TEXT NOT NULL,
    ledger_tx_id TEXT,
    block_number BIGINT,
    tokens_out TEXT,
    tokens_in TEXT,
    usdc_out_atomic BIGINT,
    protocol_fee_atomic BIGINT,
    price_after TEXT,
    probability_after_micro BIGINT,
    log_index BIGINT,
    error_code TEXT,
    error_message TEXT,
    metadata TEXT NOT NULL,
    channel TEXT NOT NULL,
    api_version TEXT NOT NULL,
    confirm_token_hash TEXT,
    confirm_token_enc TEXT,
    confirm_expires_at BIGINT,
    confirmed_at BIGINT,
    latency_ms BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT,
    CONSTRAINT trades_owner_id_client_request_id_key UNIQUE (owner_id, client_request_id)
);
CREATE INDEX trades_owner_idx ON trades (owner_id, created_at, id);
CREATE INDEX trades_key_daily_idx ON trades (api_key_id, created_at);
CREATE INDEX trades_market_idx ON trades (market_id, completed_at, id);
CREATE INDEX trades_correlation_idx ON trades (correlation_id);
CREATE INDEX trades_pending_idx ON trades (status, confirm_expires_at);

-- The timeline of a trade (GET /v1/traces/{id}); data holds only the keys api.md allows.
CREATE TABLE trade_events (
    seq BIGSERIAL PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX trade_events_correlation_idx ON trade_events (correlation_id, seq);

-- Idempotency-Key records: the response for 24 h (expires_at), then a tombstone until
-- tombstone_until. key_hash is SHA-256 of the key, so no client text is kept.
CREATE TABLE idempotency_keys (
    owner_id TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    route TEXT NOT NULL,
    identity_hash TEXT NOT NULL,
    status_code BIGINT,
    response_body TEXT,
    trade_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tombstone_until BIGINT NOT NULL,
    PRIMARY KEY (owner_id, key_hash)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

CREATE TABLE redemptions (
    id TEXT PRIMARY KEY,
    holder_account_id TEXT NOT NULL REFERENCES ledger_accounts (id),
    owner_id TEXT NOT NULL,
    market_id TEXT NOT NULL REFERENCES markets (id),
    outcome_index BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('resolved', 'cancelled')),
    shares TEXT NOT NULL,
    payout_atomic BIGINT NOT NULL,
    status TEXT NOT NULL,
    automatic BIGINT NOT NULL,
    ledger_tx_id TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT redemptions_holder_account_id_market_id_outcome_index_key UNIQUE (holder_account_id, market_id, outcome_index)
);

-- Trade-level revenue share (organizations-embeds-portal.md §2), written in the trade's
-- own transaction.
CREATE TABLE revenue_accruals (
    trade_id TEXT PRIMARY KEY REFERENCES trades (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    market_id TEXT NOT NULL REFERENCES markets (id),
    partner_id TEXT,
    channel TEXT NOT NULL,
    fee_atomic BIGINT NOT NULL,
    share_bps BIGINT NOT NULL,
    share_atomic BIGINT NOT NULL,
    accrued_at BIGINT NOT NULL,
    settled_at BIGINT
);
CREATE INDEX revenue_accruals_org_idx ON revenue_accruals (organization_id, accrued_at);
