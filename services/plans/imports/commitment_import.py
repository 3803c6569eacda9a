"""Applying the commitments spreadsheet: each checked row creates its member, action plan and
commitment, or corrects the commitment, through the plans use cases, in batches (see the
package's docstring for why). An existing commitment is corrected whatever the state of its
plan (:func:`~services.plans.use_cases.commitments.correct_commitment`); a new one is added only
to a plan whose commitments are open, and the use case's refusal is the row's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from services.plans.domain.commitments import diff
from services.plans.imports.commitments_sheet import (
    C_COUNTRY,
    C_ID,
    C_KIND,
    C_PLAN,
    C_YEAR,
    FIELD_COLUMNS,
    CommitmentRow,
    desired_values,
    parse_commitment,
    plan_dates,
)
from services.plans.imports.csv_table import CsvSource
from services.plans.imports.ogp_header import read_sheet
from services.plans.imports.ogp_layout import M
from services.plans.imports.report import (
    BATCH_SIZE,
    ROW_ERRORS,
    SERVICE,
    FieldError,
    ImportReport,
    Progress,
    RowFailure,
    err,
    errors_of,
    progress_counter,
)
from services.plans.store import PgPlansUnitOfWork, holding_import_lock
from services.plans.use_cases import commitments, members, plans
from services.plans.use_cases._common import staff
from shared.db import Row
from shared.errors import RuleViolation
from shared.events.plans import MemberKind
from shared.uow import unit_of_work

#: Connections an import writes with at once. Rows are dealt to them by member, so two never
#: touch the same member, plan or commitment (no lock waits, each aggregate's events in order).
WORKERS = 4

#: The contact an imported plan gets: OGP's spreadsheet names none, and a plan needs one.
IMPORT_CONTACT = plans.ContactDetails(name="OGP import", email=None, phone=None, language="en")


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
    """One import run. Rows go in batches, each one unit of work (one transaction):

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
        self,
        pool: asyncpg.Pool,
        rows: Sequence[CommitmentRow],
        batch_size: int,
        workers: int,
        done: Callable[[int], None] = lambda _rows: None,
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
        async with holding_import_lock(pool):
            try:
                async with asyncio.TaskGroup() as tg:
                    for lane in lanes:
                        if lane:
                            tg.create_task(self._lane(pool, lane, batch_size, done))
            except BaseExceptionGroup as group:
                raise group.exceptions[0] from None  # an unexpected failure: the first is enough

    async def _lane(
        self,
        pool: asyncpg.Pool,
        rows: Sequence[CommitmentRow],
        batch_size: int,
        done: Callable[[int], None],
    ) -> None:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            try:
                scope = await self._batch(pool, batch, replay=False)
            except _Replay:
                scope = await self._batch(pool, batch, replay=True)
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
            done(len(batch))

    async def _batch(self, pool: asyncpg.Pool, batch: Sequence[CommitmentRow], *, replay: bool) -> _Scope:
        scope = _Scope()
        async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
            lookups = uow.imports
            for m in await lookups.members_by_key(sorted({r.country for r in batch})):
                self.members[m["source_key"]] = m
            locked: dict[UUID, str] = {}  # plans this transaction holds → their state
            for p in await lookups.lock_plans_by_key(sorted({r.plan_key for r in batch})):
                self.plans[p["source_key"]] = p
                locked[p["id"]] = p["state"]
            existing = {
                c["source_key"]: c for c in await lookups.lock_commitments_by_key([r.key for r in batch])
            }
            for row in batch:
                current = existing.get(row.key)
                if self._unchanged(row, current):
                    scope.unchanged += 1
                elif not replay:
                    try:
                        scope.count(await self._write(uow, row, current, locked, (scope,)))
                    except ROW_ERRORS:
                        raise _Replay from None  # leaving the unit of work rolls the batch back
                else:
                    await self._replay_row(uow, row, current, locked, scope)
            if scope.irm:
                await lookups.set_irm(scope.irm)
        return scope

    async def _replay_row(
        self,
        uow: PgPlansUnitOfWork,
        row: CommitmentRow,
        current: Row | None,
        locked: dict[UUID, str],
        batch: _Scope,
    ) -> None:
        mine = _Scope()
        locked_before = set(locked)
        try:
            async with uow.savepoint():  # its events are dropped with it when it fails
                mine.count(await self._write(uow, row, current, locked, (batch, mine)))
        except ROW_ERRORS as exc:
            for plan_id in set(locked) - locked_before:
                del locked[plan_id]  # rolling back to the savepoint released that lock
            batch.errors.append((row, errors_of(exc, FIELD_COLUMNS)))
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
        uow: PgPlansUnitOfWork,
        row: CommitmentRow,
        current: Row | None,
        locked: dict[UUID, str],
        scopes: tuple[_Scope, ...],
    ) -> str:
        """The row's writes; ``scopes[-1]`` receives what it creates, all are searched."""
        member = await self._member(uow, row, scopes)
        plan = await self._plan(uow, row, member, scopes, locked)
        if plan["id"] not in locked:  # not seen at the start of the batch (should not happen)
            locked[plan["id"]] = await uow.imports.lock_plan_state(plan["id"])
        if current is None:
            return await self._create(uow, row, plan, locked[plan["id"]], scopes[-1])
        if current["plan_id"] != plan["id"]:
            message = f"commitment {row.key} belongs to another action plan; moving it is not supported"
            raise RowFailure([err(C_PLAN, message)])
        return await self._update(uow, row, current)

    def _find(self, kind: str, key: str, scopes: tuple[_Scope, ...]) -> Row | None:
        for cache in (getattr(self, kind), *(getattr(s, kind) for s in scopes)):
            if key in cache:
                found: Row = cache[key]
                return found
        return None

    async def _member(self, uow: PgPlansUnitOfWork, row: CommitmentRow, scopes: tuple[_Scope, ...]) -> Row:
        member = self._find("members", row.country, scopes)
        if member is None:
            # A member created by hand before its first import is adopted rather than doubled.
            same_name = await uow.imports.unkeyed_members_named(row.country)
            adopted = False
            if len(same_name) == 1 and row.kind in (None, MemberKind(same_name[0]["kind"])):
                # unless another spelling took it meanwhile
                adopted = await uow.imports.adopt_member(same_name[0]["id"], row.country)
            if adopted:
                member = same_name[0]
            else:
                created = await members.create_member(
                    uow,
                    members.CreateMember(
                        row.country, row.kind or MemberKind.NATIONAL, row.country_code, row.region,
                        source_key=row.country,
                    ),
                )  # fmt: skip
                member = {
                    "id": created.id,
                    "name": created.name,
                    "kind": created.kind.value,
                    "country_code": created.country_code,
                    "region": created.region,
                }
                scopes[-1].members_created += 1
            scopes[-1].members[row.country] = member
        if row.kind is not None and row.kind.value != member["kind"]:
            message = f"{row.country} is a {member['kind']} member, not {row.kind.value}"
            raise RowFailure([err(C_KIND, message)])
        return member

    async def _plan(
        self,
        uow: PgPlansUnitOfWork,
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
            raise RowFailure([err(C_COUNTRY, f"action plan {row.plan_key} belongs to another member")])
        if plan["start_date"].year != row.year:
            said = (
                f"action plan {row.plan_number} of {row.country} was submitted in {plan['start_date'].year}"
            )
            raise RowFailure([err(C_YEAR, f"{said}, not {row.year}")])
        return plan

    async def _create_plan(self, uow: PgPlansUnitOfWork, row: CommitmentRow, member: Row) -> Row:
        """A plan from 1 January of the year of submission for its years (2 when the file
        does not say; OGP's history has plans of 1 to 4 years, allowed for imported plans only);
        a placeholder point of contact. A length the member's kind does not allow is the year's
        fault."""
        start, end = plan_dates(row)
        try:
            created = await plans.create_plan(
                uow,
                plans.CreatePlan(
                    staff(SERVICE), member["id"],
                    f"{row.country} action plan {row.plan_number} ({start.year}-{end.year})",
                    start, end, IMPORT_CONTACT, None, row.plan_key, historic=True,
                ),
            )  # fmt: skip
        except RuleViolation as rv:
            raise RowFailure([err(C_YEAR, rv.message, rv.rule)]) from None
        # The spreadsheet's number is the truth; the service counts the member's plans instead,
        # which is wrong when plans are imported out of order. PlanCreated does not carry it.
        await uow.imports.set_action_plan_number(created.id, row.plan_number, row.plan_ogp_id)
        return {
            "id": created.id,
            "member_id": created.member_id,
            "state": created.state.value,
            "start_date": created.start_date,
        }

    async def _create(
        self, uow: PgPlansUnitOfWork, row: CommitmentRow, plan: Row, state: str, scope: _Scope
    ) -> str:
        """A new commitment, under the plan's lock (taken with the batch); a plan whose
        commitments are frozen refuses it, which the row reports under its identifier."""
        values = desired_values(row, None)
        irm = values.pop("irm", None)
        source = values.pop("source_data", None)
        try:
            stored = await commitments.add_commitment(
                uow, commitments.AddCommitment(staff(self.by), plan["id"], values, source_key=row.key)
            )
        except RuleViolation as rv:
            if rv.rule != "plan.commitments_frozen":
                raise
            message = f"a new commitment cannot be added to a plan in state {state}"
            raise RowFailure([err(C_ID, message, rv.rule)]) from None
        if irm or source:  # not part of the template: set for the whole batch in one statement
            scope.irm[str(stored.id)] = {"irm": irm or {}, "source_data": source or {}}
        return "created"

    async def _update(self, uow: PgPlansUnitOfWork, row: CommitmentRow, current: Row) -> str:
        """A staff correction: the commitment's columns as the row says, whatever the plan's
        state. ``current`` was read under the batch's lock."""
        values = desired_values(row, current)
        if not diff(current, values):
            return "unchanged"
        revised = await commitments.correct_commitment(
            uow, commitments.CorrectCommitment(current["id"], values, by=self.by, action="imported")
        )
        return "unchanged" if revised is None else "updated"


async def import_commitments(
    pool: asyncpg.Pool,
    source: CsvSource,
    *,
    by: str,
    batch_size: int = BATCH_SIZE,
    workers: int = WORKERS,
    progress: Progress | None = None,
) -> ImportReport:
    """Import OGP's commitments database (CSV bytes or a binary file), as OGP publishes it.
    Raises :class:`shared.errors.Invalid` (422 over HTTP) only for a file that cannot be read at
    all (empty, not CSV, not UTF-8 throughout, no identifier column, a required column missing or
    a column given twice); everything else is a row error in the report. Columns the import does
    not map are kept with each commitment (source data) and listed in the report. ``progress`` is
    told (rows done, rows in the file) after the file is read and after each batch.

    The file is read and its rows checked in a worker thread: for OGP's whole database that is
    seconds of CPU, during which the service goes on answering and consuming."""
    report, rows = await asyncio.to_thread(checked_rows, source)
    done = progress_counter(progress, report.rows - len(rows), report.rows)
    await _CommitmentImport(by, report).run(pool, rows, batch_size, workers, done)
    return report


def checked_rows(source: CsvSource) -> tuple[ImportReport, list[CommitmentRow]]:
    """Every record read and checked (no I/O but the file's): the rows to write, and the report
    with the rows refused so far."""
    sheet, records = read_sheet(source)
    id_column = sheet.columns[M.ID]
    report = ImportReport("commitment_id")
    report.unmapped_columns = list(sheet.source)
    report.dropped_columns = list(sheet.dropped)
    rows: list[CommitmentRow] = []
    seen: dict[str, int] = {}
    for rec in records:
        report.rows += 1
        key = rec.cells.get(id_column) or None
        if rec.errors:
            report.fail(rec.line, key, rec.errors)
            if key:
                seen.setdefault(key, rec.line)
            continue
        if key and key in seen:
            report.fail(rec.line, key, [err(id_column, f"the same identifier is on row {seen[key]}")])
            continue
        if key:
            seen[key] = rec.line
        try:
            row = parse_commitment(rec.line, rec.cells, sheet)
        except RowFailure as f:
            report.fail(rec.line, key, f.errors)
            continue
        rows.append(row)
        report.noted(row.line, row.key, row.warnings, row.stars)
    return report, rows
