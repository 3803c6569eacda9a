"""Bulk milestone progress from CSV: one progress report per row, each through the
:func:`~services.plans.use_cases.milestones.report_progress` use case, so with the rules and
events of ``POST /v1/milestones/{id}/progress``. A report is a dated fact, so importing the same
file twice records it twice.

A row names its milestone by ``milestone_id``, or by ``commitment_source_key`` and
``milestone_number``. Rows are written in batches, one unit of work each under the import lock,
with a SAVEPOINT per row so that a refused row is rolled back alone, its events with it. The
batch's milestones are looked up in one statement; the use case then locks each row's plan and
reads the milestone under that lock, as for an HTTP report."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg

from services.plans.imports.csv_table import CsvSource, CsvSpec, http_url, label, read_csv, slug, whole_number
from services.plans.imports.report import (
    BATCH_SIZE,
    SERVICE,
    FieldError,
    ImportReport,
    Progress,
    RowFailure,
    err,
    errors_of,
    progress_counter,
)
from services.plans.store import ImportLookups, PgPlansUnitOfWork
from services.plans.use_cases import milestones
from services.plans.use_cases._common import staff
from shared.auth import Principal
from shared.errors import DomainError, Invalid
from shared.events.plans import EvidenceLink, MilestoneStatus
from shared.uow import unit_of_work

M_ID = "milestone_id"
M_KEY = "commitment_source_key"
M_NUMBER = "milestone_number"
M_STATUS = "status"
M_PROGRESS = "progress"
M_NOTE = "note"
M_EVIDENCE = "evidence_url"
M_END = "end_date"

PROGRESS_CSV = CsvSpec(
    required=(M_STATUS,),
    optional=(M_ID, M_KEY, M_NUMBER, M_PROGRESS, M_NOTE, M_EVIDENCE, M_END),
)


@dataclass(frozen=True, slots=True)
class ProgressRow:
    line: int
    label: str  # how the report names the milestone
    milestone_id: UUID | None
    commitment_key: str | None
    number: int | None
    status: MilestoneStatus
    progress: int | None  # None: keep the milestone's current progress
    note: str | None
    evidence: list[EvidenceLink]
    end_date: date | None


def parse_progress(line: int, cells: dict[str, str]) -> ProgressRow:
    """Validate one row (no I/O); every problem of the row is reported at once."""
    errors: list[FieldError] = []
    mid: UUID | None = None
    key = cells.get(M_KEY) or None
    number: int | None = None
    if cells.get(M_ID):
        try:
            mid = UUID(cells[M_ID])
        except ValueError:
            errors.append(err(M_ID, f"{cells[M_ID]!r} is not a UUID"))
    elif key:
        if not cells.get(M_NUMBER):
            errors.append(err(M_NUMBER, f"required with {M_KEY}"))
        else:
            try:
                number = whole_number(M_NUMBER, cells[M_NUMBER], 1, 10_000)
            except RowFailure as f:
                errors += f.errors
    else:
        errors.append(err(M_ID, f"give {M_ID}, or {M_KEY} and {M_NUMBER}"))
    status = MilestoneStatus.NOT_STARTED
    try:
        status = MilestoneStatus(slug(label(cells.get(M_STATUS, ""))))
    except ValueError:
        allowed = ", ".join(s.value for s in MilestoneStatus)
        errors.append(err(M_STATUS, f"{cells.get(M_STATUS, '')!r} is not one of: {allowed}"))
    progress: int | None = None
    if cells.get(M_PROGRESS):
        try:
            progress = whole_number(M_PROGRESS, cells[M_PROGRESS].removesuffix("%"), 0, 100)
        except RowFailure as f:
            errors += f.errors
    note = cells.get(M_NOTE) or None
    if note is not None and len(note) > 5000:
        errors.append(err(M_NOTE, "longer than 5000 characters"))
    evidence: list[EvidenceLink] = []
    for url in (u.strip() for u in re.split(r"[;\s]+", cells.get(M_EVIDENCE, ""))):
        if not url:
            continue
        if http_url(url):
            evidence.append(EvidenceLink(url=url))
        else:
            errors.append(err(M_EVIDENCE, f"{url!r} is not an http(s) URL"))
    if len(evidence) > 50:
        errors.append(err(M_EVIDENCE, "at most 50 links"))
    end: date | None = None
    if cells.get(M_END):
        try:
            end = date.fromisoformat(cells[M_END])
        except ValueError:
            errors.append(err(M_END, f"{cells[M_END]!r} is not a date (YYYY-MM-DD)"))
    if errors:
        raise RowFailure(errors)
    name = str(mid) if mid else f"{key}#{number}"
    return ProgressRow(line, name, mid, key, number, status, progress, note, evidence, end)


#: What a row may fail with while it is written; anything else stops the import.
_ROW_ERRORS = (RowFailure, DomainError, asyncpg.PostgresError)
#: The use case names the fields it refuses as the file's columns are named (status, progress).
_SAME_NAMES: dict[str, str] = {}

MilestoneRef = UUID | tuple[str, int]


def _ref(row: ProgressRow) -> MilestoneRef:
    if row.milestone_id is not None:
        return row.milestone_id
    assert row.commitment_key is not None
    assert row.number is not None
    return (row.commitment_key, row.number)


async def _milestones_of(lookups: ImportLookups, rows: Sequence[ProgressRow]) -> dict[MilestoneRef, UUID]:
    """The milestone each row names, for the rows whose milestone exists (the batch's, in one
    round trip)."""
    refs = [_ref(r) for r in rows]
    ids = [r for r in refs if isinstance(r, UUID)]
    keys = [r for r in refs if isinstance(r, tuple)]
    found: dict[MilestoneRef, UUID] = {}
    for r in await lookups.milestones_named(ids, keys):
        found[r["id"] if r["key"] is None else (r["key"], r["number"])] = r["id"]
    return found


async def _report(
    uow: PgPlansUnitOfWork, who: Principal, row: ProgressRow, found: dict[MilestoneRef, UUID]
) -> list[FieldError] | None:
    """Record the row's report; the row's errors when it is refused (nothing of it is kept)."""
    milestone_id = found.get(_ref(row))
    if milestone_id is None:
        return [err(M_ID if row.milestone_id else M_KEY, f"no milestone {row.label}")]
    cmd = milestones.ReportProgress(
        who, milestone_id, row.status, row.progress, row.note, row.evidence, row.end_date
    )
    try:
        async with uow.savepoint():
            await milestones.report_progress(uow, cmd)
    except _ROW_ERRORS as exc:
        errors = errors_of(exc, _SAME_NAMES)
        if errors[0]["field"] == "row" and errors[0].get("rule", "").startswith("plan."):
            errors[0]["field"] = M_STATUS  # the plan's state refuses progress: the status is at fault
        return errors
    return None


async def import_progress(
    pool: asyncpg.Pool,
    source: CsvSource,
    *,
    by: str,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Bulk progress reports. Raises :class:`shared.errors.Invalid` (422 over HTTP) only for a
    file that cannot be read at all or whose header names no milestone; everything else is a row
    error in the report. ``progress`` is told (rows done, rows in the file) after the file is
    read (in a worker thread, as the commitments are) and after each batch."""
    report, rows = await asyncio.to_thread(_checked_rows, source)
    who = staff(by)
    done = progress_counter(progress, report.rows - len(rows), report.rows)
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
            await uow.imports.lock()
            found = await _milestones_of(uow.imports, batch)
            for row in batch:
                errors = await _report(uow, who, row, found)
                if errors is None:
                    report.updated += 1
                else:
                    report.fail(row.line, row.label, errors)
        done(len(batch))
    return report


def _checked_rows(source: CsvSource) -> tuple[ImportReport, list[ProgressRow]]:
    columns, records = read_csv(source, PROGRESS_CSV)
    if M_ID not in columns and not (M_KEY in columns and M_NUMBER in columns):
        raise Invalid.many(
            f"invalid header: a {M_ID} column, or {M_KEY} and {M_NUMBER} columns, are required",
            [(M_ID, "required column missing")],
        )
    report = ImportReport("milestone_id")
    rows: list[ProgressRow] = []
    for rec in records:
        report.rows += 1
        row_label = rec.cells.get(M_ID) or (
            f"{rec.cells[M_KEY]}#{rec.cells.get(M_NUMBER, '')}" if rec.cells.get(M_KEY) else None
        )
        if rec.errors:
            report.fail(rec.line, row_label, rec.errors)
            continue
        try:
            rows.append(parse_progress(rec.line, rec.cells))
        except RowFailure as f:
            report.fail(rec.line, row_label, f.errors)
    return report, rows
