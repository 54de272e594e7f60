-- ZITADEL's recovery codes: single-use codes a user signs in with when its other factors are
-- lost. Only a MAC of each code is kept, and a code is deleted when it is used, so that of two
-- concurrent uses exactly one finds it.
CREATE TABLE recovery_codes (
    realm_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    code_hash  BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (realm_id, user_id, code_hash),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
ALTER TABLE login_sessions ADD COLUMN recovery_code_checked_at BIGINT;
