-- The consultation record: forum, rounds, inputs (submissions and comments), moderation,
-- reasoned responses and participation reports. See docs/events.md for what is published.

ALTER TABLE co_creation_spaces ADD COLUMN submitted_at timestamptz;

-- Standard 1: one multi-stakeholder forum per member, with public rules of participation.
CREATE TABLE forums (
    id             uuid PRIMARY KEY,
    member_id      uuid NOT NULL UNIQUE,
    name           text NOT NULL,
    rules_url      text NOT NULL,
    rules_summary  text,
    established_on date NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL
);

-- Seats by organisation and sector; no person is named.
CREATE TABLE forum_members (
    id           uuid PRIMARY KEY,
    forum_id     uuid NOT NULL REFERENCES forums (id),
    organisation text NOT NULL,
    sector       text NOT NULL CHECK (sector IN
                   ('government', 'civil_society', 'academia', 'private_sector', 'other')),
    joined_on    date NOT NULL,
    left_on      date,
    created_by   text NOT NULL
);
-- One active seat per organisation; one that left may come back (a new seat, history kept).
CREATE UNIQUE INDEX forum_members_active ON forum_members (forum_id, organisation) WHERE left_on IS NULL;

CREATE TABLE forum_meetings (
    id          uuid PRIMARY KEY,
    forum_id    uuid NOT NULL REFERENCES forums (id),
    held_on     date NOT NULL,
    phase       text NOT NULL CHECK (phase IN ('co_creation', 'implementation', 'other')),
    plan_id     uuid,
    agenda      text NOT NULL,
    minutes_url text,
    attendance  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL
);
CREATE INDEX forum_meetings_forum ON forum_meetings (forum_id, held_on DESC);
CREATE INDEX forum_meetings_plan ON forum_meetings (plan_id) WHERE plan_id IS NOT NULL;

-- Occurrences of timer events already emitted (written in the same transaction as the event).
CREATE TABLE timer_emissions (
    kind       text NOT NULL,
    occurrence text NOT NULL,
    emitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, occurrence)
);

-- Standard 3: rounds of consultation, opened and closed by the service at the set times.
CREATE TABLE rounds (
    id            uuid PRIMARY KEY,
    plan_id       uuid NOT NULL REFERENCES co_creation_spaces (plan_id),
    member_id     uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('ideas', 'draft_plan', 'commitment_draft')),
    commitment_id uuid,
    title         text NOT NULL,
    description   text,
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    scheduled_at  timestamptz NOT NULL,
    notice_days   double precision NOT NULL,
    short_notice  boolean NOT NULL,
    state         text NOT NULL CHECK (state IN ('scheduled', 'open', 'closed', 'cancelled')),
    opened_at     timestamptz,
    closed_at     timestamptz,
    close_reason  text,
    created_by    text NOT NULL,
    CHECK (closes_at > opens_at),
    CHECK ((kind = 'commitment_draft') = (commitment_id IS NOT NULL))
);
CREATE INDEX rounds_plan ON rounds (plan_id, opens_at);
CREATE INDEX rounds_due_open ON rounds (opens_at) WHERE state = 'scheduled';
CREATE INDEX rounds_due_close ON rounds (closes_at) WHERE state = 'open';

-- Workshops and hearings held outside the platform, counted.
CREATE TABLE offline_events (
    id           uuid PRIMARY KEY,
    round_id     uuid NOT NULL REFERENCES rounds (id),
    plan_id      uuid NOT NULL,
    format       text NOT NULL,
    held_on      date NOT NULL,
    participants integer NOT NULL CHECK (participants >= 0),
    by_sector    jsonb NOT NULL DEFAULT '{}',
    report_url   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL
);
CREATE INDEX offline_events_round ON offline_events (round_id);

-- People who wrote an input, by their token's subject. The row also holds the rate limiter's
-- fixed window, so one UPDATE both counts and serialises one person's concurrent posts.
CREATE TABLE participants (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL UNIQUE,
    window_start timestamptz NOT NULL,
    window_count integer NOT NULL
);

-- Submissions (ideas) and comments. The author's subject and self-declared profile are seen by
-- moderators and in aggregate only; the public sees a display name when the author chose one.
CREATE TABLE inputs (
    id               uuid PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    round_id         uuid NOT NULL REFERENCES rounds (id),
    plan_id          uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('submission', 'comment')),
    parent_id        uuid REFERENCES inputs (id),
    anchor           jsonb NOT NULL,
    commitment_id    uuid,
    alignment        text NOT NULL CHECK (alignment IN ('for', 'against', 'neutral')),
    language         text NOT NULL,
    title            text,
    body             text NOT NULL,
    -- Title and body as the public sees them: contact details the author typed in are masked.
    public_title     text,
    public_body      text NOT NULL,
    links            text[] NOT NULL DEFAULT '{}',
    author_id        uuid NOT NULL REFERENCES participants (id),
    display_name     text,
    official         boolean NOT NULL DEFAULT false,
    stakeholder_type text,
    region           text,
    gender           text,
    text_hash        bytea NOT NULL,
    created_at       timestamptz NOT NULL,
    flags            integer NOT NULL DEFAULT 0,
    hidden           boolean NOT NULL DEFAULT false,
    hidden_reason    text,
    CHECK (kind = 'comment' OR parent_id IS NULL)
);
CREATE INDEX inputs_round ON inputs (round_id, seq);
CREATE INDEX inputs_plan ON inputs (plan_id, seq);
CREATE INDEX inputs_parent ON inputs (parent_id) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX inputs_no_duplicates ON inputs (round_id, author_id, text_hash);
CREATE INDEX inputs_flagged ON inputs (flags DESC, seq) WHERE flags > 0 AND NOT hidden;

CREATE TABLE input_flags (
    input_id   uuid NOT NULL REFERENCES inputs (id),
    flagger_id uuid NOT NULL REFERENCES participants (id),
    reason     text NOT NULL,
    flagged_at timestamptz NOT NULL,
    PRIMARY KEY (input_id, flagger_id)
);

-- Every moderation action, with who took it (moderators and staff read this; the public sees
-- only the action and the public reason).
CREATE TABLE moderation_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    input_id      uuid NOT NULL REFERENCES inputs (id),
    action        text NOT NULL CHECK (action IN ('flagged', 'hidden', 'restored')),
    actor         text NOT NULL,
    public_reason text,
    note          text,
    at            timestamptz NOT NULL
);
CREATE INDEX moderation_log_input ON moderation_log (input_id, id);

-- Standard 4: reasoned responses, each answering one input or a cluster of them.
CREATE TABLE responses (
    id                        uuid PRIMARY KEY,
    round_id                  uuid NOT NULL REFERENCES rounds (id),
    plan_id                   uuid NOT NULL,
    decision                  text NOT NULL CHECK (decision IN
                                ('accepted', 'partly_accepted', 'rejected', 'merged', 'out_of_scope')),
    rationale                 text NOT NULL,
    merged_into_commitment_id uuid,
    published_at              timestamptz NOT NULL,
    created_by                text NOT NULL
);
CREATE INDEX responses_round ON responses (round_id, published_at);

-- An input is answered once; a cluster answer holds several inputs.
CREATE TABLE response_inputs (
    input_id    uuid PRIMARY KEY REFERENCES inputs (id),
    response_id uuid NOT NULL REFERENCES responses (id)
);
CREATE INDEX response_inputs_response ON response_inputs (response_id);

CREATE TABLE response_tables (
    id           uuid PRIMARY KEY,
    round_id     uuid NOT NULL REFERENCES rounds (id),
    title        text NOT NULL,
    -- The table as published: the repository's document does not change under its readers.
    rows         jsonb NOT NULL,
    inputs       integer NOT NULL,
    answered     integer NOT NULL,
    published_at timestamptz NOT NULL,
    created_by   text NOT NULL
);

CREATE TABLE participation_reports (
    id          uuid PRIMARY KEY,
    scope       text NOT NULL CHECK (scope IN ('round', 'cycle')),
    plan_id     uuid NOT NULL,
    round_id    uuid,
    report      jsonb NOT NULL,
    reported_at timestamptz NOT NULL
);
CREATE INDEX participation_reports_plan ON participation_reports (plan_id, reported_at);
