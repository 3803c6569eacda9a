"""Repositories of responses, published response tables and participation reports."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from services.consultation.domain.responses import Response, ResponseTable
from services.consultation.queries import reports as report_queries
from services.consultation.queries import responses as response_queries
from shared.events.consultation import ParticipationReported
from shared.uow import UnitOfWork


class Responses(Protocol):
    async def add(self, response: Response) -> set[UUID]:
        """Store the response and claim its inputs; the inputs another response answered already
        (then the caller refuses the whole response, and its transaction rolls back)."""
        ...


class ResponseTables(Protocol):
    async def live_rows(self, round_id: UUID) -> list[dict[str, Any]]:
        """The round's table as the public sees it now."""
        ...

    async def add(self, table: ResponseTable) -> None: ...


class Reports(Protocol):
    async def figures(
        self, *, min_cell: int, plan_id: UUID | None = None, round_id: UUID | None = None
    ) -> dict[str, Any]:
        """A round's or a plan cycle's participation figures as they are in this transaction."""
        ...

    async def add(self, report: ParticipationReported) -> None: ...


class PgResponses:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def add(self, response: Response) -> set[UUID]:
        r = response
        await self._conn.execute(
            """INSERT INTO responses (id, round_id, plan_id, decision, rationale,
                                      merged_into_commitment_id, published_at, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            r.id, r.round_id, r.plan_id, r.decision.value, r.rationale, r.merged_into_commitment_id,
            r.published_at, r.created_by,
        )  # fmt: skip
        taken = await self._conn.fetch(
            """INSERT INTO response_inputs (input_id, response_id)
               SELECT unnest($1::uuid[]), $2 ON CONFLICT (input_id) DO NOTHING RETURNING input_id""",
            r.input_ids,
            r.id,
        )
        return set(r.input_ids) - {t["input_id"] for t in taken}


class PgResponseTables:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def live_rows(self, round_id: UUID) -> list[dict[str, Any]]:
        return await response_queries.table_rows(self._conn, round_id)

    async def add(self, table: ResponseTable) -> None:
        t = table
        await self._conn.execute(
            """INSERT INTO response_tables
                   (id, round_id, inputs, answered, published_at, created_by, title, rows)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            t.id, t.round_id, t.inputs, t.answered, t.published_at, t.created_by, t.title, t.rows,
        )  # fmt: skip


class PgReports:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def figures(
        self, *, min_cell: int, plan_id: UUID | None = None, round_id: UUID | None = None
    ) -> dict[str, Any]:
        return await report_queries.participation(
            self._conn, min_cell=min_cell, plan_id=plan_id, round_id=round_id
        )

    async def add(self, report: ParticipationReported) -> None:
        await self._conn.execute(
            """INSERT INTO participation_reports (id, scope, plan_id, round_id, report, reported_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            report.report_id,
            report.scope,
            report.plan_id,
            report.round_id,
            report.model_dump(mode="json"),
            report.reported_at,
        )
