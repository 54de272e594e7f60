-- The periodic sweep (sweep.rs) finds what it deletes through an index, a chunk at a time.
-- Security-key registrations never finished, a day after they began:
CREATE INDEX factors_unfinished_keys ON factors (created_at)
    WHERE state = 'not_ready' AND kind = 'webauthn';
-- Rate counters of windows long past:
CREATE INDEX rate_counters_window ON rate_counters (window_start);
-- Sent and failed messages past their retention:
CREATE INDEX deliveries_done ON deliveries (created_at) WHERE status <> 'queued';
