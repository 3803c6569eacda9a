-- Spreadsheet imports run in the background (``Prefer: respond-async`` on POST /v1/imports/...):
-- one row per job, polled at GET /v1/imports/jobs/{id} (services/plans/imports/jobs.py).
--
-- Why this shape:
-- * the uploaded file is never stored here: it lives in a temporary file of the process that
--   took it, for the job's life only. A job whose process dies cannot be resumed; it is marked
--   interrupted and the file re-submitted (an import is idempotent);
-- * owner names the process running the job and heartbeat_at is refreshed by it while the job
--   is queued or running (every few seconds, and with each progress write): a job whose
--   heartbeat is stale belongs to a process that is gone, whichever replica notices it;
-- * report is the same JSON the synchronous import answers; error is a message for people,
--   never a stack trace.
CREATE TABLE import_jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('commitments', 'milestone-progress')),
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')),
    submitted_by text NOT NULL,
    owner        uuid NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    rows_total   integer,
    rows_done    integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    report       jsonb,
    error        text
);
CREATE INDEX import_jobs_recent ON import_jobs (created_at DESC, id DESC);
CREATE INDEX import_jobs_live ON import_jobs (heartbeat_at) WHERE state IN ('queued', 'running');
