-- No date column holds ±infinity (asyncpg writes date.max as infinity, and a message would then
-- say "infinity"): the due date comes from the IRM's events, so the database checks it itself.
-- NOT VALID: rows written before are left alone; every new or updated row is checked.
ALTER TABLE reviews_seen ADD CONSTRAINT reviews_seen_dates_finite
    CHECK (isfinite(due_date)) NOT VALID;
