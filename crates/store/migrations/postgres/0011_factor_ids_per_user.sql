-- A factor's id is its user's own, as Firebase's `mfaEnrollmentId` is ("unique to the user"):
-- an administrator may give two users' factors the same id (accounts:update, batchCreate).
-- The factors' key becomes (realm, user, id), and a code's link to its factor names all three.
ALTER TABLE challenges DROP CONSTRAINT challenges_factor_id_fkey;
ALTER TABLE factors DROP CONSTRAINT factors_pkey;
ALTER TABLE factors ADD PRIMARY KEY (realm_id, user_id, id);
-- The key's first columns serve what this index did.
DROP INDEX factors_user;
ALTER TABLE challenges ADD CONSTRAINT challenges_factor_fkey FOREIGN KEY (realm_id, user_id, factor_id)
    REFERENCES factors (realm_id, user_id, id) ON DELETE CASCADE;
