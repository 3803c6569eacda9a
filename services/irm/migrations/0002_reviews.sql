-- Reviews' life cycle (issue 9): researchers, drafts and their comments, publication, and what
-- the review timers already reported.

-- A plan may first be heard of from an event that says less than PlanSubmitted (PlanEnded,
-- PlanStateChanged): keep what it says rather than lose the event.
ALTER TABLE plans_seen
    ALTER COLUMN title DROP NOT NULL,
    ALTER COLUMN start_date DROP NOT NULL,
    ALTER COLUMN end_date DROP NOT NULL;

ALTER TABLE reviews
    ADD COLUMN researcher_id    uuid,
    ADD COLUMN assigned_at      timestamptz,
    ADD COLUMN state_changed_at timestamptz,
    -- The last day (inclusive) comments are taken in the current comment phase.
    ADD COLUMN comments_until   date,
    ADD COLUMN draft_url        text,
    ADD COLUMN report_title     text,
    ADD COLUMN report_url       text,
    ADD COLUMN published_on     date,
    ADD COLUMN withdrawn_reason text,
    ADD CONSTRAINT reviews_state_known CHECK (state IN (
        'scheduled', 'researching', 'draft', 'pre_publication', 'public_comment', 'published', 'withdrawn'));

CREATE INDEX reviews_pre_publication_window ON reviews (comments_until) WHERE state = 'pre_publication';
CREATE INDEX reviews_member ON reviews (member_id, due_date);

-- IRM researchers (their token's subject) and the members they declared ties with: a researcher
-- tied to a member's government is never assigned to review it.
CREATE TABLE researchers (
    id            uuid PRIMARY KEY,
    subject       text NOT NULL UNIQUE,
    name          text NOT NULL,
    ties          uuid[] NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Comments on a draft. The text stays here (events carry ids only); each must be considered,
-- with a note, before the review is published.
CREATE TABLE review_comments (
    id              uuid PRIMARY KEY,
    review_id       uuid NOT NULL REFERENCES reviews (id),
    phase           text NOT NULL CHECK (phase IN ('pre_publication', 'public_comment')),
    author          text NOT NULL,
    author_role     text NOT NULL,
    body            text NOT NULL,
    received_at     timestamptz NOT NULL,
    considered_note text,
    considered_by   text,
    considered_at   timestamptz
);
CREATE INDEX review_comments_of_review ON review_comments (review_id, received_at);

-- What the review timers reported (ReviewDueSoon, ReviewOverdue), one row per review and due
-- date: claimed in the transaction that publishes the event, so restarts and replicas never
-- report twice.
CREATE TABLE review_emissions (
    kind       text NOT NULL,
    occurrence text NOT NULL,
    emitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, occurrence)
);
