-- ZITADEL's locked state: a locked user signs in nowhere until it is unlocked (or reactivated
-- after a deactivation). Firebase's `disabled` stays the deactivated state.
ALTER TABLE users ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
