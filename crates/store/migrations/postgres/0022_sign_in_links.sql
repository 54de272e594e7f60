-- Sign-in links (`EMAIL_SIGNIN`) are for an address, which may have no user yet: a code's
-- user becomes optional, and a code is keyed by its hash alone. A user's code stays one per
-- purpose; an address's sign-in link, one per address. Expired codes are swept, through
-- their own index.
ALTER TABLE oob_codes DROP CONSTRAINT oob_codes_pkey;
ALTER TABLE oob_codes ALTER COLUMN user_id DROP NOT NULL;
DROP INDEX oob_codes_code_key;
ALTER TABLE oob_codes ADD PRIMARY KEY (code_key);
ALTER TABLE oob_codes ADD FOREIGN KEY (realm_id) REFERENCES realms(id) ON DELETE CASCADE;
CREATE UNIQUE INDEX oob_codes_of_user ON oob_codes (realm_id, user_id, request_type);
CREATE UNIQUE INDEX oob_codes_of_address ON oob_codes (realm_id, email, request_type)
    WHERE user_id IS NULL;
CREATE INDEX oob_codes_expires ON oob_codes (expires_at);
