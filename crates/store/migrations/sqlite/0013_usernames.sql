-- ZITADEL's usernames: a user created through the ZITADEL dialect may carry one, and a login
-- UI's session names the user by it. Unique within the organization and matched without
-- regard to case, as ZITADEL matches login names. Identity Toolkit users have none, so both
-- indexes hold only the rows that do.
ALTER TABLE users ADD COLUMN username TEXT;
CREATE UNIQUE INDEX users_username_key ON users (realm_id, lower(username)) WHERE username IS NOT NULL;
-- A login name is looked up across organizations before the session knows its own.
CREATE INDEX users_username ON users (lower(username)) WHERE username IS NOT NULL;
