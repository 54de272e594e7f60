-- Whether the user has signed in by email link: Firebase then lists the password provider
-- for them, as for a user with a password (the emulator's `emailLinkSignin`).
ALTER TABLE users ADD COLUMN email_link_sign_in BOOLEAN NOT NULL DEFAULT FALSE;
