-- OGP's commitments database as published: every cell of a column the import does not map is
-- kept with its commitment (shown in its record, written back by the export in OGP's layout),
-- and an imported plan keeps OGP's own id of it (e.g. AP_ALB03).
ALTER TABLE commitments ADD COLUMN source_data jsonb NOT NULL DEFAULT '{}';
ALTER TABLE plans ADD COLUMN ogp_id text;
