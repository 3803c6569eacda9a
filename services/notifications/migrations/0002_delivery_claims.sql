-- The delivery worker no longer holds a transaction (and row locks) while it talks to the SMTP
-- server. It claims due rows in a short transaction: the claim is a lease (claimed_until) owned
-- by a token (claim_token); it sends with no transaction open; it records each outcome in its own
-- short transaction, only while the token still holds the row. A worker that dies mid-batch
-- leaves leases that run out, and another replica takes the rows then.
--
-- A claimed row stays 'pending' (the statuses the API shows do not change); claimed_until says
-- whether someone is sending it right now.
ALTER TABLE deliveries
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claim_token   uuid;

