-- Webhook delivery state (owned by the delivery worker) and webhook secret rotation.
--
-- Per-key FIFO: among a key's active events (pending, retrying) the one with the smallest seq
-- is the head; only the head carries `next_attempt_at`, so the due index holds at most one
-- row per key and claiming work never scans queued events. `lease_*` marks an attempt in
-- flight (an expired lease is claimable again: a crashed worker loses nothing).
ALTER TABLE webhook_events ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_events ADD COLUMN run_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_events ADD COLUMN run_started_at BIGINT;
ALTER TABLE webhook_events ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE webhook_events ADD COLUMN lease_until BIGINT;
ALTER TABLE webhook_events ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_events ADD COLUMN outbox_emitted_at BIGINT;
ALTER TABLE webhook_events ADD COLUMN replay_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_events ADD COLUMN last_attempted_at BIGINT;
ALTER TABLE webhook_events ADD COLUMN last_delivered_at BIGINT;
ALTER TABLE webhook_events ADD COLUMN last_status_code BIGINT;
ALTER TABLE webhook_events ADD COLUMN last_failure_code TEXT;
ALTER TABLE webhook_events ADD COLUMN last_error_message TEXT;
ALTER TABLE webhook_events ADD COLUMN terminal_failure_at BIGINT;
-- Events not yet taken from the outbox.
CREATE INDEX webhook_events_intake_idx ON webhook_events (seq)
    WHERE outbox_emitted_at IS NULL AND status = 'pending';
-- Queue heads by due time.
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
-- A key's current head, if any (only heads have next_attempt_at).
CREATE INDEX webhook_events_head_idx ON webhook_events (api_key_id)
    WHERE next_attempt_at IS NOT NULL;
-- A key's active events in order (finding the head).
CREATE INDEX webhook_events_active_idx ON webhook_events (api_key_id, seq)
    WHERE status IN ('pending', 'retrying');
-- Listing newest first, and the usage windows.
CREATE INDEX webhook_events_key_created_idx ON webhook_events (api_key_id, created_at, seq);
-- A trade's delivery summary.
CREATE INDEX webhook_events_trade_idx ON webhook_events (trade_id, seq);

-- The previous webhook secret keeps signing (and verifying signed bodies) until
-- `webhook_secret_prev_until`; `webhook_secret_rotated_at` drives the 60 s cooldown.
ALTER TABLE api_keys ADD COLUMN webhook_secret_prev_enc TEXT;
ALTER TABLE api_keys ADD COLUMN webhook_secret_prev_until BIGINT;
ALTER TABLE api_keys ADD COLUMN webhook_secret_rotated_at BIGINT;
