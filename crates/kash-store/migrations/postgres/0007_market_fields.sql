-- Market fields of organizations-embeds-portal.md §1 ("Markets gain: …"): category, tags,
-- thread and partner attribution, the operator's featured flag (a nullable time: no BOOLEAN
-- columns), the source tweet, and the chapter fields stored on the market (a chapter is the
-- group of a thread's markets sharing chapter_id). Keep this file and
-- migrations/sqlite/0007_market_fields.sql column-for-column equal.

-- Lower-cased label; 'general' when none is given.
ALTER TABLE markets ADD COLUMN category TEXT NOT NULL DEFAULT 'general';
-- JSON list of lower-cased strings.
ALTER TABLE markets ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE markets ADD COLUMN thread_id TEXT REFERENCES threads (id);
ALTER TABLE markets ADD COLUMN partner_id TEXT REFERENCES partners (id);
-- When the operator featured the market (kash-admin markets feature); NULL: not featured.
ALTER TABLE markets ADD COLUMN featured_at BIGINT;
-- https: on twitter.com, x.com, www.twitter.com or www.x.com only (checked by the service).
ALTER TABLE markets ADD COLUMN source_tweet_url TEXT;
ALTER TABLE markets ADD COLUMN chapter_id TEXT;
ALTER TABLE markets ADD COLUMN chapter_title TEXT;
ALTER TABLE markets ADD COLUMN chapter_position BIGINT;
ALTER TABLE markets ADD COLUMN chapter_total BIGINT;

CREATE INDEX markets_thread_idx ON markets (thread_id, created_at);
CREATE INDEX markets_org_idx ON markets (organization_id, created_at);
-- Trending reads the completed trades of a recent window across markets.
CREATE INDEX trades_completed_idx ON trades (completed_at);
