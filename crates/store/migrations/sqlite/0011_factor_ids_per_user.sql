-- A factor's id is its user's own, as Firebase's `mfaEnrollmentId` is ("unique to the user"):
-- an administrator may give two users' factors the same id (accounts:update, batchCreate).
-- The factors' key becomes (realm, user, id), and a code's link to its factor names all three.
-- SQLite changes a key only by rebuilding the table. The codes are rebuilt first, linked to
-- the rebuilt factors, so that dropping the old factors cascades to nothing (no table refers
-- to the codes); renaming a table rewrites the links to it.
CREATE TABLE factors_rebuilt (
    id                   TEXT NOT NULL,
    realm_id             TEXT NOT NULL,
    user_id              TEXT NOT NULL,
    kind                 TEXT NOT NULL,      -- totp | sms_otp | email_otp | webauthn
    state                TEXT NOT NULL,      -- not_ready | ready | removed
    display_name         TEXT,
    secret_sealed        BLOB,               -- TOTP secret under the master key
    master_key_id        TEXT,
    algorithm            TEXT,
    digits               INTEGER,
    period_sec           INTEGER,
    phone_number         TEXT,
    email                TEXT,
    webauthn_credential  TEXT,
    last_used_step       BIGINT,             -- RFC 6238 §5.2: one code per step
    created_at           BIGINT NOT NULL,
    enrolled_at          BIGINT,
    last_used_at         BIGINT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    PRIMARY KEY (realm_id, user_id, id),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
INSERT INTO factors_rebuilt (id, realm_id, user_id, kind, state, display_name, secret_sealed,
    master_key_id, algorithm, digits, period_sec, phone_number, email, webauthn_credential,
    last_used_step, created_at, enrolled_at, last_used_at, consecutive_failures, locked_until)
SELECT id, realm_id, user_id, kind, state, display_name, secret_sealed,
    master_key_id, algorithm, digits, period_sec, phone_number, email, webauthn_credential,
    last_used_step, created_at, enrolled_at, last_used_at, consecutive_failures, locked_until
FROM factors;

CREATE TABLE challenges_rebuilt (
    id            BLOB PRIMARY KEY,           -- SHA-256 of the client's sessionInfo
    realm_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    factor_id     TEXT,
    purpose       TEXT NOT NULL,              -- enrol | sign_in
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
        REFERENCES factors_rebuilt (realm_id, user_id, id) ON DELETE CASCADE
);
INSERT INTO challenges_rebuilt (id, realm_id, user_id, factor_id, purpose, destination, code_hash,
    pending_id, expires_at, attempts_left, consumed, created_at, delivery_id)
SELECT id, realm_id, user_id, factor_id, purpose, destination, code_hash,
    pending_id, expires_at, attempts_left, consumed, created_at, delivery_id
FROM challenges;

DROP TABLE challenges;
DROP TABLE factors;
ALTER TABLE factors_rebuilt RENAME TO factors;
ALTER TABLE challenges_rebuilt RENAME TO challenges;

-- The indexes of 0001 to 0010, but `factors_user`: the key's first columns serve it.
CREATE UNIQUE INDEX factors_phone_number_key ON factors (realm_id, user_id, phone_number) WHERE state = 'ready';
CREATE INDEX factors_not_ready ON factors (realm_id, user_id) WHERE state = 'not_ready';
CREATE INDEX factors_unfinished_keys ON factors (created_at)
    WHERE state = 'not_ready' AND kind = 'webauthn';
CREATE UNIQUE INDEX factors_one_unfinished_totp ON factors (realm_id, user_id)
    WHERE state = 'not_ready' AND kind = 'totp';
CREATE UNIQUE INDEX factors_one_email_otp ON factors (realm_id, user_id)
    WHERE state = 'ready' AND kind = 'email_otp';
CREATE INDEX challenges_expires ON challenges (expires_at);
CREATE INDEX challenges_factor ON challenges (factor_id);
CREATE INDEX challenges_user ON challenges (realm_id, user_id);
CREATE INDEX challenges_delivery ON challenges (delivery_id) WHERE delivery_id IS NOT NULL;
