-- Deleting a factor or a user deletes their codes and pending sign-ins (the foreign keys
-- cascade); without an index on the referencing columns, each deleted row was a scan of the
-- whole table. A TOTP enrolment start deletes the enrolment it replaces, so it needs one too.
CREATE INDEX challenges_factor ON challenges (factor_id);
CREATE INDEX challenges_user ON challenges (realm_id, user_id);
CREATE INDEX pending_sign_ins_user ON pending_sign_ins (realm_id, user_id);
