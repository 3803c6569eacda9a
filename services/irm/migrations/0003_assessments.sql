-- Commitments as the IRM knows them from plans' events, kept even for plans it has not seen
-- submitted (an event for an unknown plan is kept, not lost). Each group of facts carries the
-- time of the event it came from and is only replaced by a newer one, so replays change nothing.
CREATE TABLE irm_commitments (
    commitment_id      uuid PRIMARY KEY,
    plan_id            uuid NOT NULL,
    member_id          uuid NOT NULL,
    number             integer,
    title              text,
    details_at         timestamptz,
    withdrawn          boolean NOT NULL DEFAULT false,
    withdrawal_reason  text,
    withdrawn_at       timestamptz,
    -- The government's end-of-term self-assessment, on the IRM's completion scale.
    self_assessed      text,
    self_assessed_at   timestamptz,
    -- The commitment's weighted milestone progress (0-100) as plans rolled it up.
    progress           double precision,
    progress_at        timestamptz
);
CREATE INDEX irm_commitments_plan ON irm_commitments (plan_id, number);

-- One commitment coded by one review, on the scale version it names.
CREATE TABLE assessments (
    review_id              uuid NOT NULL REFERENCES reviews (id),
    commitment_id          uuid NOT NULL,
    plan_id                uuid NOT NULL,
    member_id              uuid NOT NULL,
    product                text NOT NULL,
    scale_version          text NOT NULL,
    verifiable             boolean,
    specificity            text,
    relevance              jsonb NOT NULL DEFAULT '{}',
    potential_for_results  text,
    potential_impact       text,
    promising              boolean,
    completion             text,
    completion_prefilled   text,
    completion_reason      text,
    early_results          text,
    did_it_open_government text,
    star                   boolean,
    report_year            integer,
    assessed_at            timestamptz NOT NULL,
    assessed_by            text NOT NULL,
    PRIMARY KEY (review_id, commitment_id)
);
CREATE INDEX assessments_plan ON assessments (plan_id);
CREATE INDEX assessments_member ON assessments (member_id);
