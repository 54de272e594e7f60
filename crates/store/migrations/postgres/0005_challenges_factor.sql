-- A TOTP enrolment start removes the user's abandoned enrolments, found through their
-- sessions (factors::remove_abandoned_enrolments): challenges by factor.
CREATE INDEX challenges_factor ON challenges (factor_id);
