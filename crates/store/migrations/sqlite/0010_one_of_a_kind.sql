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

-- One OTP Email factor per user (ZITADEL's AddOTPEmail, the self-service page). It was
-- checked by a read before the insert, so concurrent adds on PostgreSQL all passed it. With
-- this index the second insert is refused, and answered as if it had come second. Of those
-- already there, the oldest stays ready and the others are removed (and no longer count
-- against the user's limit of ready factors).
UPDATE users SET ready_factors = ready_factors - (
    SELECT COUNT(*) - 1 FROM factors
    WHERE factors.realm_id = users.realm_id AND factors.user_id = users.id
      AND factors.state = 'ready' AND factors.kind = 'email_otp')
WHERE (SELECT COUNT(*) FROM factors
       WHERE factors.realm_id = users.realm_id AND factors.user_id = users.id
         AND factors.state = 'ready' AND factors.kind = 'email_otp') > 1;
UPDATE factors SET state = 'removed'
WHERE state = 'ready' AND kind = 'email_otp' AND EXISTS (
    SELECT 1 FROM factors AS older
    WHERE older.realm_id = factors.realm_id AND older.user_id = factors.user_id
      AND older.state = 'ready' AND older.kind = 'email_otp'
      AND (older.created_at < factors.created_at
           OR (older.created_at = factors.created_at AND older.id < factors.id)));
CREATE UNIQUE INDEX factors_one_email_otp ON factors (realm_id, user_id)
    WHERE state = 'ready' AND kind = 'email_otp';
