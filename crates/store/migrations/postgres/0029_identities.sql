-- Accounts at identity providers (signInWithIdp): the user's row holds them whole, as JSON
-- (read with the row, so that nothing more is read on the paths that read users), and this
-- index finds the one user of an account at a provider, which it keeps to one per realm.
ALTER TABLE users ADD COLUMN identities TEXT;
CREATE TABLE federated_identities (
    realm_id    TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    raw_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    CONSTRAINT federated_identities_pkey PRIMARY KEY (realm_id, provider_id, raw_id),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX federated_identities_of_user ON federated_identities (realm_id, user_id);
