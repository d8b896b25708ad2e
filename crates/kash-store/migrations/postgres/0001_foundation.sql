-- Foundation: identities, keys, audit, usage counters, kill switches.
-- Times are Unix milliseconds (BIGINT), ids are lowercase UUID text, flags are nullable
-- timestamps: one representation that both back-ends store and compare identically.
-- Keep this file and migrations/sqlite/0001_foundation.sql column-for-column equal
-- (tests/schema_parity.rs checks it).

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT,
    password_hash TEXT,
    tier TEXT NOT NULL DEFAULT 'free',
    max_active_keys BIGINT NOT NULL DEFAULT 5,
    created_at BIGINT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    display_name TEXT,
    tagline TEXT,
    color_primary TEXT,
    logo_url TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    contact_email TEXT,
    revenue_share_bps BIGINT NOT NULL CHECK (revenue_share_bps BETWEEN 0 AND 10000),
    tier TEXT NOT NULL DEFAULT 'free',
    max_active_keys BIGINT NOT NULL DEFAULT 5,
    created_at BIGINT NOT NULL,
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users (id),
    org_id TEXT REFERENCES organizations (id),
    environment TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    key_hash TEXT NOT NULL,
    hint TEXT NOT NULL,
    name TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('free', 'developer', 'enterprise', 'mm')),
    scopes TEXT NOT NULL,
    ip_allowlist TEXT,
    webhook_url TEXT,
    webhook_secret_enc TEXT,
    webhook_url_changed_at BIGINT,
    expires_at BIGINT,
    rate_limit_per_minute BIGINT,
    per_trade_cap_atomic BIGINT,
    daily_cap_atomic BIGINT,
    confirm_threshold_atomic BIGINT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_one_owner CHECK (
        (user_id IS NOT NULL AND org_id IS NULL) OR (user_id IS NULL AND org_id IS NOT NULL)
    )
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT,
    ip TEXT,
    method TEXT,
    route TEXT,
    api_key_id TEXT,
    actor TEXT,
    request_id TEXT,
    minute_bucket BIGINT,
    count BIGINT NOT NULL DEFAULT 1,
    details TEXT
);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_key_idx ON audit_events (api_key_id, occurred_at);
CREATE INDEX audit_events_ip_idx ON audit_events (ip, occurred_at);
-- One aggregated row per IP and minute for lockout refusals.
CREATE UNIQUE INDEX audit_events_lockout_idx ON audit_events (ip, minute_bucket)
    WHERE kind = 'ip_locked_out';

CREATE TABLE usage_counters (
    api_key_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    minute_bucket BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, metric, minute_bucket)
);

CREATE TABLE kill_switches (
    flag TEXT PRIMARY KEY,
    reason TEXT,
    set_by TEXT,
    set_at BIGINT NOT NULL
);
