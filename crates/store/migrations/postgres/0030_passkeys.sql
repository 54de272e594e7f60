-- Passkeys (ZITADEL's passwordless WebAuthn credentials). They are first factors, so they live
-- apart from `factors`: nothing that counts, lists or replaces second factors sees them.
CREATE TABLE passkeys (
    realm_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    id           TEXT NOT NULL,
    state        TEXT NOT NULL,      -- not_ready | ready
    name         TEXT,
    credential   TEXT NOT NULL,      -- the open ceremony, then the credential (webauthn-rs JSON)
    created_at   BIGINT NOT NULL,
    CONSTRAINT passkeys_pkey PRIMARY KEY (realm_id, user_id, id),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
-- The sweep of registrations a browser gave up on.
CREATE INDEX passkeys_unfinished ON passkeys (created_at) WHERE state = 'not_ready';

-- Codes that let a user register a passkey without being signed in (ZITADEL's
-- CreatePasskeyRegistrationLink). Only SHA-256(id || code) is kept; a code is deleted when it
-- is used, so that of two concurrent uses exactly one finds it.
CREATE TABLE passkey_codes (
    realm_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    code_hash  BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT passkey_codes_pkey PRIMARY KEY (realm_id, user_id, id),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX passkey_codes_expiry ON passkey_codes (expires_at);
