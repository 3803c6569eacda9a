CREATE TABLE reviews (
    id            uuid PRIMARY KEY,
    plan_id       uuid NOT NULL,
    member_id     uuid NOT NULL,
    kind          text NOT NULL,
    state         text NOT NULL DEFAULT 'scheduled',
    opened_on     date NOT NULL,
    due_date      date NOT NULL,
    scheduled_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- One review of each kind per plan: a second one is a bug, never silently merged.
    UNIQUE (plan_id, kind)
);
CREATE INDEX reviews_due ON reviews (due_date) WHERE state <> 'published';

-- What the IRM knows of each plan, learned from plans events.
CREATE TABLE plans_seen (
    plan_id      uuid PRIMARY KEY,
    member_id    uuid NOT NULL,
    title        text NOT NULL,
    start_date   date NOT NULL,
    end_date     date NOT NULL,
    submitted_at timestamptz
);
