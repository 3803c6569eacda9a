-- Process findings (acting contrary to process) and procedural reviews.

-- The member's action plans as the findings part learned them from plans events: its cycles.
-- Any fact may be unknown yet (an event for a plan never seen is kept, not lost).
CREATE TABLE finding_plans (
    plan_id      uuid PRIMARY KEY,
    member_id    uuid NOT NULL,
    start_date   date,
    end_date     date,
    created_at   timestamptz,
    submitted_at timestamptz,
    ended_at     timestamptz
);
CREATE INDEX finding_plans_member ON finding_plans (member_id);

-- One row per member seen: locked while its findings change, so they change one at a time.
CREATE TABLE finding_members (
    member_id uuid PRIMARY KEY
);

CREATE TABLE process_findings (
    id                uuid PRIMARY KEY,
    member_id         uuid NOT NULL,
    plan_id           uuid NOT NULL,
    -- The plan id, or '<previous plan id>next' for the cycle after a plan (no new plan).
    cycle             text NOT NULL,
    reason            text NOT NULL
        CHECK (reason IN ('no_new_plan', 'co_creation_minimum_not_met', 'no_progress')),
    found_at          timestamptz NOT NULL,
    source            text NOT NULL,
    previous_end_date date,
    recorded_by       text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- One finding per member, cycle and reason: a replay or a repeated timer event is no new one.
    UNIQUE (member_id, cycle, reason)
);
CREATE INDEX process_findings_plan ON process_findings (plan_id);

CREATE TABLE procedural_reviews (
    id                uuid PRIMARY KEY,
    member_id         uuid NOT NULL,
    first_finding_id  uuid NOT NULL REFERENCES process_findings (id),
    second_finding_id uuid NOT NULL REFERENCES process_findings (id),
    reason            text NOT NULL,
    started_at        timestamptz NOT NULL,
    lifted_at         timestamptz,
    lift_reason       text,
    lifted_by         text,
    CHECK ((lifted_at IS NULL) = (lift_reason IS NULL))
);
-- One open procedural review per member.
CREATE UNIQUE INDEX procedural_reviews_open ON procedural_reviews (member_id) WHERE lifted_at IS NULL;
CREATE INDEX procedural_reviews_member ON procedural_reviews (member_id, started_at);
