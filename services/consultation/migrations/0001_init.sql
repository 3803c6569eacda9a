-- A co-creation space per plan: open while the plan is being written, closed at submission.
CREATE TABLE co_creation_spaces (
    plan_id    uuid PRIMARY KEY,
    member_id  uuid NOT NULL,
    title      text,
    state      text NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at  timestamptz,
    closed_at  timestamptz
);

-- A space to comment on each commitment of a plan.
CREATE TABLE commitment_spaces (
    commitment_id uuid PRIMARY KEY,
    plan_id       uuid NOT NULL,
    number        integer NOT NULL,
    title         text NOT NULL,
    opened_at     timestamptz NOT NULL
);
CREATE INDEX commitment_spaces_plan ON commitment_spaces (plan_id);
