-- Authors who asked to hear of the reasoned response to their input, the erasures applied to
-- them, and the "closing soon" announcement of rounds.

-- Personal data: read by no query of the public or moderation API; published only on the private
-- contacts topic (keyed by input) and deleted, with a tombstone there, when the person asks.
CREATE TABLE author_contacts (
    input_id   uuid PRIMARY KEY REFERENCES inputs (id),
    round_id   uuid NOT NULL,
    plan_id    uuid NOT NULL,
    name       text NOT NULL DEFAULT '',
    email      text,
    phone      text,
    language   text NOT NULL CHECK (language IN ('ar', 'en', 'fr', 'es')),
    created_at timestamptz NOT NULL,
    CHECK (email IS NOT NULL OR phone IS NOT NULL)
);

-- One row per erasure request applied, holding no personal data: when, and how many contacts.
CREATE TABLE erasures (
    erasure_id      uuid PRIMARY KEY,
    contacts_erased integer NOT NULL CHECK (contacts_erased >= 0),
    applied_at      timestamptz NOT NULL
);

-- Set in the transaction that publishes ConsultationClosingSoon: once per round, whatever the
-- restarts and replicas.
ALTER TABLE rounds ADD COLUMN closing_soon_at timestamptz;
CREATE INDEX rounds_closing_soon ON rounds (closes_at) WHERE state = 'open' AND closing_soon_at IS NULL;
