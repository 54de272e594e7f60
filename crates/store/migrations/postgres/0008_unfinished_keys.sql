-- The periodic sweep deletes security-key registrations that were never finished, a day
-- after they began (challenges::delete_expired), found by when they began.
CREATE INDEX factors_unfinished_keys ON factors (created_at)
    WHERE state = 'not_ready' AND kind = 'webauthn';
