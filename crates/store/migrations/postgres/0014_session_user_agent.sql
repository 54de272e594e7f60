-- What a login UI says of the browser when it creates a ZITADEL session (`userAgent`:
-- fingerprint id, IP, description), kept as given (JSON) and answered by GetSession.
ALTER TABLE login_sessions ADD COLUMN user_agent TEXT;
