-- Personal data lives here and in the plans service only; events carry recipient ids.
CREATE TABLE recipients (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    email      text,
    phone      text,
    language   text NOT NULL DEFAULT 'en',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Which contact speaks for each plan, learned from plans events.
CREATE TABLE plan_contacts (
    plan_id    uuid PRIMARY KEY,
    member_id  uuid NOT NULL,
    contact_id uuid NOT NULL,
    title      text NOT NULL
);

-- One row per message to send. The consumer writes it in the event's transaction; the delivery
-- worker sends it. Sending outside the consumer keeps a slow SMTP server from stalling Kafka.
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    cause_event_id  uuid NOT NULL,
    template        text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms')),
    -- Either a known recipient, or the plan whose point of contact is the recipient (resolved
    -- when sending, so the contact may arrive on its own topic a little later).
    recipient_id    uuid,
    plan_id         uuid,
    params          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at         timestamptz,
    UNIQUE (cause_event_id, template, channel),
    CHECK (recipient_id IS NOT NULL OR plan_id IS NOT NULL)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_plan ON deliveries (plan_id);

CREATE FUNCTION deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deliveries', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_notify();
