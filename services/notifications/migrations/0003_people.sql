-- Issue 10: people choose what they hear about, how and when.
--
-- Personal data (names, e-mail addresses, phone numbers) lives in `recipients` only; every other
-- table names people by id. Erasing a person deletes their row, and the cascade takes their
-- subscriptions and pending digest items with it; the consent and erasure logs keep ids only.

ALTER TABLE recipients
    -- contact: a plan's point of contact (plans' private topic); author: the author of a
    -- consultation input who asked to hear of the answer; account: a signed-in person (id is
    -- shared.auth.person_id of their token subject); public: a subscriber without an account.
    ADD COLUMN kind            text NOT NULL DEFAULT 'contact'
        CHECK (kind IN ('contact', 'author', 'account', 'public')),
    -- The roles of a signed-in person's token, for the built-in rules (staff, moderator...).
    ADD COLUMN roles           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN channels        text[] NOT NULL DEFAULT '{email,sms}',
    ADD COLUMN digest          text NOT NULL DEFAULT 'immediate'
        CHECK (digest IN ('immediate', 'daily', 'weekly')),
    ADD COLUMN timezone        text NOT NULL DEFAULT 'UTC',
    -- No SMS between these local times (held, then sent); NULL for none.
    ADD COLUMN quiet_start     time,
    ADD COLUMN quiet_end       time,
    -- NULL until a public subscriber confirms (double opt-in); they get nothing else till then.
    ADD COLUMN confirmed_at    timestamptz,
    ADD COLUMN email_opt_out_at timestamptz,
    ADD COLUMN sms_opt_out_at  timestamptz,
    -- When this person's next digest is due (their local morning), for daily/weekly.
    ADD COLUMN next_digest_at  timestamptz,
    ADD COLUMN created_at      timestamptz NOT NULL DEFAULT now();
-- Points of contact learnt before this migration were taken as confirmed: an official role.
UPDATE recipients SET confirmed_at = updated_at;
CREATE INDEX recipients_email ON recipients (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX recipients_phone ON recipients (phone) WHERE phone IS NOT NULL;
CREATE INDEX recipients_roles ON recipients USING gin (roles);
CREATE INDEX recipients_digest_due ON recipients (next_digest_at) WHERE next_digest_at IS NOT NULL;

-- "Follow this": a person hears of some kinds of event about one member, plan, commitment,
-- consultation round or IRM review. One subscription per person and scope; an empty `kinds`
-- means every kind the scope has.
CREATE TABLE subscriptions (
    id           uuid PRIMARY KEY,
    recipient_id uuid NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    scope_type   text NOT NULL CHECK (scope_type IN ('member', 'plan', 'commitment', 'round', 'review')),
    scope_id     uuid NOT NULL,
    kinds        text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- NULL until a public follower confirms this subscription (double opt-in).
    confirmed_at timestamptz,
    UNIQUE (recipient_id, scope_type, scope_id)
);
CREATE INDEX subscriptions_scope ON subscriptions (scope_type, scope_id);

-- What the service knows of the things people follow (from other services' events), to name
-- them in messages and to find who speaks for them.
CREATE TABLE members_seen (
    member_id uuid PRIMARY KEY,
    name      text NOT NULL
);
CREATE TABLE rounds_seen (
    round_id uuid PRIMARY KEY,
    plan_id  uuid NOT NULL,
    title    text NOT NULL
);
CREATE TABLE reviews_seen (
    review_id     uuid PRIMARY KEY,
    plan_id       uuid NOT NULL,
    kind          text NOT NULL,
    due_date      date,
    researcher_id uuid
);
ALTER TABLE plan_contacts ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX plan_contacts_member ON plan_contacts (member_id, seen_at DESC);

-- Deliveries now always name their recipient, and one event may reach many people.
UPDATE deliveries d SET recipient_id = pc.contact_id
    FROM plan_contacts pc WHERE d.recipient_id IS NULL AND pc.plan_id = d.plan_id;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_cause_event_id_template_channel_key;
CREATE UNIQUE INDEX deliveries_once
    ON deliveries (cause_event_id, template, channel, coalesce(recipient_id, plan_id));
ALTER TABLE deliveries
    -- The gateway's id for the message (SMS), to match its delivery-status callbacks.
    ADD COLUMN provider_id     text,
    ADD COLUMN provider_status text;
CREATE INDEX deliveries_provider ON deliveries (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX deliveries_recipient ON deliveries (recipient_id);

-- Items held for a person's next digest. `delivery_id` is set when the digest that carries them
-- is made; the digest's own delivery is unique per person and period, so there are never two.
CREATE TABLE digest_items (
    recipient_id   uuid NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    cause_event_id uuid NOT NULL,
    template       text NOT NULL,
    params         jsonb NOT NULL DEFAULT '{}',
    at             timestamptz NOT NULL,
    delivery_id    uuid,
    PRIMARY KEY (recipient_id, cause_event_id, template)
);
CREATE INDEX digest_items_open ON digest_items (recipient_id) WHERE delivery_id IS NULL;
CREATE INDEX digest_items_delivery ON digest_items (delivery_id) WHERE delivery_id IS NOT NULL;

-- Consent, as given and withdrawn: when, how, for what. Ids only, so it outlives an erasure as
-- the proof of what was asked, without saying who.
CREATE TABLE consents (
    id           bigserial PRIMARY KEY,
    recipient_id uuid NOT NULL,
    action       text NOT NULL CHECK (action IN ('subscribed', 'confirmed', 'unsubscribed',
                                                  'opted_out', 'opted_in', 'erased')),
    channel      text,
    scope        text,
    source       text NOT NULL,
    at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consents_recipient ON consents (recipient_id);

-- Erasures carried out, without personal data: what was asked, by which kind of requester, how
-- many rows went.
CREATE TABLE erasures (
    id                 uuid PRIMARY KEY,
    source             text NOT NULL,
    requested_by       text NOT NULL,
    recipients_erased  integer NOT NULL,
    at                 timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A gateway's delivery report can arrive before the worker has recorded the message as sent (and
-- so before the delivery knows the gateway's id): it waits here and is applied when it does.
CREATE TABLE gateway_reports (
    provider_id text PRIMARY KEY,
    status      text NOT NULL,
    error       text,
    at          timestamptz NOT NULL
);
