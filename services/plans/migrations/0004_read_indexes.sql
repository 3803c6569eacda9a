-- Keyset pagination of the public lists: each index is the list's sort key, so a page is an
-- index range scan from the cursor, however deep the page (services/plans/queries.py).
CREATE INDEX commitments_created ON commitments (created_at, id);
CREATE INDEX plans_created ON plans (created_at, id);
CREATE INDEX members_name ON members (name, id);
