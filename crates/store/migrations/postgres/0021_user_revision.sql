-- Each write of a changed user row lands only over the revision it was computed from (and
-- counts one up), so that of two requests changing one user neither puts back what the other
-- wrote; the one that read the older row reads it again.
ALTER TABLE users ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
