-- No date column holds ±infinity: asyncpg writes Python's date.min/date.max as -infinity/infinity,
-- and an answer then says "infinity", which no client parses as a date. The API refuses dates
-- outside 1900..2199 (shared/dates.py); these checks hold every other writer (a reaction to an
-- event, a hand-made fix) to the same. NOT VALID: rows written before are left alone (VALIDATE
-- CONSTRAINT after a clean-up checks them too); every new or updated row is checked.
ALTER TABLE forums ADD CONSTRAINT forums_dates_finite
    CHECK (isfinite(established_on)) NOT VALID;
ALTER TABLE forum_members ADD CONSTRAINT forum_members_dates_finite
    CHECK (isfinite(joined_on) AND isfinite(left_on)) NOT VALID;
ALTER TABLE forum_meetings ADD CONSTRAINT forum_meetings_dates_finite
    CHECK (isfinite(held_on)) NOT VALID;
ALTER TABLE offline_events ADD CONSTRAINT offline_events_dates_finite
    CHECK (isfinite(held_on)) NOT VALID;
