-- Console sessions (organizations-embeds-portal.md §6). The session id itself never reaches
-- the database: only SHA-256 of it is stored, so a copy of this table cannot sign anyone in.
-- The CSRF token is derived from the session id (HMAC), so it needs no column either.
-- `flash_enc` carries a one-time message between a POST and the page it redirects to (the
-- plaintext of a key just issued), sealed under the secrets key and cleared when shown.
-- Keep this file and migrations/sqlite/0005_console.sql column-for-column equal
-- (tests/schema_parity.rs checks it).

CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    flash_enc TEXT
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
