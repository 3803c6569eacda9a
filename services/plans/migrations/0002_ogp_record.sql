-- The full record of the OGP process: member standing and eligibility, plan details, the
-- commitment template, milestones and their progress, self-assessments, IRM assessments, the
-- public document repository and the history of every change.

ALTER TABLE members
    ADD COLUMN region text,
    ADD COLUMN status text NOT NULL DEFAULT 'participating',
    ADD COLUMN status_reason text,
    ADD COLUMN status_changed_at timestamptz,
    -- OGP Local / import key, e.g. the country or locality name used by OGP's spreadsheets.
    ADD COLUMN source_key text UNIQUE;

CREATE TABLE member_status_history (
    id          bigserial PRIMARY KEY,
    member_id   uuid NOT NULL REFERENCES members (id),
    from_status text NOT NULL,
    to_status   text NOT NULL,
    reason      text NOT NULL,
    plan_id     uuid,
    source      text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL
);
CREATE INDEX member_status_history_member ON member_status_history (member_id, changed_at);

CREATE TABLE eligibility_scores (
    member_id     uuid NOT NULL REFERENCES members (id),
    year          integer NOT NULL,
    inputs        jsonb NOT NULL,
    result        jsonb NOT NULL,
    status        text NOT NULL,
    percentage    numeric,
    rules_version text NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    computed_by   text NOT NULL,
    PRIMARY KEY (member_id, year)
);

ALTER TABLE plans
    ADD COLUMN length_years integer NOT NULL DEFAULT 2,
    ADD COLUMN strands text[] NOT NULL DEFAULT '{open_government}',
    ADD COLUMN action_plan_number integer,
    ADD COLUMN implementation_started_at timestamptz,
    ADD COLUMN refreshed_at timestamptz,
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN source_key text UNIQUE;
CREATE INDEX plans_state ON plans (state);
CREATE INDEX plans_start ON plans (start_date);

-- Every text of the commitment template in several languages, e.g.
-- {"title": {"en": "...", "fr": "..."}, "objective": {"en": "..."}}
CREATE FUNCTION commitment_text(texts jsonb, lang text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(value ->> lang, ' '), '') FROM jsonb_each(texts)
$$;

ALTER TABLE commitments
    ADD COLUMN member_id uuid,
    ADD COLUMN texts jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN original_language text NOT NULL DEFAULT 'en',
    ADD COLUMN state text NOT NULL DEFAULT 'drafted',
    ADD COLUMN start_date date,
    ADD COLUMN end_date date,
    ADD COLUMN lead_agency text,
    ADD COLUMN responsible_person text,
    ADD COLUMN supporting_government text[] NOT NULL DEFAULT '{}',
    ADD COLUMN supporting_other text[] NOT NULL DEFAULT '{}',
    ADD COLUMN value_access_to_information boolean NOT NULL DEFAULT false,
    ADD COLUMN value_civic_participation boolean NOT NULL DEFAULT false,
    ADD COLUMN value_public_accountability boolean NOT NULL DEFAULT false,
    ADD COLUMN value_technology_innovation boolean NOT NULL DEFAULT false,
    ADD COLUMN policy_areas text[] NOT NULL DEFAULT '{}',
    ADD COLUMN budget_amount numeric,
    ADD COLUMN budget_currency text,
    ADD COLUMN sdg_targets text[] NOT NULL DEFAULT '{}',
    ADD COLUMN other_plan_links text[] NOT NULL DEFAULT '{}',
    ADD COLUMN progress numeric NOT NULL DEFAULT 0,
    ADD COLUMN self_assessment jsonb,
    ADD COLUMN irm jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN source_key text UNIQUE,
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('english', commitment_text(texts, 'en'))
        || to_tsvector('french', commitment_text(texts, 'fr'))
        || to_tsvector('spanish', commitment_text(texts, 'es'))
        || to_tsvector('arabic', commitment_text(texts, 'ar'))
    ) STORED,
    ADD CONSTRAINT commitment_dates CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date);

UPDATE commitments c SET member_id = p.member_id,
    texts = jsonb_strip_nulls(jsonb_build_object('title', jsonb_build_object('en', c.title),
                                                 'objective', jsonb_build_object('en', c.objective)))
FROM plans p WHERE p.id = c.plan_id;
ALTER TABLE commitments ALTER COLUMN member_id SET NOT NULL;
ALTER TABLE commitments DROP COLUMN objective;
-- `title` stays: the title in the original language, for listings and sorting.

CREATE INDEX commitments_plan ON commitments (plan_id, number);
CREATE INDEX commitments_member ON commitments (member_id);
CREATE INDEX commitments_search ON commitments USING gin (search);
CREATE INDEX commitments_policy_areas ON commitments USING gin (policy_areas);

CREATE TABLE commitment_history (
    id            bigserial PRIMARY KEY,
    commitment_id uuid NOT NULL REFERENCES commitments (id),
    plan_id       uuid NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    by            text NOT NULL,
    action        text NOT NULL,
    changes       jsonb NOT NULL DEFAULT '{}',
    version       integer NOT NULL
);
CREATE INDEX commitment_history_commitment ON commitment_history (commitment_id, id);

CREATE TABLE milestones (
    id            uuid PRIMARY KEY,
    commitment_id uuid NOT NULL REFERENCES commitments (id),
    plan_id       uuid NOT NULL,
    number        integer NOT NULL,
    texts         jsonb NOT NULL,
    start_date    date,
    end_date      date,
    responsible   text,
    status        text NOT NULL DEFAULT 'not_started',
    weight        numeric NOT NULL DEFAULT 1 CHECK (weight > 0),
    progress      integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (commitment_id, number),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE INDEX milestones_plan ON milestones (plan_id);
CREATE INDEX milestones_due ON milestones (end_date) WHERE status NOT IN ('completed', 'cancelled');

CREATE TABLE milestone_updates (
    id           bigserial PRIMARY KEY,
    milestone_id uuid NOT NULL REFERENCES milestones (id),
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    by           text NOT NULL,
    status       text NOT NULL,
    progress     integer NOT NULL,
    note         text,
    evidence     jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX milestone_updates_milestone ON milestone_updates (milestone_id, id);

CREATE TABLE documents (
    id           uuid PRIMARY KEY,
    plan_id      uuid NOT NULL REFERENCES plans (id),
    member_id    uuid NOT NULL,
    type         text NOT NULL,
    title        text NOT NULL,
    url          text NOT NULL,
    language     text NOT NULL,
    published_on date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL
);
CREATE INDEX documents_plan ON documents (plan_id, published_on);

-- Timers: one row per occurrence emitted, so an occurrence is emitted once, across restarts.
CREATE TABLE timer_emissions (
    kind       text NOT NULL,
    subject    uuid NOT NULL,
    occurrence text NOT NULL,
    emitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, subject, occurrence)
);
