-- No date column holds ±infinity (issue 12): asyncpg writes Python's date.min/date.max as
-- -infinity/infinity, and an answer then says "infinity", which no client parses as a date. The
-- API refuses dates outside 1900..2199 (shared/dates.py); these checks keep any other writer (an
-- import, a reaction, a hand-made fix) from storing one. NOT VALID: rows written before are left
-- alone (a VALIDATE CONSTRAINT after a clean-up checks them too); every new or updated row is checked.
ALTER TABLE plans ADD CONSTRAINT plans_dates_finite
    CHECK (isfinite(start_date) AND isfinite(end_date)) NOT VALID;
ALTER TABLE commitments ADD CONSTRAINT commitments_dates_finite
    CHECK (isfinite(start_date) AND isfinite(end_date)) NOT VALID;
ALTER TABLE milestones ADD CONSTRAINT milestones_dates_finite
    CHECK (isfinite(start_date) AND isfinite(end_date)) NOT VALID;
ALTER TABLE documents ADD CONSTRAINT documents_published_on_finite
    CHECK (isfinite(published_on)) NOT VALID;
