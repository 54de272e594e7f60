-- ZITADEL's user metadata: an application's key-value pairs on a user, kept as given.
CREATE TABLE user_metadata (
    realm_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    CONSTRAINT user_metadata_pkey PRIMARY KEY (realm_id, user_id, key),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
