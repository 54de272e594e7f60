-- The durable outbox: every SMS and email is queued in the transaction that issues its code,
-- then sent by a worker on any node. The content (code included) is sealed under the master key.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    realm_id        TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,                 -- sms | email
    destination     TEXT NOT NULL,
    master_key_id   TEXT NOT NULL,
    sealed_content  BLOB NOT NULL,
    challenge_id    BLOB REFERENCES challenges(id) ON DELETE SET NULL,
    status          TEXT NOT NULL,                 -- queued | sent | failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'queued';
CREATE INDEX deliveries_realm ON deliveries (realm_id, created_at);
CREATE INDEX deliveries_challenge ON deliveries (challenge_id);

-- Abuse limits shared by every node: one row per limit key and fixed window.
CREATE TABLE rate_counters (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- The dev outbox kept codes in the clear; the deliveries table replaces it.
DROP TABLE outbox;
