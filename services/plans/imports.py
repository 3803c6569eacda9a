"""Spreadsheet imports of the plans service: OGP's commitments database and bulk milestone
progress, from CSV, for the HTTP API and for operators (``python -m services.plans.imports``).

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
* **Events go through the outbox exactly as for HTTP changes**, in the transaction of the
  change, so the relay publishes them once the batch commits (never for a row rolled back).
* **Imports are staff data corrections**: an existing commitment is updated whatever the state
  of its plan (the HTTP edit rule does not apply); a *new* commitment is only added to a plan
  whose commitments are still open (draft, co-creation, refresh), as over HTTP.

The column rules are documented for users in ``docs/open-data.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
from pydantic import ValidationError

from services.plans import commitments, domain, handlers, store
from services.plans.domain.commitments import diff
from services.plans.schemas import CommitmentIn
from services.plans.use_cases.commitments import CorrectCommitment, correct_commitment
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, pending_migrations
from shared.errors import DomainError
from shared.events.plans import (
    EvidenceLink,
    Language,
    MemberKind,
    MilestoneStatus,
    PlanState,
)
from shared.http import Problem, problem_for
from shared.locks import PLANS_IMPORT
from shared.uow import UnitOfWork

SERVICE = "plans"
Row = dict[str, Any]
FieldError = dict[str, str]

#: One import at a time (a commitments import holds it for its whole run, a progress import for
#: each batch): two imports could otherwise race to create the same member or plan, or lock the
#: same plans in another order. HTTP edits lock one plan at a time and never take it.
IMPORT_LOCK = PLANS_IMPORT
BATCH_SIZE = 200
#: Connections an import writes with at once. Rows are dealt to them by member, so two never
#: touch the same member, plan or commitment (no lock waits, each aggregate's events in order).
WORKERS = 4

#: The contact an imported plan gets: OGP's spreadsheet names none, and a plan needs one.
IMPORT_CONTACT: Row = {"name": "OGP import", "email": None, "phone": None, "language": "en"}
#: Key of the commitment's ``irm`` block that keeps what OGP's database said about it.
LEGACY_KEY = "legacy_import"
LEGACY_SCALE_VERSION = "legacy-2014"
FIRST_OGP_YEAR = 2011  # OGP was launched in September 2011


# --- errors and the answer ---------------------------------------------------------------------


class RowFailure(Exception):
    """A row cannot be imported; ``errors`` name the spreadsheet's columns."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _err(column: str, message: str, rule: str | None = None) -> FieldError:
    out = {"field": column, "message": message}
    if rule:
        out["rule"] = rule
    return out


@dataclass
class ImportReport:
    """The answer of an import. ``rows`` counts the data rows (blank lines are skipped);
    ``created + updated + unchanged + failed == rows``."""

    key_name: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    members_created: int = 0
    plans_created: int = 0
    errors: list[Row] = field(default_factory=list)

    def fail(self, line: int, key: str | None, errors: list[FieldError]) -> None:
        self.failed += 1
        self.errors.append({"row": line, self.key_name: key or None, "errors": errors})

    def as_dict(self) -> Row:
        out: Row = {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }
        if self.key_name == "commitment_id":
            out.update(members_created=self.members_created, plans_created=self.plans_created)
        else:  # progress reports are appended, never "created" nor "unchanged"
            del out["created"], out["unchanged"]
        out["errors"] = sorted(self.errors, key=lambda e: int(e["row"]))
        return out


# --- reading CSV ---------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class CsvSpec:
    """The columns a file may have; matched case-insensitively, spaces collapsed."""

    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def known(self) -> dict[str, str]:
        return {_norm(c): c for c in (*self.required, *self.optional)}


@dataclass(frozen=True, slots=True)
class CsvRecord:
    line: int  # the line the record starts on, the header being line 1
    cells: dict[str, str]  # canonical column name → stripped cell (possibly partial)
    errors: list[FieldError]


def _undecodable(text: str) -> bool:
    """Bytes that are not UTF-8 were decoded as lone surrogates (``surrogateescape``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def read_csv(data: bytes, spec: CsvSpec) -> tuple[list[str], Iterator[CsvRecord]]:
    """Check the header (422 naming each unknown, duplicated or missing column) and return the
    present columns and the records. A record with the wrong number of fields or bytes that are
    not UTF-8 comes back with errors; reading goes on with the next one.

    The whole body is decoded at once with ``surrogateescape`` so that one bad byte spoils only
    the row it is in, not the file."""
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    # Cells are checked one by one only when the whole text has something to find.
    check_bytes, check_controls = _undecodable(text), bool(_CONTROL.search(text))
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    try:
        for raw in reader:
            if any(c.strip() for c in raw):
                header = raw
                break
    except csv.Error as exc:
        raise Problem(422, "Unprocessable Content", f"the header is not readable as CSV: {exc}") from None
    if header is None:
        raise Problem(422, "Unprocessable Content", "the file is empty: a header row is expected")
    if any(_undecodable(c) or "\x00" in c for c in header):
        raise Problem(
            422, "Unprocessable Content", "the header is not UTF-8 text: is this file a CSV spreadsheet?"
        )
    known = spec.known
    columns: list[str] = []
    errors: list[FieldError] = []
    for name in header:
        canonical = known.get(_norm(name))
        if canonical is None:
            errors.append(_err(name.strip() or "(empty)", "unknown column"))
        elif canonical in columns:
            errors.append(_err(canonical, "column given twice"))
        columns.append(canonical or name)
    errors += [_err(c, "required column missing") for c in spec.required if c not in columns]
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Problem(422, "Unprocessable Content", f"invalid header: {detail}", errors=errors)
    header_line = reader.line_num

    def records() -> Iterator[CsvRecord]:
        last = header_line
        while True:
            start = last + 1
            try:
                raw = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                last = reader.line_num
                yield CsvRecord(start, {}, [_err("row", f"not readable as CSV: {exc}")])
                continue
            last = reader.line_num
            if not any(c.strip() for c in raw):
                continue
            cells = {col: value.strip() for col, value in zip(columns, raw, strict=False)}
            errs: list[FieldError] = []
            if len(raw) != len(columns):
                errs.append(_err("row", f"{len(raw)} fields where the header has {len(columns)}"))
            if check_bytes:
                bad = [c for c, v in cells.items() if _undecodable(v)]
                errs += [_err(c, "not UTF-8 text") for c in bad]
                cells = {c: v for c, v in cells.items() if c not in bad}
            if check_controls:
                errs += [
                    _err(c, "control characters are not allowed")
                    for c, v in cells.items()
                    if _CONTROL.search(v)
                ]
            yield CsvRecord(start, cells, errs)

    return columns, records()


# --- the commitments spreadsheet --------------------------------------------------------------

C_ID = "Commitment Unique Identifier"
C_COUNTRY = "Country/Locality"
C_REGION = "Region"
C_THEME = "Theme"
C_YEAR = "Year Of Submission"
C_PLAN = "Action Plan Number"
C_NUMBER = "Commitment Number"
C_TITLE = "Commitment Title"
C_SHORT = "Short Title"
C_FULL = "Full Text"
C_LEAD = "Lead Institution"
C_SUPPORT = "Supporting Institution(s)"
C_URL = "URL"
C_ACCESS = "OGP Value Access To Information"
C_PARTICIPATION = "OGP Value Civic Participation"
C_ACCOUNTABILITY = "OGP Value Public Accountability"
C_TECHNOLOGY = "OGP Value Technology"
C_SPECIFICITY = "Specificity"
C_IMPACT = "Potential Impact"
C_COMPLETION = "Completion (Progress Report)"
C_DIOG = "Did It Open Government (Overall)"
# Sharaka's own optional columns (OGP's spreadsheet has none of them).
C_KIND = "Member Kind"
C_CODE = "Country Code"
C_LANGUAGE = "Language"

COMMITMENTS_CSV = CsvSpec(
    required=(C_ID, C_COUNTRY, C_YEAR, C_PLAN, C_TITLE),
    optional=(
        C_REGION, C_THEME, C_NUMBER, C_SHORT, C_FULL, C_LEAD, C_SUPPORT, C_URL, C_ACCESS,
        C_PARTICIPATION, C_ACCOUNTABILITY, C_TECHNOLOGY, C_SPECIFICITY, C_IMPACT, C_COMPLETION,
        C_DIOG, C_KIND, C_CODE, C_LANGUAGE,
    ),
)  # fmt: skip

VALUE_COLUMNS = {
    C_ACCESS: "access_to_information",
    C_PARTICIPATION: "civic_participation",
    C_ACCOUNTABILITY: "public_accountability",
    C_TECHNOLOGY: "technology_innovation",
}
#: Legacy IRM scales (OGP's 2014 methodology): spreadsheet label → stored value.
LEGACY_SCALES: dict[str, tuple[str, tuple[str, ...]]] = {
    C_SPECIFICITY: ("specificity", ("none", "low", "medium", "high")),
    C_IMPACT: ("potential_impact", ("none", "minor", "moderate", "transformative")),
    C_COMPLETION: ("completion", ("not started", "limited", "substantial", "complete")),
    C_DIOG: ("did_it_open_government", ("worsened", "did not change", "marginal", "major", "outstanding")),
}
LEGACY_COLUMNS = (*LEGACY_SCALES, C_NUMBER, C_URL)
#: Field names of the commitment (as the API and pydantic name them) → spreadsheet column.
FIELD_COLUMNS = {
    "title": C_TITLE,
    "objective": C_FULL,
    "short_title": C_SHORT,
    "lead_agency": C_LEAD,
    "supporting_government": C_SUPPORT,
    "policy_areas": C_THEME,
    "original_language": C_LANGUAGE,
    **{f"values.{v}": c for c, v in VALUE_COLUMNS.items()},
    **{f"value_{v}": c for c, v in VALUE_COLUMNS.items()},
}

_TRUE = frozenset({"yes", "y", "x", "1", "true", "✓"})
_FALSE = frozenset({"no", "n", "0", "false", "", "-"})


def _label(value: str) -> str:
    return " ".join(value.replace("_", " ").split()).casefold()


def _slug(label: str) -> str:
    return label.replace(" ", "_")


def _flag(column: str, value: str) -> bool:
    v = value.strip().casefold()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise RowFailure([_err(column, f"{value!r} is not a yes/no value (Yes, No, X, 1, 0 or empty)")])


def _int(column: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value.strip().removesuffix(".0"))
    except ValueError:
        raise RowFailure([_err(column, f"{value!r} is not a whole number")]) from None
    if not low <= number <= high:
        raise RowFailure([_err(column, f"{number} is not between {low} and {high}")])
    return number


def _http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(value) <= 2000


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    """One valid row of the spreadsheet, in the platform's terms."""

    line: int
    key: str
    country: str
    kind: MemberKind | None  # None: not said (national when the member is created)
    country_code: str | None
    region: str | None
    year: int
    plan_number: int
    #: Column-named commitment fields the row is authoritative for (absent columns are not).
    fields: Row
    #: The file has a Language column: the original language is the file's, not kept.
    language_given: bool
    #: The legacy block: None when the file has none of its columns, {} when its cells are empty.
    legacy: Row | None

    @property
    def plan_key(self) -> str:
        return f"{self.country}#{self.plan_number}"


def parse_commitment(line: int, cells: dict[str, str], present: set[str]) -> CommitmentRow:
    """Validate one row (no I/O); every problem of the row is reported at once."""
    errors: list[FieldError] = []

    def cell(column: str) -> str:
        return cells.get(column, "")

    def check(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except RowFailure as f:
            errors.extend(f.errors)
            return None

    key = cell(C_ID)
    if not key:
        errors.append(_err(C_ID, "required"))
    elif len(key) > 200:
        errors.append(_err(C_ID, "longer than 200 characters"))
    country = cell(C_COUNTRY)
    if not country:
        errors.append(_err(C_COUNTRY, "required"))
    elif len(country) > 300:
        errors.append(_err(C_COUNTRY, "longer than 300 characters"))
    year: int | None = None
    if not cell(C_YEAR):
        errors.append(_err(C_YEAR, "required"))
    else:
        year = check(_int, C_YEAR, cell(C_YEAR), FIRST_OGP_YEAR, datetime.now(UTC).year + 1)
    plan_number: int | None = None
    if not cell(C_PLAN):
        errors.append(_err(C_PLAN, "required"))
    else:
        plan_number = check(_int, C_PLAN, cell(C_PLAN), 1, 50)

    kind: MemberKind | None = None
    if cell(C_KIND):
        try:
            kind = MemberKind(_label(cell(C_KIND)))
        except ValueError:
            allowed = ", ".join(k.value for k in MemberKind)
            errors.append(_err(C_KIND, f"{cell(C_KIND)!r} is not one of: {allowed}"))
    code = cell(C_CODE).upper() or None
    if code is not None and not re.fullmatch(r"[A-Z]{2}", code):
        errors.append(_err(C_CODE, f"{cell(C_CODE)!r} is not an ISO 3166-1 alpha-2 code"))
    region = cell(C_REGION) or None
    if region is not None and len(region) > 100:
        errors.append(_err(C_REGION, "longer than 100 characters"))

    lang = Language.EN
    if cell(C_LANGUAGE):
        try:
            lang = Language(cell(C_LANGUAGE).casefold())
        except ValueError:
            allowed = ", ".join(v.value for v in Language)
            errors.append(_err(C_LANGUAGE, f"{cell(C_LANGUAGE)!r} is not one of: {allowed}"))

    # The commitment's own fields go through the API's model: same limits, same normalisation.
    body: Row = {"original_language": lang.value, "title": cell(C_TITLE)}
    if cell(C_FULL):
        body["objective"] = cell(C_FULL)
    if C_LEAD in present:
        body["lead_agency"] = cell(C_LEAD) or None
    if C_SUPPORT in present:
        body["supporting_government"] = [s.strip() for s in re.split(r"[;\n]", cell(C_SUPPORT)) if s.strip()]
    if C_THEME in present:
        body["policy_areas"] = [t.strip() for t in re.split(r"[;,]", cell(C_THEME)) if t.strip()]
    flags = {name: check(_flag, col, cell(col)) for col, name in VALUE_COLUMNS.items() if col in present}
    values = {name: flag for name, flag in flags.items() if flag is not None}
    if values:
        body["values"] = values
    fields: Row = {}
    if not cell(C_TITLE):
        errors.append(_err(C_TITLE, "required"))
    else:
        try:
            model = CommitmentIn.model_validate(body)
        except ValidationError as exc:
            for e in exc.errors():
                loc = [str(p) for p in e["loc"] if not isinstance(p, int)]
                if any(p.startswith("dict[") for p in loc):
                    continue  # the {language: text} branch of a text field: a cell is a string
                name = ".".join(p for p in loc if p != "constrained-str")
                errors.append(_err(FIELD_COLUMNS.get(name, name), e["msg"]))
        else:
            fields = model.to_fields(lang)
            fields["original_language"] = lang.value
            short = cell(C_SHORT)
            if short:
                if len(short) > 500:
                    errors.append(_err(C_SHORT, "longer than 500 characters"))
                fields["texts"]["short_title"] = {lang.value: short}

    legacy: Row | None = None
    if any(c in present for c in LEGACY_COLUMNS):
        legacy = {}
        for col, (name, labels) in LEGACY_SCALES.items():
            if not cell(col):
                continue
            label = _label(cell(col))
            if label not in labels:
                errors.append(_err(col, f"{cell(col)!r} is not one of: {', '.join(labels)}"))
            else:
                legacy[name] = _slug(label)
        if cell(C_NUMBER):
            if len(cell(C_NUMBER)) > 20:
                errors.append(_err(C_NUMBER, "longer than 20 characters"))
            legacy["ogp_commitment_number"] = cell(C_NUMBER)
        if cell(C_URL):
            if not _http_url(cell(C_URL)):
                errors.append(_err(C_URL, f"{cell(C_URL)!r} is not an http(s) URL"))
            legacy["url"] = cell(C_URL)
        if legacy:
            legacy["scale_version"] = LEGACY_SCALE_VERSION

    if errors:
        raise RowFailure(errors)
    assert year is not None
    assert plan_number is not None
    return CommitmentRow(
        line, key, country, kind, code, region, year, plan_number, fields, C_LANGUAGE in present, legacy
    )


def _legacy_star(block: Row, relevant: bool) -> bool | None:
    """OGP's legacy star: specific, relevant, potentially moderate or transformative, and at least
    substantially complete. Unknown (None) until all three scales are known."""
    if not all(k in block for k in ("specificity", "potential_impact", "completion")):
        return None
    return (
        block["specificity"] in ("medium", "high")
        and relevant
        and block["potential_impact"] in ("moderate", "transformative")
        and block["completion"] in ("substantial", "complete")
    )


def desired_values(row: CommitmentRow, current: Row | None) -> Row:
    """What the commitment's columns should be after this row, for the columns the row speaks
    for. Texts are merged (a language or text the file does not give is kept); the legacy block
    replaces the previous one."""
    base = current or {}
    out: Row = {k: v for k, v in row.fields.items() if k != "texts"}
    merged: dict[str, dict[str, str]] = {k: dict(v) for k, v in base.get("texts", {}).items()}
    for name, by_language in row.fields["texts"].items():
        merged.setdefault(name, {}).update(by_language)
    out["texts"] = merged
    if current is not None and not row.language_given:
        out.pop("original_language", None)
    lang = out.get("original_language") or base["original_language"]
    out["title"] = merged["title"].get(lang) or base.get("title") or next(iter(merged["title"].values()))
    if row.legacy is not None:
        irm = copy.deepcopy(base.get("irm") or {})
        block = dict(row.legacy)
        if block:
            core = ("value_access_to_information", "value_civic_participation", "value_public_accountability")
            star = _legacy_star(block, any(bool(out.get(k, base.get(k, False))) for k in core))
            if star is not None:
                block["star"] = star
            irm[LEGACY_KEY] = block
        else:
            irm.pop(LEGACY_KEY, None)
        out["irm"] = irm
    return out


def _check_rules(values: Row, current: Row | None) -> None:
    merged = {**(current or {}), **values}
    try:
        domain.check_values(
            bool(merged.get("value_access_to_information")),
            bool(merged.get("value_civic_participation")),
            bool(merged.get("value_public_accountability")),
            bool(merged.get("value_technology_innovation")),
        )
        domain.check_original_language(merged["original_language"], merged["texts"].get("title", {}))
    except domain.RuleViolation as rv:
        column = FIELD_COLUMNS.get(rv.field or "", rv.field or "row")
        raise RowFailure([_err(column, rv.message, rv.rule)]) from None


def _problem_errors(p: Problem) -> list[FieldError]:
    rule = p.extra.get("rule")
    if p.errors:
        return [_err(FIELD_COLUMNS.get(e["field"], e["field"]), e["message"], rule) for e in p.errors]
    return [_err("row", p.detail or p.title, rule)]


_COMMITMENTS_BY_KEY = f"""SELECT {store.COMMITMENT_COLUMNS} FROM commitments c
    WHERE c.source_key = ANY($1::text[]) ORDER BY c.id FOR UPDATE"""  # noqa: S608  (constant columns)
_PLANS_BY_KEY = """SELECT id, member_id, state, start_date, source_key FROM plans
    WHERE source_key = ANY($1::text[]) ORDER BY id FOR UPDATE"""
_MEMBERS_BY_KEY = """SELECT id, name, kind, country_code, region, source_key FROM members
    WHERE source_key = ANY($1::text[])"""

_ROW_ERRORS = (RowFailure, Problem, DomainError, ValidationError, asyncpg.PostgresError)


def _errors_of(exc: Exception) -> list[FieldError]:
    if isinstance(exc, RowFailure):
        return exc.errors
    if isinstance(exc, Problem):
        return _problem_errors(exc)
    if isinstance(exc, DomainError):
        return _problem_errors(problem_for(exc))
    if isinstance(exc, asyncpg.PostgresError):
        return [_err("row", f"refused by the database: {exc}")]
    return [_err("row", str(exc))]


class _Replay(Exception):
    """A row of an optimistic batch failed: roll the batch back and replay it row by row."""


@dataclass
class _Scope:
    """What a batch (or, when replayed, one row) did; kept only if it commits."""

    members: dict[str, Row] = field(default_factory=dict)
    plans: dict[str, Row] = field(default_factory=dict)
    irm: dict[str, Row] = field(default_factory=dict)  # commitment id → its irm column
    members_created: int = 0
    plans_created: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[CommitmentRow, list[FieldError]]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def merge(self, other: _Scope) -> None:
        self.members.update(other.members)
        self.plans.update(other.plans)
        self.irm.update(other.irm)
        for name in ("members_created", "plans_created", "created", "updated", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


class _CommitmentImport:
    """One import run. Rows go in batches, each one transaction:

    1. lock the batch's existing plans and commitments, in that order
       (the order HTTP changes use: plan, then commitment), so no row needs its own locking;
    2. write every row without a savepoint, all events in one outbox insert: 3 round trips for
       a new commitment, none for an unchanged one;
    3. if a row fails, roll the batch back and replay it with a SAVEPOINT per row, so that only
       the bad row is lost. Valid files (the usual case) never pay for savepoints.

    Members and plans met are remembered by key, so each is looked up once per run."""

    def __init__(self, by: str, report: ImportReport) -> None:
        self.by = by
        self.report = report
        self.members: dict[str, Row] = {}
        self.plans: dict[str, Row] = {}

    async def run(
        self, pool: asyncpg.Pool, rows: Sequence[CommitmentRow], batch_size: int, workers: int
    ) -> None:
        """Deal the rows to ``workers`` lanes by member (largest members first, each to the
        lightest lane; file order kept inside a lane), under a lock that makes a second import
        wait for this one."""
        lanes: list[list[CommitmentRow]] = [[] for _ in range(max(1, min(workers, pool.get_max_size() - 1)))]
        by_member: dict[str, list[CommitmentRow]] = {}
        for row in rows:
            by_member.setdefault(row.country, []).append(row)
        for member_rows in sorted(by_member.values(), key=len, reverse=True):
            min(lanes, key=len).extend(member_rows)
        for lane in lanes:
            lane.sort(key=lambda r: r.line)
        async with pool.acquire() as guard:
            await guard.execute("SELECT pg_advisory_lock($1)", IMPORT_LOCK)
            try:
                async with asyncio.TaskGroup() as tg:
                    for lane in lanes:
                        if lane:
                            tg.create_task(self._lane(pool, lane, batch_size))
            except BaseExceptionGroup as group:
                raise group.exceptions[0] from None  # an unexpected failure: the first is enough
            finally:
                await guard.execute("SELECT pg_advisory_unlock($1)", IMPORT_LOCK)

    async def _lane(self, pool: asyncpg.Pool, rows: Sequence[CommitmentRow], batch_size: int) -> None:
        async with pool.acquire() as conn:
            await self._run_lane(conn, rows, batch_size)

    async def _run_lane(self, conn: Any, rows: Sequence[CommitmentRow], batch_size: int) -> None:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            try:
                scope = await self._batch(conn, batch, replay=False)
            except _Replay:
                scope = await self._batch(conn, batch, replay=True)
            self.members.update(scope.members)
            self.plans.update(scope.plans)
            r = self.report
            r.members_created += scope.members_created
            r.plans_created += scope.plans_created
            r.created += scope.created
            r.updated += scope.updated
            r.unchanged += scope.unchanged
            for row, errors in scope.errors:
                r.fail(row.line, row.key, errors)

    async def _batch(self, conn: Any, batch: Sequence[CommitmentRow], *, replay: bool) -> _Scope:
        scope = _Scope()
        async with conn.transaction():
            for m in await conn.fetch(_MEMBERS_BY_KEY, sorted({r.country for r in batch})):
                self.members[m["source_key"]] = dict(m)
            locked: dict[UUID, str] = {}  # plans this transaction holds → their state
            for p in await conn.fetch(_PLANS_BY_KEY, sorted({r.plan_key for r in batch})):
                self.plans[p["source_key"]] = dict(p)
                locked[p["id"]] = p["state"]
            existing = {
                c["source_key"]: dict(c)
                for c in await conn.fetch(_COMMITMENTS_BY_KEY, [r.key for r in batch])
            }
            uow = UnitOfWork(conn, SERVICE)
            for row in batch:
                current = existing.get(row.key)
                if self._unchanged(row, current):
                    scope.unchanged += 1
                elif not replay:
                    try:
                        scope.count(await self._write(uow, row, current, locked, (scope,)))
                    except _ROW_ERRORS:
                        raise _Replay from None  # leaving the block rolls the batch back
                else:
                    await self._replay_row(conn, row, current, locked, scope)
            if scope.irm:
                await conn.execute(
                    "UPDATE commitments c SET irm = $1::jsonb -> c.id::text WHERE c.id = ANY($2::uuid[])",
                    scope.irm,
                    [UUID(k) for k in scope.irm],
                )
            await uow.flush()
        return scope

    async def _replay_row(
        self, conn: Any, row: CommitmentRow, current: Row | None, locked: dict[UUID, str], batch: _Scope
    ) -> None:
        mine = _Scope()
        locked_before = set(locked)
        try:
            async with conn.transaction():  # a SAVEPOINT inside the batch's transaction
                uow = UnitOfWork(conn, SERVICE)
                mine.count(await self._write(uow, row, current, locked, (batch, mine)))
                await uow.flush()
        except _ROW_ERRORS as exc:
            for plan_id in set(locked) - locked_before:
                del locked[plan_id]  # rolling back to the savepoint released that lock
            batch.errors.append((row, _errors_of(exc)))
            return
        batch.merge(mine)

    def _unchanged(self, row: CommitmentRow, current: Row | None) -> bool:
        """Nothing to write (and nothing wrong): decided in memory, no round trip."""
        if current is None:
            return False
        plan, member = self.plans.get(row.plan_key), self.members.get(row.country)
        return (
            plan is not None
            and member is not None
            and current["plan_id"] == plan["id"]
            and plan["start_date"].year == row.year
            and (row.kind is None or row.kind.value == member["kind"])
            and not diff(current, desired_values(row, current))
        )

    async def _write(
        self,
        uow: UnitOfWork,
        row: CommitmentRow,
        current: Row | None,
        locked: dict[UUID, str],
        scopes: tuple[_Scope, ...],
    ) -> str:
        """The row's writes; ``scopes[-1]`` receives what it creates, all are searched."""
        member = await self._member(uow, row, scopes)
        plan = await self._plan(uow, row, member, scopes, locked)
        if plan["id"] not in locked:  # not seen at the start of the batch (should not happen)
            locked[plan["id"]] = await uow.conn.fetchval(
                "SELECT state FROM plans WHERE id = $1 FOR UPDATE", plan["id"]
            )
        now = datetime.now(UTC)
        if current is None:
            return await self._create(uow, row, plan, locked[plan["id"]], now, scopes[-1])
        if current["plan_id"] != plan["id"]:
            message = f"commitment {row.key} belongs to another action plan; moving it is not supported"
            raise RowFailure([_err(C_PLAN, message)])
        return await self._update(uow, row, current, now)

    def _find(self, kind: str, key: str, scopes: tuple[_Scope, ...]) -> Row | None:
        for cache in (getattr(self, kind), *(getattr(s, kind) for s in scopes)):
            if key in cache:
                found: Row = cache[key]
                return found
        return None

    async def _member(self, uow: UnitOfWork, row: CommitmentRow, scopes: tuple[_Scope, ...]) -> Row:
        member = self._find("members", row.country, scopes)
        if member is None:
            # A member created by hand before its first import is adopted rather than doubled.
            same_name = await uow.conn.fetch(
                """SELECT id, name, kind, country_code, region FROM members
                   WHERE source_key IS NULL AND lower(name) = lower($1) LIMIT 2""",
                row.country,
            )
            adopted = None
            if len(same_name) == 1 and row.kind in (None, MemberKind(same_name[0]["kind"])):
                adopted = await uow.conn.fetchval(  # unless another spelling took it meanwhile
                    "UPDATE members SET source_key = $2 WHERE id = $1 AND source_key IS NULL RETURNING id",
                    same_name[0]["id"],
                    row.country,
                )
            if adopted is not None:
                member = dict(same_name[0])
            else:
                member = {
                    "id": uuid4(),
                    "name": row.country,
                    "kind": (row.kind or MemberKind.NATIONAL).value,
                    "country_code": row.country_code,
                    "created_at": datetime.now(UTC),
                    "region": row.region,
                    "source_key": row.country,
                }
                await handlers.create_member_in(uow, member)
                scopes[-1].members_created += 1
            scopes[-1].members[row.country] = member
        if row.kind is not None and row.kind.value != member["kind"]:
            message = f"{row.country} is a {member['kind']} member, not {row.kind.value}"
            raise RowFailure([_err(C_KIND, message)])
        return member

    async def _plan(
        self,
        uow: UnitOfWork,
        row: CommitmentRow,
        member: Row,
        scopes: tuple[_Scope, ...],
        locked: dict[UUID, str],
    ) -> Row:
        plan = self._find("plans", row.plan_key, scopes)
        if plan is None:  # the batch's existing plans were all loaded: this one is new
            plan = await self._create_plan(uow, row, member)
            scopes[-1].plans[row.plan_key] = plan
            scopes[-1].plans_created += 1
            locked[plan["id"]] = plan["state"]
        if plan["member_id"] != member["id"]:
            raise RowFailure([_err(C_COUNTRY, f"action plan {row.plan_key} belongs to another member")])
        if plan["start_date"].year != row.year:
            said = (
                f"action plan {row.plan_number} of {row.country} was submitted in {plan['start_date'].year}"
            )
            raise RowFailure([_err(C_YEAR, f"{said}, not {row.year}")])
        return plan

    async def _create_plan(self, uow: UnitOfWork, row: CommitmentRow, member: Row) -> Row:
        """A 2-year plan from 1 January of the year of submission to 31 December of the next
        year (OGP's spreadsheet gives no dates); a placeholder point of contact."""
        start, end = date(row.year, 1, 1), date(row.year + 1, 12, 31)
        try:
            length = domain.plan_length_years(MemberKind(member["kind"]), start, end)
        except domain.RuleViolation as rv:
            raise RowFailure([_err(C_YEAR, rv.message, rv.rule)]) from None
        created = await handlers.create_plan_in(
            uow,
            member,
            title=f"{row.country} action plan {row.plan_number} ({row.year}-{row.year + 1})",
            start_date=start,
            end_date=end,
            length=length,
            contact=dict(IMPORT_CONTACT),
            strands=None,
            now=datetime.now(UTC),
            source_key=row.plan_key,
        )
        # The spreadsheet's number is the truth; the service counts the member's plans instead,
        # which is wrong when plans are imported out of order. PlanCreated does not carry it.
        await uow.conn.execute(
            "UPDATE plans SET action_plan_number = $2 WHERE id = $1", created["id"], row.plan_number
        )
        return {k: created[k] for k in ("id", "member_id", "state", "start_date")}

    async def _create(
        self, uow: UnitOfWork, row: CommitmentRow, plan: Row, state: str, now: datetime, scope: _Scope
    ) -> str:
        if not domain.editable_commitments(PlanState(state)):
            message = f"a new commitment cannot be added to a plan in state {state}"
            raise RowFailure([_err(C_ID, message, "plan.commitments_frozen")])
        values = desired_values(row, None)
        irm = values.pop("irm", None)
        _check_rules(values, None)
        stored = await commitments.add_commitment_in(
            uow,
            {"id": plan["id"], "member_id": plan["member_id"]},
            {**values, "source_key": row.key},
            self.by,
            now,
        )
        if irm:  # not part of the commitment template: set for the whole batch in one statement
            scope.irm[str(stored["id"])] = irm
        return "created"

    async def _update(self, uow: UnitOfWork, row: CommitmentRow, current: Row, now: datetime) -> str:
        """Like :func:`commitments.update_commitment`, without its plan-state rule: the import
        corrects data, whatever the plan's state. ``current`` was read under the batch's lock."""
        values = desired_values(row, current)
        if not diff(current, values):
            return "unchanged"
        _check_rules(values, current)
        revised = await correct_commitment(
            handlers.plans_uow(uow), CorrectCommitment(current["id"], values, by=self.by, action="imported")
        )
        return "unchanged" if revised is None else "updated"


async def import_commitments(
    pool: asyncpg.Pool, data: bytes, *, by: str, batch_size: int = BATCH_SIZE, workers: int = WORKERS
) -> ImportReport:
    """Import OGP's commitments spreadsheet (CSV bytes). Raises a 422 :class:`Problem` only for
    a file that cannot be read at all (empty, not text, header with unknown or missing columns);
    everything else is a row error in the report."""
    columns, records = read_csv(data, COMMITMENTS_CSV)
    present = set(columns)
    report = ImportReport("commitment_id")
    rows: list[CommitmentRow] = []
    seen: dict[str, int] = {}
    for rec in records:
        report.rows += 1
        key = rec.cells.get(C_ID) or None
        if rec.errors:
            report.fail(rec.line, key, rec.errors)
            if key:
                seen.setdefault(key, rec.line)
            continue
        if key and key in seen:
            report.fail(rec.line, key, [_err(C_ID, f"the same identifier is on row {seen[key]}")])
            continue
        if key:
            seen[key] = rec.line
        try:
            rows.append(parse_commitment(rec.line, rec.cells, present))
        except RowFailure as f:
            report.fail(rec.line, key, f.errors)
    await _CommitmentImport(by, report).run(pool, rows, batch_size, workers)
    return report


# --- bulk milestone progress -------------------------------------------------------------------

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
    errors: list[FieldError] = []
    mid: UUID | None = None
    key = cells.get(M_KEY) or None
    number: int | None = None
    if cells.get(M_ID):
        try:
            mid = UUID(cells[M_ID])
        except ValueError:
            errors.append(_err(M_ID, f"{cells[M_ID]!r} is not a UUID"))
    elif key:
        if not cells.get(M_NUMBER):
            errors.append(_err(M_NUMBER, f"required with {M_KEY}"))
        else:
            try:
                number = _int(M_NUMBER, cells[M_NUMBER], 1, 10_000)
            except RowFailure as f:
                errors += f.errors
    else:
        errors.append(_err(M_ID, f"give {M_ID}, or {M_KEY} and {M_NUMBER}"))
    status = MilestoneStatus.NOT_STARTED
    try:
        status = MilestoneStatus(_slug(_label(cells.get(M_STATUS, ""))))
    except ValueError:
        allowed = ", ".join(s.value for s in MilestoneStatus)
        errors.append(_err(M_STATUS, f"{cells.get(M_STATUS, '')!r} is not one of: {allowed}"))
    progress: int | None = None
    if cells.get(M_PROGRESS):
        try:
            progress = _int(M_PROGRESS, cells[M_PROGRESS].removesuffix("%"), 0, 100)
        except RowFailure as f:
            errors += f.errors
    note = cells.get(M_NOTE) or None
    if note is not None and len(note) > 5000:
        errors.append(_err(M_NOTE, "longer than 5000 characters"))
    evidence: list[EvidenceLink] = []
    for url in (u.strip() for u in re.split(r"[;\s]+", cells.get(M_EVIDENCE, ""))):
        if not url:
            continue
        if _http_url(url):
            evidence.append(EvidenceLink(url=url))
        else:
            errors.append(_err(M_EVIDENCE, f"{url!r} is not an http(s) URL"))
    if len(evidence) > 50:
        errors.append(_err(M_EVIDENCE, "at most 50 links"))
    end: date | None = None
    if cells.get(M_END):
        try:
            end = date.fromisoformat(cells[M_END])
        except ValueError:
            errors.append(_err(M_END, f"{cells[M_END]!r} is not a date (YYYY-MM-DD)"))
    if errors:
        raise RowFailure(errors)
    label = str(mid) if mid else f"{key}#{number}"
    return ProgressRow(line, label, mid, key, number, status, progress, note, evidence, end)


_MILESTONE_BY_KEY = f"""SELECT {store.MILESTONE_COLUMNS} FROM milestones m
    JOIN commitments c ON c.id = m.commitment_id WHERE c.source_key = $1 AND m.number = $2"""  # noqa: S608


async def _progress_one(uow: UnitOfWork, row: ProgressRow, by: str) -> None:
    if row.milestone_id is not None:
        found = await store.get_milestone(uow.conn, row.milestone_id)
    else:
        r = await uow.conn.fetchrow(_MILESTONE_BY_KEY, row.commitment_key, row.number)
        found = dict(r) if r else None
    if found is None:
        column = M_ID if row.milestone_id else M_KEY
        raise RowFailure([_err(column, f"no milestone {row.label}")])
    plan = await store.get_plan(uow.conn, found["plan_id"], for_update=True)
    assert plan is not None
    m = await store.get_milestone(uow.conn, found["id"])  # re-read under the plan's lock
    assert m is not None
    await commitments.report_progress_in(
        uow,
        plan,
        m,
        by,
        datetime.now(UTC),
        status=row.status,
        progress=m["progress"] if row.progress is None else row.progress,
        note=row.note,
        evidence=row.evidence,
        end_date=row.end_date,
    )


async def import_progress(
    pool: asyncpg.Pool, data: bytes, *, by: str, batch_size: int = BATCH_SIZE
) -> ImportReport:
    """Bulk progress reports, each with :func:`commitments.report_progress_in`'s rules and events.
    A report is a dated fact, so importing the same file twice records it twice."""
    columns, records = read_csv(data, PROGRESS_CSV)
    if M_ID not in columns and not (M_KEY in columns and M_NUMBER in columns):
        raise Problem(
            422,
            "Unprocessable Content",
            f"invalid header: a {M_ID} column, or {M_KEY} and {M_NUMBER} columns, are required",
            errors=[_err(M_ID, "required column missing")],
        )
    report = ImportReport("milestone_id")
    rows: list[ProgressRow] = []
    for rec in records:
        report.rows += 1
        label = rec.cells.get(M_ID) or (
            f"{rec.cells[M_KEY]}#{rec.cells.get(M_NUMBER, '')}" if rec.cells.get(M_KEY) else None
        )
        if rec.errors:
            report.fail(rec.line, label, rec.errors)
            continue
        try:
            rows.append(parse_progress(rec.line, rec.cells))
        except RowFailure as f:
            report.fail(rec.line, label, f.errors)
    async with pool.acquire() as conn:
        for start in range(0, len(rows), batch_size):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", IMPORT_LOCK)
                for row in rows[start : start + batch_size]:
                    try:
                        async with conn.transaction():
                            uow = UnitOfWork(conn, SERVICE)
                            await _progress_one(uow, row, by)
                            await uow.flush()
                    except RowFailure as f:
                        report.fail(row.line, row.label, f.errors)
                    except (Problem, DomainError) as p:
                        errors = _problem_errors(p if isinstance(p, Problem) else problem_for(p))
                        if errors[0]["field"] == "row" and errors[0].get("rule", "").startswith("plan."):
                            errors[0]["field"] = M_STATUS
                        report.fail(row.line, row.label, errors)
                    except asyncpg.PostgresError as exc:
                        report.fail(row.line, row.label, [_err("row", f"refused by the database: {exc}")])
                    else:
                        report.updated += 1
    return report


# --- command line ------------------------------------------------------------------------------

KINDS = {"commitments": import_commitments, "milestone-progress": import_progress}


async def run_cli(argv: Sequence[str] | None = None) -> int:
    """``python -m services.plans.imports FILE``: the same import, straight into the database
    (no HTTP body limit), inside the same outbox transactions: the running service's relay
    publishes the events. Prints the report as JSON. Exit status: 0 all rows imported, 1 some
    rows failed, 2 the file or the database could not be used."""
    from services.plans.settings import PlansSettings

    parser = argparse.ArgumentParser(prog="python -m services.plans.imports", description=run_cli.__doc__)
    parser.add_argument("file", type=Path, help="CSV file (UTF-8, a BOM is accepted)")
    parser.add_argument("--kind", choices=sorted(KINDS), default="commitments")
    parser.add_argument("--dsn", help="the plans database (default: PLANS_DATABASE_URL or its default)")
    parser.add_argument("--by", default="import-cli", help="who imports, as kept in the history")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args(argv)
    dsn = args.dsn or PlansSettings().database_url
    data = args.file.read_bytes()
    pool = await create_pool(dsn, min_size=1, max_size=WORKERS + 1)
    try:
        folders = (("shared", SHARED_MIGRATIONS), ("plans", Path(__file__).parent / "migrations"))
        missing = await pending_migrations(pool, load_migrations(*folders))
        if missing:
            print(
                f"the database is not migrated ({', '.join(missing)}): start the plans service once",
                file=sys.stderr,
            )
            return 2
        try:
            report = await KINDS[args.kind](pool, data, by=args.by, batch_size=args.batch_size)
        except Problem as p:
            print(
                json.dumps({"status": p.status, "detail": p.detail, "errors": p.errors}, indent=2),
                file=sys.stderr,
            )
            return 2
    finally:
        await pool.close()
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run_cli()))
