-- Brute-force protection (see tessera_core::lockout). The soft lock lives on the factor row
-- itself: it is the factor's state, it goes when the factor goes, and the statement that
-- counts a failure is one conditional UPDATE of the row the check already names (a separate
-- table would need a second row per factor and an upsert for the same guarantee). Limits
-- across factors (per user, per client address) are counted in rate_counters, like the
-- delivery limits.
ALTER TABLE factors ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE factors ADD COLUMN locked_until BIGINT;

-- `tessera audit` lists events by time, with or without a realm.
CREATE INDEX events_at ON events (at);
