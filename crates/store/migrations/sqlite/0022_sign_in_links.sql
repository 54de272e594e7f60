-- Sign-in links (`EMAIL_SIGNIN`) are for an address, which may have no user yet: a code's
-- user becomes optional, and a code is keyed by its hash alone. A user's code stays one per
-- purpose; an address's sign-in link, one per address. Expired codes are swept, through
-- their own index. SQLite changes a key only by rebuilding the table; nothing refers to it.
CREATE TABLE oob_codes_rebuilt (
    code_key      BLOB PRIMARY KEY,
    realm_id      TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id       TEXT,                      -- none for a sign-in link
    request_type  TEXT NOT NULL,             -- VERIFY_EMAIL | PASSWORD_RESET | VERIFY_AND_CHANGE_EMAIL | EMAIL_SIGNIN
    email         TEXT NOT NULL,
    new_email     TEXT,
    expires_at    BIGINT NOT NULL,
    master_key_id TEXT NOT NULL,
    sealed        BLOB NOT NULL,
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
INSERT INTO oob_codes_rebuilt (code_key, realm_id, user_id, request_type, email, new_email,
    expires_at, master_key_id, sealed)
    SELECT code_key, realm_id, user_id, request_type, email, new_email, expires_at,
        master_key_id, sealed FROM oob_codes;
DROP TABLE oob_codes;
ALTER TABLE oob_codes_rebuilt RENAME TO oob_codes;
CREATE UNIQUE INDEX oob_codes_of_user ON oob_codes (realm_id, user_id, request_type);
CREATE UNIQUE INDEX oob_codes_of_address ON oob_codes (realm_id, email, request_type)
    WHERE user_id IS NULL;
CREATE INDEX oob_codes_expires ON oob_codes (expires_at);
