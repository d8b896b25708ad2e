-- The webhook outbox: every event is written in the same transaction as the state change
-- that raised it. `seq` orders a key's events (FIFO per key); the delivery worker owns every
-- column after `body`.
CREATE TABLE webhook_events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    event_type TEXT NOT NULL,
    api_version TEXT NOT NULL,
    trade_id TEXT,
    -- The exact JSON envelope that is sent: {id, type, apiVersion, createdAt, data}.
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- none (no webhook URL when raised) | pending | retrying | delivered | failed
    status TEXT NOT NULL CHECK (status IN ('none', 'pending', 'retrying', 'delivered', 'failed')),
    CONSTRAINT webhook_events_id_key UNIQUE (id)
);
CREATE INDEX webhook_events_key_seq_idx ON webhook_events (api_key_id, seq);
CREATE INDEX webhook_events_status_idx ON webhook_events (status, seq);
