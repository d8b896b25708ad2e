-- Organizations, partners, threads and embed tracking (organizations-embeds-portal.md §1, §3).
-- Nothing here refers to markets: the market fields (thread, chapter, partner, category, tags,
-- featured, source tweet) arrive with the markets table, and a thread's derived totals are
-- computed by queries that will join it (kash-store threads.rs).
-- Keep this file and migrations/postgres/0006_orgs.sql column-for-column equal
-- (tests/schema_parity.rs checks it).

-- Volume brackets as JSON `[[threshold_atomic_usdc, bps], …]` (thresholds increasing, the
-- first 0); NULL = the flat `revenue_share_bps`. Frame ancestors as a JSON list of origins;
-- NULL = `frame-ancestors *`.
ALTER TABLE organizations ADD COLUMN revenue_brackets TEXT;
ALTER TABLE organizations ADD COLUMN frame_ancestors TEXT;
ALTER TABLE organizations ADD COLUMN updated_at BIGINT;

CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    description TEXT,
    display_name TEXT,
    tagline TEXT,
    color_primary TEXT,
    logo_url TEXT,
    website_url TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT partners_org_id_slug_key UNIQUE (org_id, slug)
);
CREATE INDEX partners_org_idx ON partners (org_id, created_at);

-- Users who work for a partner (they may propose markets for it, once proposals exist).
CREATE TABLE partner_members (
    partner_id TEXT NOT NULL REFERENCES partners (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (partner_id, user_id)
);

-- `description` is markdown, stored raw (rendered safely where shown). Times are Unix ms;
-- `status` is derived at read time from start_time/end_time, never stored.
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    partner_id TEXT REFERENCES partners (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    image TEXT,
    background_image TEXT,
    category TEXT NOT NULL,
    tags TEXT NOT NULL,
    start_time BIGINT,
    end_time BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX threads_org_idx ON threads (org_id, created_at);
CREATE INDEX threads_partner_idx ON threads (partner_id, created_at);
CREATE INDEX threads_created_idx ON threads (created_at);

-- One row per tag, for the any-match `tags` filter.
CREATE TABLE thread_tags (
    thread_id TEXT NOT NULL REFERENCES threads (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (thread_id, tag)
);
CREATE INDEX thread_tags_tag_idx ON thread_tags (tag);

-- Daily embed counters per (org, kind, target, source, UTC day). `day` is YYYY-MM-DD.
CREATE TABLE embed_daily_counters (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('market', 'thread', 'organization')),
    target_id TEXT NOT NULL,
    source TEXT NOT NULL,
    renders BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, kind, target_id, source)
);

-- Clicks by the market clicked, for per-market analytics.
CREATE TABLE embed_daily_market_clicks (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    day TEXT NOT NULL,
    market_id TEXT NOT NULL,
    source TEXT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, market_id, source)
);

-- Distinct viewers per day: a salted hash of (IP, user agent) under that day's salt. The salt
-- is deleted once its day is over, so a hash can no longer be linked to an address; raw IPs
-- are never stored.
CREATE TABLE embed_daily_viewers (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    source TEXT NOT NULL,
    viewer TEXT NOT NULL,
    PRIMARY KEY (org_id, day, kind, target_id, source, viewer)
);

-- The current day's viewer salt, shared by every instance; older days are deleted.
CREATE TABLE embed_viewer_salts (
    day TEXT PRIMARY KEY,
    salt TEXT NOT NULL
);
