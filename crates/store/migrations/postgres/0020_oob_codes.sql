-- Identity Toolkit's out-of-band codes (accounts:sendOobCode): the codes of emailed links that
-- verify an address, change it, or reset a password. One per user and purpose, a new one
-- replacing it; looked up by the code's hash; the code and its link kept only sealed.
CREATE TABLE oob_codes (
    realm_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    request_type  TEXT NOT NULL,             -- VERIFY_EMAIL | PASSWORD_RESET | VERIFY_AND_CHANGE_EMAIL
    code_key      BYTEA NOT NULL,
    email         TEXT NOT NULL,
    new_email     TEXT,
    expires_at    BIGINT NOT NULL,
    master_key_id TEXT NOT NULL,
    sealed        BYTEA NOT NULL,
    PRIMARY KEY (realm_id, user_id, request_type),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oob_codes_code_key ON oob_codes (code_key);
