-- Recovery links (`RECOVER_EMAIL`), sent to the address an end user's email was changed
-- from, are one per user and address rather than one per user: a second change must not
-- replace the first address's way back with a link to the second.
DROP INDEX oob_codes_of_user;
CREATE UNIQUE INDEX oob_codes_of_user ON oob_codes (realm_id, user_id, request_type)
    WHERE request_type <> 'RECOVER_EMAIL';
CREATE UNIQUE INDEX oob_codes_recovering ON oob_codes (realm_id, user_id, email)
    WHERE request_type = 'RECOVER_EMAIL';
