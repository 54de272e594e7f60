-- ZITADEL's invitations are contact codes of kind 'invite'. A resend mails the new code as the
-- invitation was mailed: to the caller's link template, naming the caller's application.
-- An invitation whose code went back to the caller is not mailed, and cannot be resent.
ALTER TABLE contact_codes ADD COLUMN invite_mailed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE contact_codes ADD COLUMN link_template TEXT;
ALTER TABLE contact_codes ADD COLUMN app_name TEXT;
