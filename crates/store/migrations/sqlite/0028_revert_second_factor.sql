-- The link sent with each second factor enrolled (`REVERT_SECOND_FACTOR_ADDITION`) removes that
-- factor: one per factor, which a later enrolment's link must not replace. A factor removed
-- meanwhile leaves its link naming nothing, and using it is refused.
ALTER TABLE oob_codes ADD COLUMN factor_id TEXT;
DROP INDEX oob_codes_of_user;
CREATE UNIQUE INDEX oob_codes_of_user ON oob_codes (realm_id, user_id, request_type)
    WHERE request_type NOT IN ('RECOVER_EMAIL', 'REVERT_SECOND_FACTOR_ADDITION');
CREATE UNIQUE INDEX oob_codes_reverting ON oob_codes (realm_id, user_id, factor_id)
    WHERE request_type = 'REVERT_SECOND_FACTOR_ADDITION';
