-- Machine users: the service accounts behind personal access tokens, each with a role.
CREATE TABLE machine_users (
    id         TEXT PRIMARY KEY,
    realm_id   TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT machine_users_realm_username_key UNIQUE (realm_id, username)
);

ALTER TABLE pats ADD COLUMN machine_user_id TEXT REFERENCES machine_users(id) ON DELETE CASCADE;

-- PATs made before machine users existed were instance administrators' tokens.
INSERT INTO machine_users (id, realm_id, username, role, created_at)
SELECT DISTINCT 'm-' || realm_id || '-' || principal, realm_id, principal, 'IAM_OWNER', 0
FROM pats;

UPDATE pats SET machine_user_id = 'm-' || realm_id || '-' || principal;

-- Contact data waiting for proof (ZITADEL SetEmail / SetPhone with a code): one per kind.
CREATE TABLE contact_codes (
    realm_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,             -- email | phone
    value         TEXT NOT NULL,
    code_hash     BLOB NOT NULL,
    expires_at    BIGINT NOT NULL,
    attempts_left INTEGER NOT NULL,
    PRIMARY KEY (realm_id, user_id, kind),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);

-- ZITADEL session service v2: sessions and the factors checked in them.
CREATE TABLE login_sessions (
    id                   TEXT PRIMARY KEY,
    realm_id             TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id              TEXT,
    token_hash           BLOB NOT NULL,
    user_checked_at      BIGINT,
    password_checked_at  BIGINT,
    totp_checked_at      BIGINT,
    otp_sms_checked_at   BIGINT,
    otp_email_checked_at BIGINT,
    webauthn_checked_at  BIGINT,
    webauthn_verified    BIGINT,           -- 1 when the user was verified (PIN, biometrics)
    webauthn_state       TEXT,             -- the pending WebAuthn authentication, as JSON
    otp_sms_code         BLOB,             -- HMAC of the code under a master-key-derived key
    otp_sms_expires_at   BIGINT,
    otp_sms_attempts     INTEGER,
    otp_email_code       BLOB,
    otp_email_expires_at BIGINT,
    otp_email_attempts   INTEGER,
    metadata             TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    changed_at           BIGINT NOT NULL,
    expires_at           BIGINT,
    sequence             BIGINT NOT NULL
);

-- ZITADEL addresses users by id or login name across organizations.
CREATE INDEX users_id ON users (id);
CREATE INDEX users_email ON users (email);

-- A realm's WebAuthn relying party (JSON: id and origins); the server's settings when NULL.
ALTER TABLE realms ADD COLUMN webauthn_config TEXT;
