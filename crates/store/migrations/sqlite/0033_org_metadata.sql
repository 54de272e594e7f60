-- ZITADEL's organization metadata: an application's key-value pairs on an organization (its
-- realm), kept as given and deleted with it.
CREATE TABLE org_metadata (
    realm_id   TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    CONSTRAINT org_metadata_pkey PRIMARY KEY (realm_id, key)
);
