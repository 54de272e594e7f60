-- A user's ZITADEL sessions go with the user (DeleteUser, RemoveUser, accounts:delete): found
-- through this index rather than by reading every session.
CREATE INDEX login_sessions_user ON login_sessions (realm_id, user_id) WHERE user_id IS NOT NULL;
