-- A code links to the message that carries it, no longer the message to its code. Message ids
-- are time-ordered (UUIDv7), so the new index grows at its end, where the old one, keyed by the
-- code's hash, took a random leaf per message; and a code's link still goes with the code
-- (the sweep, a removed factor or user) without the message needing an index to be found.
ALTER TABLE challenges ADD COLUMN delivery_id TEXT REFERENCES deliveries(id) ON DELETE SET NULL;
UPDATE challenges c SET delivery_id = m.delivery_id
FROM (SELECT challenge_id, MAX(id) AS delivery_id FROM deliveries
      WHERE challenge_id IS NOT NULL GROUP BY challenge_id) m
WHERE m.challenge_id = c.id;
-- Partial: the codes without a message (TOTP enrolments) stay out of it, so that their
-- inserts and deletes never touch it.
CREATE INDEX challenges_delivery ON challenges (delivery_id) WHERE delivery_id IS NOT NULL;
-- Drops deliveries_challenge and the foreign key with it.
ALTER TABLE deliveries DROP COLUMN challenge_id;
