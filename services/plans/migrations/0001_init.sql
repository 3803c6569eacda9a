CREATE TABLE members (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('national', 'local', 'parliament')),
    country_code text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Personal data: read by this service only, never published on a public topic.
CREATE TABLE contacts (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    email      text,
    phone      text,
    language   text NOT NULL DEFAULT 'en',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
    id                  uuid PRIMARY KEY,
    member_id           uuid NOT NULL REFERENCES members (id),
    title               text NOT NULL,
    start_date          date NOT NULL,
    end_date            date NOT NULL,
    state               text NOT NULL DEFAULT 'draft',
    point_of_contact_id uuid NOT NULL REFERENCES contacts (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    submitted_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date > start_date)
);
CREATE INDEX plans_member ON plans (member_id);

CREATE TABLE commitments (
    id         uuid PRIMARY KEY,
    plan_id    uuid NOT NULL REFERENCES plans (id),
    number     integer NOT NULL,
    title      text NOT NULL,
    objective  text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, number)
);
