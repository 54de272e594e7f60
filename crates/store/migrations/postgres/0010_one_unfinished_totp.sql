-- One unfinished TOTP enrolment per user. A start replaces the user's unfinished one in one
-- statement (factors::insert_unfinished), and on PostgreSQL two concurrent starts each missed
-- the other's: both stayed, and ZITADEL's VerifyTOTPRegistration checked the code against
-- the older one. With this index the second insert is refused and the start is run again.
-- Of those already there, the newest stays (their codes go with the others, by cascade).
DELETE FROM factors
WHERE state = 'not_ready' AND kind = 'totp' AND EXISTS (
    SELECT 1 FROM factors AS newer
    WHERE newer.realm_id = factors.realm_id AND newer.user_id = factors.user_id
      AND newer.state = 'not_ready' AND newer.kind = 'totp'
      AND (newer.created_at > factors.created_at
           OR (newer.created_at = factors.created_at AND newer.id > factors.id)));
CREATE UNIQUE INDEX factors_one_unfinished_totp ON factors (realm_id, user_id)
    WHERE state = 'not_ready' AND kind = 'totp';
