-- Phone numbers as a first factor (`accounts:sendVerificationCode`, `signInWithPhoneNumber`):
-- a code sent to a number that no account has yet belongs to no user until it signs one up.
-- SQLite drops a NOT NULL only by rebuilding the table (nothing references it). A null user
-- leaves the composite foreign keys unchecked, as they should be for such a code.
CREATE TABLE challenges_rebuilt (
    id            BLOB PRIMARY KEY,           -- SHA-256 of the client's sessionInfo
    realm_id      TEXT NOT NULL,
    user_id       TEXT,                       -- null: a first-factor code for a number of no account
    factor_id     TEXT,
    purpose       TEXT NOT NULL,              -- enrol | sign_in | first_factor
    destination   TEXT,
    code_hash     BLOB NOT NULL,              -- SHA-256(sessionInfo || code); empty for TOTP enrolment
    pending_id    BLOB,                       -- the pending sign-in a sign-in challenge belongs to
    expires_at    BIGINT NOT NULL,
    attempts_left INTEGER NOT NULL,
    consumed      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    delivery_id   TEXT REFERENCES deliveries(id) ON DELETE SET NULL,
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, user_id, factor_id)
        REFERENCES factors (realm_id, user_id, id) ON DELETE CASCADE
);
INSERT INTO challenges_rebuilt (id, realm_id, user_id, factor_id, purpose, destination, code_hash,
    pending_id, expires_at, attempts_left, consumed, created_at, delivery_id)
SELECT id, realm_id, user_id, factor_id, purpose, destination, code_hash,
    pending_id, expires_at, attempts_left, consumed, created_at, delivery_id
FROM challenges;
DROP TABLE challenges;
ALTER TABLE challenges_rebuilt RENAME TO challenges;
CREATE INDEX challenges_expires ON challenges (expires_at);
CREATE INDEX challenges_user ON challenges (realm_id, user_id);
CREATE INDEX challenges_delivery ON challenges (delivery_id) WHERE delivery_id IS NOT NULL;

-- Whether a project's end users may sign in (and up) with a phone number
-- (`signIn.phoneNumber.enabled`); dev mode allows it everywhere, as the emulator does.
ALTER TABLE realms ADD COLUMN phone_sign_in INTEGER NOT NULL DEFAULT 0;
