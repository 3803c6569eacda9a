-- Compliance with the Participation & Co-Creation Standards' minimum requirements.

-- What consultation's and plans' events said that a standard needs, one row per event: about a
-- plan (rounds, response tables, participation reports, co-creation, repository documents) or
-- about a member's forum (established, meetings). Kept for plans the IRM has not seen too. The
-- same thing told twice (same kind and subject: meeting, round, table, document...) is kept once,
-- so replays change nothing.
CREATE TABLE compliance_facts (
    event_id   uuid PRIMARY KEY,
    kind       text NOT NULL,
    subject_id uuid NOT NULL,
    on_date    date NOT NULL,
    member_id  uuid,
    plan_id    uuid,
    figures    jsonb NOT NULL DEFAULT '{}',
    kept_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, subject_id)
);
CREATE INDEX compliance_facts_plan ON compliance_facts (plan_id);
CREATE INDEX compliance_facts_member ON compliance_facts (member_id, kind);

-- The review's researcher (or IRM staff) confirmed or overrode a requirement's pre-filled status;
-- an override (a status other than the pre-filled one) carries its reason.
CREATE TABLE compliance_decisions (
    review_id   uuid NOT NULL REFERENCES reviews (id),
    requirement text NOT NULL,
    status      text NOT NULL CHECK (status IN ('met', 'not_met', 'not_enough_evidence')),
    prefilled   text NOT NULL CHECK (prefilled IN ('met', 'not_met', 'not_enough_evidence')),
    reason      text,
    decided_by  text NOT NULL,
    decided_at  timestamptz NOT NULL,
    PRIMARY KEY (review_id, requirement),
    CHECK (status = prefilled OR reason IS NOT NULL)
);

-- The compliance a published review fixed: what the public reads, never recomputed.
CREATE TABLE compliance_assessments (
    review_id    uuid PRIMARY KEY REFERENCES reviews (id),
    plan_id      uuid NOT NULL,
    member_id    uuid NOT NULL,
    product      text NOT NULL,
    as_of        date NOT NULL,
    minimum_met  boolean NOT NULL,
    requirements jsonb NOT NULL,
    assessed_at  timestamptz NOT NULL
);
CREATE INDEX compliance_assessments_plan ON compliance_assessments (plan_id);
CREATE INDEX compliance_assessments_member ON compliance_assessments (member_id, assessed_at);
