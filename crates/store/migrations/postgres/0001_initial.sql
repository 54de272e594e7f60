-- Tessera schema, PostgreSQL flavour. Times are milliseconds since the Unix epoch (BIGINT);
-- flags are BOOLEAN. Secrets are stored only hashed (BYTEA of SHA-256) or sealed.

CREATE TABLE realms (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    tenant_id    TEXT NOT NULL DEFAULT '',  -- '' is the project's own realm
    org_id       TEXT UNIQUE,               -- the ZITADEL organization mapped to this realm
    display_name TEXT,
    mfa_config   TEXT,                      -- JSON, Identity Toolkit MultiFactorAuthConfig
    created_at   BIGINT NOT NULL,
    CONSTRAINT realms_project_tenant_key UNIQUE (project_id, tenant_id)
);

CREATE TABLE api_keys (
    key_hash   BYTEA PRIMARY KEY,
    project_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE admin_tokens (
    token_hash BYTEA PRIMARY KEY,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- ZITADEL personal access tokens of organization administrators (machine users).
CREATE TABLE pats (
    token_hash BYTEA PRIMARY KEY,
    realm_id   TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    principal  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    realm_id            TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    id                  TEXT NOT NULL,
    email               TEXT,
    email_verified      BOOLEAN NOT NULL DEFAULT FALSE,
    phone_number        TEXT,
    display_name        TEXT,
    photo_url           TEXT,
    password_hash       TEXT,
    password_updated_at BIGINT,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    valid_since         BIGINT NOT NULL,
    custom_attributes   TEXT,
    created_at          BIGINT NOT NULL,
    last_login_at       BIGINT,
    last_refresh_at     BIGINT,
    -- Ready second factors; the limit is checked by a conditional UPDATE of this column.
    ready_factors       BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT users_pkey PRIMARY KEY (realm_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (realm_id, email);
CREATE UNIQUE INDEX users_phone_number_key ON users (realm_id, phone_number);

CREATE TABLE factors (
    id                  TEXT PRIMARY KEY,
    realm_id            TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    kind                TEXT NOT NULL,      -- totp | sms_otp | email_otp | webauthn
    state               TEXT NOT NULL,      -- not_ready | ready | removed
    display_name        TEXT,
    secret_sealed       BYTEA,               -- TOTP secret under the master key
    master_key_id       TEXT,
    algorithm           TEXT,
    digits              BIGINT,
    period_sec          BIGINT,
    phone_number        TEXT,
    email               TEXT,
    webauthn_credential TEXT,
    last_used_step      BIGINT,             -- RFC 6238 §5.2: one code per step
    created_at          BIGINT NOT NULL,
    enrolled_at         BIGINT,
    last_used_at        BIGINT,
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX factors_user ON factors (realm_id, user_id);
-- One ready factor per phone number and user (SECOND_FACTOR_EXISTS).
CREATE UNIQUE INDEX factors_phone_number_key ON factors (realm_id, user_id, phone_number) WHERE state = 'ready';

CREATE TABLE challenges (
    id            BYTEA PRIMARY KEY,           -- SHA-256 of the client's sessionInfo
    realm_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    factor_id     TEXT REFERENCES factors(id) ON DELETE CASCADE,
    purpose       TEXT NOT NULL,            -- enrol | sign_in
    destination   TEXT,
    code_hash     BYTEA NOT NULL,              -- SHA-256(sessionInfo || code); empty for TOTP enrolment
    pending_id    BYTEA,                       -- the pending sign-in a sign-in challenge belongs to
    expires_at    BIGINT NOT NULL,
    attempts_left BIGINT NOT NULL,
    consumed      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);

-- Messages for the dev outbox (the Firebase emulator's verificationCodes hook reads them).
CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm_id     TEXT NOT NULL,
    challenge_id BYTEA NOT NULL REFERENCES challenges(id) ON DELETE CASCADE,
    destination  TEXT NOT NULL,
    body         TEXT NOT NULL,
    code         TEXT NOT NULL,
    session_info TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX outbox_realm ON outbox (realm_id, id);

CREATE TABLE pending_sign_ins (
    credential_hash BYTEA PRIMARY KEY,
    realm_id        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    first_factor    TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    attempts_left   BIGINT NOT NULL,             -- wrong TOTP codes allowed before it dies
    consumed        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);

CREATE TABLE refresh_tokens (
    token_hash         BYTEA PRIMARY KEY,
    realm_id           TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    issued_at          BIGINT NOT NULL,
    sign_in_provider   TEXT NOT NULL,
    auth_time          BIGINT NOT NULL,
    second_factor_kind TEXT,
    second_factor_id   TEXT
    -- No foreign key: a refresh token outlives its user so that using it can answer
    -- USER_NOT_FOUND (clients sign the user out) instead of an anonymous INVALID_REFRESH_TOKEN.
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (realm_id, user_id);

CREATE TABLE events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm_id  TEXT NOT NULL,
    user_id   TEXT,
    factor_id TEXT,
    kind      TEXT NOT NULL,
    detail    TEXT,
    at        BIGINT NOT NULL
);
CREATE INDEX events_user ON events (realm_id, user_id, at);

CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    generation         BIGINT NOT NULL UNIQUE,
    algorithm          TEXT NOT NULL,
    master_key_id      TEXT NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    certificate_pem    TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);
