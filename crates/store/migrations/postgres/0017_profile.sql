-- The rest of ZITADEL's profile of a human: nick name, preferred language (a language tag as
-- given) and gender ('female', 'male' or 'diverse').
ALTER TABLE users ADD COLUMN nick_name TEXT;
ALTER TABLE users ADD COLUMN preferred_language TEXT;
ALTER TABLE users ADD COLUMN gender TEXT;
