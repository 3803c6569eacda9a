-- No date column holds ±infinity: asyncpg writes Python's date.min/date.max as -infinity/infinity,
-- and an answer then says "infinity", which no client parses as a date. Most of these dates come
-- from other services' events, which the API's bounds (shared/dates.py) never see: the database
-- holds every writer to them. NOT VALID: rows written before are left alone (VALIDATE CONSTRAINT
-- after a clean-up checks them too); every new or updated row is checked.
ALTER TABLE reviews ADD CONSTRAINT reviews_dates_finite
    CHECK (isfinite(opened_on) AND isfinite(due_date) AND isfinite(comments_until)
           AND isfinite(published_on)) NOT VALID;
ALTER TABLE plans_seen ADD CONSTRAINT plans_seen_dates_finite
    CHECK (isfinite(start_date) AND isfinite(end_date)) NOT VALID;
ALTER TABLE finding_plans ADD CONSTRAINT finding_plans_dates_finite
    CHECK (isfinite(start_date) AND isfinite(end_date)) NOT VALID;
ALTER TABLE process_findings ADD CONSTRAINT process_findings_dates_finite
    CHECK (isfinite(previous_end_date)) NOT VALID;
ALTER TABLE compliance_facts ADD CONSTRAINT compliance_facts_dates_finite
    CHECK (isfinite(on_date)) NOT VALID;
ALTER TABLE compliance_assessments ADD CONSTRAINT compliance_assessments_dates_finite
    CHECK (isfinite(as_of)) NOT VALID;
