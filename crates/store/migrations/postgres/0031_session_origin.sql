-- Who created a ZITADEL session (a machine user's or a user's id) and the fingerprint id of the
-- browser it was created for: ListSessions searches both, and shows a caller the sessions it
-- created. Sessions created before this have no creator.
ALTER TABLE login_sessions ADD COLUMN creator TEXT;
ALTER TABLE login_sessions ADD COLUMN fingerprint_id TEXT;
UPDATE login_sessions SET fingerprint_id = user_agent::jsonb ->> 'fingerprintId'
    WHERE user_agent IS NOT NULL;
CREATE INDEX login_sessions_fingerprint ON login_sessions (fingerprint_id)
    WHERE fingerprint_id IS NOT NULL;
