-- A TOTP enrolment start replaces the user's unfinished one
-- (factors::replace_unfinished_enrolment): the user's not-ready factors, without visiting
-- the removed ones, which stay.
CREATE INDEX factors_not_ready ON factors (realm_id, user_id) WHERE state = 'not_ready';
