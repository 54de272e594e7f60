-- A code links to the message that carries it, no longer the message to its code. Message ids
-- are time-ordered (UUIDv7), so the new index grows at its end, where the old one, keyed by the
-- code's hash, took a random leaf per message; and a code's link still goes with the code
-- (the sweep, a removed factor or user) without the message needing an index to be found.
-- SQLite drops a column with a foreign key only by rebuilding the table.
CREATE TEMP TABLE code_messages AS
    SELECT challenge_id, MAX(id) AS delivery_id FROM deliveries
    WHERE challenge_id IS NOT NULL GROUP BY challenge_id;

CREATE TABLE deliveries_rebuilt (
    id              TEXT PRIMARY KEY,
    realm_id        TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,                 -- sms | email
    destination     TEXT NOT NULL,
    master_key_id   TEXT NOT NULL,
    sealed_content  BLOB NOT NULL,
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
INSERT INTO deliveries_rebuilt (id, realm_id, channel, destination, master_key_id, sealed_content,
    status, attempts, next_attempt_at, expires_at, claimed_by, claimed_until, last_error, created_at, sent_at)
SELECT id, realm_id, channel, destination, master_key_id, sealed_content,
    status, attempts, next_attempt_at, expires_at, claimed_by, claimed_until, last_error, created_at, sent_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'queued';
CREATE INDEX deliveries_realm ON deliveries (realm_id, created_at);
CREATE INDEX deliveries_done ON deliveries (created_at) WHERE status <> 'queued';

ALTER TABLE challenges ADD COLUMN delivery_id TEXT REFERENCES deliveries(id) ON DELETE SET NULL;
UPDATE challenges SET delivery_id =
    (SELECT delivery_id FROM code_messages WHERE code_messages.challenge_id = challenges.id);
DROP TABLE code_messages;
-- Partial: the codes without a message (TOTP enrolments) stay out of it, so that their
-- inserts and deletes never touch it.
CREATE INDEX challenges_delivery ON challenges (delivery_id) WHERE delivery_id IS NOT NULL;
