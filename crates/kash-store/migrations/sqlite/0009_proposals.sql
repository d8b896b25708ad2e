-- Market proposals (organizations-embeds-portal.md §1 "Market creation for organizations"):
-- an organization proposes, the operator approves (genesis runs and the market opens in the
-- approval's transaction, the seed paid from the organization's balance) or rejects. Keep this
-- file and migrations/postgres/0009_proposals.sql column-for-column equal.

CREATE TABLE market_proposals (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    -- proposed | live | rejected ('approved' is reserved: approval opens the market at once).
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    -- JSON list of labels (2 to 8).
    outcome_labels TEXT NOT NULL,
    freeze_at BIGINT,
    resolve_at BIGINT,
    resolution_sources TEXT,
    seed_atomic BIGINT NOT NULL,
    fee_bps BIGINT NOT NULL,
    sell_fee_bps BIGINT NOT NULL,
    -- The market fields, normalised as markets::create normalises them (which checks them
    -- again at approval). Tags: a JSON list.
    category TEXT,
    tags TEXT,
    thread_id TEXT REFERENCES threads (id),
    partner_id TEXT REFERENCES partners (id),
    source_tweet_url TEXT,
    chapter_id TEXT,
    chapter_title TEXT,
    chapter_position BIGINT,
    chapter_total BIGINT,
    proposed_by TEXT NOT NULL,
    -- Set on approval: the market it opened.
    market_id TEXT REFERENCES markets (id),
    decided_by TEXT,
    decided_at BIGINT,
    rejection_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX market_proposals_org_idx ON market_proposals (organization_id, created_at);
CREATE INDEX market_proposals_state_idx ON market_proposals (state, created_at);
