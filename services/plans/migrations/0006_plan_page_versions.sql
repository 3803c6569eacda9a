-- The version of each plan's public page (services/plans/queries/plan_page.py): a random uuid
-- that every transaction changing the plan, one of its commitments or one of its milestones
-- replaces, in that same transaction. A reader that finds the version its cached page was built
-- at knows, from one primary-key lookup, that no committed change has touched the page since,
-- whichever replica or process wrote it; before, each request hashed every row of the plan.
--
-- Why this shape:
-- * a random uuid rather than a counter: it is the page's ETag, and a value can never come back
--   (not after a restore, not for another plan), so a client's old tag never matches a new page;
-- * the versions are replaced by DEFERRED constraint triggers, i.e. at commit, after every other
--   lock the transaction takes: the version row is the last lock a writer takes and it holds it
--   only for the commit, so writers that lock commitments, milestones or plans in any order
--   cannot deadlock on it (immediate triggers would take it mid-transaction, before the writer's
--   later row locks);
-- * once per plan and transaction (changed_in): a bulk import of 1,000 rows writes the version
--   once, not 1,000 times;
-- * the row lock on the version serialises the commits that touch one plan, so the last one to
--   commit leaves its own, new value: a page read in a snapshot without that commit was read
--   under another version.
CREATE TABLE plan_page_versions (
    plan_id    uuid PRIMARY KEY REFERENCES plans (id) ON DELETE CASCADE,
    version    uuid NOT NULL DEFAULT gen_random_uuid(),
    changed_in xid8
);
INSERT INTO plan_page_versions (plan_id) SELECT id FROM plans;

CREATE FUNCTION plan_page_changed(plan uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE plan_page_versions SET version = gen_random_uuid(), changed_in = pg_current_xact_id()
    WHERE plan_id = plan AND changed_in IS DISTINCT FROM pg_current_xact_id()
$$;

-- A new plan has its version from the start (same transaction), so a plan without one does not
-- exist and the page answers 404 from the same lookup.
CREATE FUNCTION plan_page_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO plan_page_versions (plan_id) VALUES (NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER plan_page_created AFTER INSERT ON plans
    FOR EACH ROW EXECUTE FUNCTION plan_page_created();

CREATE FUNCTION plan_page_plan_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM plan_page_changed(NEW.id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER plan_page_plan_updated AFTER UPDATE ON plans
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION plan_page_plan_updated();

-- A commitment or milestone inserted, updated or deleted: its plan's page changed (both plans'
-- pages if the row moved to another plan).
CREATE FUNCTION plan_page_part_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM plan_page_changed(OLD.plan_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.plan_id IS DISTINCT FROM OLD.plan_id) THEN
        PERFORM plan_page_changed(NEW.plan_id);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER plan_page_commitment_changed AFTER INSERT OR UPDATE OR DELETE ON commitments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION plan_page_part_changed();

CREATE CONSTRAINT TRIGGER plan_page_milestone_changed AFTER INSERT OR UPDATE OR DELETE ON milestones
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION plan_page_part_changed();

-- TRUNCATE fires no row trigger: every page may have changed.
CREATE FUNCTION plan_page_all_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE plan_page_versions SET version = gen_random_uuid(), changed_in = pg_current_xact_id();
    RETURN NULL;
END $$;

CREATE TRIGGER plan_page_commitments_truncated AFTER TRUNCATE ON commitments
    FOR EACH STATEMENT EXECUTE FUNCTION plan_page_all_changed();

CREATE TRIGGER plan_page_milestones_truncated AFTER TRUNCATE ON milestones
    FOR EACH STATEMENT EXECUTE FUNCTION plan_page_all_changed();
