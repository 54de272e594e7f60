-- Two indexes that 0010 and 0011 left with nothing to do. Every write of a code or a TOTP
-- enrolment paid for them: each is one more leaf, on a random key, written to the log.
-- `challenges_factor` served a code's link to its factor by id alone. Since 0011 the link
-- names the factor's realm, user and id, and `challenges_user` (realm, user) finds a
-- factor's codes among its user's few when the factor goes.
DROP INDEX challenges_factor;
-- `factors_not_ready` served the replacement of a user's unfinished TOTP enrolment. Since
-- 0010 `factors_one_unfinished_totp` holds exactly those rows, and every other statement on
-- not-ready factors names the factor's whole key.
DROP INDEX factors_not_ready;
