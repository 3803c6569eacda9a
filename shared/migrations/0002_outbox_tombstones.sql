-- A tombstone (a null value on a compacted topic: "forget this key") goes through the outbox like
-- any event, so it is published only if the deletion it announces commits. Its payload is NULL.
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL;
