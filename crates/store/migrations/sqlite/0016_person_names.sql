-- ZITADEL keeps a human's given and family name beside the display name (its profile), and
-- answers them in GetUserByID; users made through the Identity Toolkit have neither.
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
