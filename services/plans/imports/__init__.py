"""Spreadsheet imports of the plans service: OGP's commitments database and bulk milestone
progress, from CSV, for the HTTP API and for operators (``python -m services.plans.imports``).

One module per idea:

* :mod:`.csv_table` reads a CSV file: the header matched to the columns a file may have, the
  records with what is wrong with their bytes or shape, and the cell values both files share;
* OGP's commitments database, read without I/O: :mod:`.ogp_layout` its columns by meaning,
  :mod:`.ogp_cells` what a cell means (not-assessed codes, scale wordings, dates),
  :mod:`.ogp_header` one file's header, :mod:`.ogp_row` one row's cells and problems,
  :mod:`.ogp_assessment` the IRM's scales and the stars, and :mod:`.commitments_sheet` a whole
  row checked and turned into what the platform stores;
* :mod:`.commitment_import` applies those rows: members, plans and commitments created or
  corrected through the plans use cases, in batches;
* :mod:`.progress_sheet` parses and applies the bulk milestone progress file;
* :mod:`.report` is the answer (counts and per-row errors) and how a refusal becomes a row error;
* :mod:`.jobs` runs an import in the background of the service (``Prefer: respond-async``) and
  keeps its state, progress and report in ``import_jobs``;
* :mod:`.cli` is the operator's command (``python -m services.plans.imports FILE``), with a
  progress bar.

Why it is shaped this way:

* **A bad row never stops the good ones.** Every row is checked on its own (no I/O), then
  written in a transaction of ``batch_size`` rows (one transaction per row would cost a commit
  each, and 5,000 rows must import in seconds). A row that fails while writing gets the batch
  replayed with a SAVEPOINT per row, so that it alone is rolled back, its events with it. It is
  reported as ``{row, commitment_id, errors: [{field, message}]}`` with the spreadsheet's column
  names.
* **Re-importing the same file changes nothing.** Members, plans and commitments carry the
  spreadsheet's keys in ``source_key``; an unchanged row is compared in memory and not written,
  a changed one becomes one ``imported`` history entry and one ``CommitmentUpdated`` event.
* **Rows are written by the use cases HTTP calls**, in a ``PgPlansUnitOfWork``: the same rules,
  the same history rows, and events in the outbox in the transaction of the change, so the
  relay publishes them once the batch commits (never for a row rolled back). A use case's
  refusal becomes the row's error, naming the spreadsheet's column.
* **The file is read in chunks, in a worker thread**: an upload spooled to disk is never read
  whole into memory (the checked rows, about 4x the file, are what an import holds), and the
  seconds of CPU that reading OGP's whole database takes do not stall the service's requests
  and consumers.
* **Imports are staff data corrections**: an existing commitment is updated whatever the state
  of its plan (the HTTP edit rule does not apply); a *new* commitment is only added to a plan
  whose commitments are still open (draft, co-creation, refresh), as over HTTP.

The column rules are documented for users in ``docs/open-data.md``."""

from services.plans.imports.cli import KINDS, run_cli
from services.plans.imports.commitment_import import IMPORT_CONTACT, WORKERS, import_commitments
from services.plans.imports.commitments_sheet import (
    C_ACCESS,
    C_ACCOUNTABILITY,
    C_CODE,
    C_COMPLETION,
    C_COUNTRY,
    C_DIOG,
    C_FULL,
    C_ID,
    C_IMPACT,
    C_KIND,
    C_LANGUAGE,
    C_LEAD,
    C_NUMBER,
    C_PARTICIPATION,
    C_PLAN,
    C_REGION,
    C_SHORT,
    C_SPECIFICITY,
    C_SUPPORT,
    C_TECHNOLOGY,
    C_THEME,
    C_TITLE,
    C_URL,
    C_YEAR,
    CommitmentRow,
    desired_values,
    parse_commitment,
)
from services.plans.imports.csv_table import CsvRecord, CsvSpec, read_csv
from services.plans.imports.ogp_assessment import LEGACY_KEY
from services.plans.imports.progress_sheet import (
    M_END,
    M_EVIDENCE,
    M_ID,
    M_KEY,
    M_NOTE,
    M_NUMBER,
    M_PROGRESS,
    M_STATUS,
    PROGRESS_CSV,
    ProgressRow,
    import_progress,
    parse_progress,
)
from services.plans.imports.report import BATCH_SIZE, IMPORT_LOCK, ImportReport, RowFailure

__all__ = [
    "BATCH_SIZE",
    "C_ACCESS",
    "C_ACCOUNTABILITY",
    "C_CODE",
    "C_COMPLETION",
    "C_COUNTRY",
    "C_DIOG",
    "C_FULL",
    "C_ID",
    "C_IMPACT",
    "C_KIND",
    "C_LANGUAGE",
    "C_LEAD",
    "C_NUMBER",
    "C_PARTICIPATION",
    "C_PLAN",
    "C_REGION",
    "C_SHORT",
    "C_SPECIFICITY",
    "C_SUPPORT",
    "C_TECHNOLOGY",
    "C_THEME",
    "C_TITLE",
    "C_URL",
    "C_YEAR",
    "IMPORT_CONTACT",
    "IMPORT_LOCK",
    "KINDS",
    "LEGACY_KEY",
    "M_END",
    "M_EVIDENCE",
    "M_ID",
    "M_KEY",
    "M_NOTE",
    "M_NUMBER",
    "M_PROGRESS",
    "M_STATUS",
    "PROGRESS_CSV",
    "WORKERS",
    "CommitmentRow",
    "CsvRecord",
    "CsvSpec",
    "ImportReport",
    "ProgressRow",
    "RowFailure",
    "desired_values",
    "import_commitments",
    "import_progress",
    "parse_commitment",
    "parse_progress",
    "read_csv",
    "run_cli",
]
