-- Phone numbers as a first factor (`accounts:sendVerificationCode`, `signInWithPhoneNumber`):
-- a code sent to a number that no account has yet belongs to no user until it signs one up.
ALTER TABLE challenges ALTER COLUMN user_id DROP NOT NULL;
-- Whether a project's end users may sign in (and up) with a phone number
-- (`signIn.phoneNumber.enabled`); dev mode allows it everywhere, as the emulator does.
ALTER TABLE realms ADD COLUMN phone_sign_in BOOLEAN NOT NULL DEFAULT FALSE;
