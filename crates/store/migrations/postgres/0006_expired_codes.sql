-- The periodic sweep deletes codes and pending sign-ins a while after they expire
-- (challenges::prune_expired), found by their expiry. The messages that carried the codes
-- stay for operators; their link to the code is cleared (deliveries_challenge finds them).
CREATE INDEX challenges_expires ON challenges (expires_at);
CREATE INDEX pending_sign_ins_expires ON pending_sign_ins (expires_at);
