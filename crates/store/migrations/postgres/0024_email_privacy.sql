-- Identity Platform's email enumeration protection (`emailPrivacyConfig.enableImprovedEmailPrivacy`):
-- a realm with it on does not tell whether an address has an account when a password sign-in
-- fails or a password reset is asked for.
ALTER TABLE realms ADD COLUMN improved_email_privacy BOOLEAN NOT NULL DEFAULT FALSE;
