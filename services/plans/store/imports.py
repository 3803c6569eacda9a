"""The spreadsheet imports' statements on Postgres (:class:`~.protocols.ImportLookups`), and the
lock a commitments import holds for its whole run on a connection of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from services.plans.store.columns import COMMITMENT_COLUMNS
from shared.db import Row
from shared.locks import PLANS_IMPORT

if TYPE_CHECKING:
    from services.plans.store.postgres import Conn

_COMMITMENTS_BY_KEY = f"""SELECT {COMMITMENT_COLUMNS} FROM commitments c
    WHERE c.source_key = ANY($1::text[]) ORDER BY c.id FOR UPDATE"""  # noqa: S608  (constant columns)
_PLANS_BY_KEY = """SELECT id, member_id, state, start_date, source_key FROM plans
    WHERE source_key = ANY($1::text[]) ORDER BY id FOR UPDATE"""
_MEMBERS_BY_KEY = """SELECT id, name, kind, country_code, region, source_key FROM members
    WHERE source_key = ANY($1::text[])"""

#: The milestones named either way, in one round trip.
_MILESTONES = """SELECT m.id, NULL::text AS key, NULL::integer AS number
        FROM milestones m WHERE m.id = ANY($1::uuid[])
    UNION ALL
    SELECT m.id, c.source_key, m.number
        FROM unnest($2::text[], $3::integer[]) AS k(key, number)
        JOIN commitments c ON c.source_key = k.key
        JOIN milestones m ON m.commitment_id = c.id AND m.number = k.number"""


@asynccontextmanager
async def holding_import_lock(pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Hold the imports' lock (waiting for any other import) on a connection of its own, for as
    long as the block runs, whatever transactions the block commits meanwhile."""
    async with pool.acquire() as guard:
        await guard.execute("SELECT pg_advisory_lock($1)", PLANS_IMPORT)
        try:
            yield
        finally:
            await guard.execute("SELECT pg_advisory_unlock($1)", PLANS_IMPORT)


class PgImportLookups:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def lock(self) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", PLANS_IMPORT)

    async def members_by_key(self, keys: Sequence[str]) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(_MEMBERS_BY_KEY, keys)]

    async def lock_plans_by_key(self, keys: Sequence[str]) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(_PLANS_BY_KEY, keys)]

    async def lock_commitments_by_key(self, keys: Sequence[str]) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(_COMMITMENTS_BY_KEY, keys)]

    async def lock_plan_state(self, plan_id: UUID) -> str:
        state: str = await self._conn.fetchval("SELECT state FROM plans WHERE id = $1 FOR UPDATE", plan_id)
        return state

    async def unkeyed_members_named(self, name: str) -> list[Row]:
        rows = await self._conn.fetch(
            """SELECT id, name, kind, country_code, region FROM members
                   WHERE source_key IS NULL AND lower(name) = lower($1) LIMIT 2""",
            name,
        )
        return [dict(r) for r in rows]

    async def adopt_member(self, member_id: UUID, source_key: str) -> bool:
        adopted = await self._conn.fetchval(
            "UPDATE members SET source_key = $2 WHERE id = $1 AND source_key IS NULL RETURNING id",
            member_id,
            source_key,
        )
        return adopted is not None

    async def set_action_plan_number(self, plan_id: UUID, number: int, ogp_id: str | None = None) -> None:
        await self._conn.execute(
            "UPDATE plans SET action_plan_number = $2, ogp_id = $3 WHERE id = $1", plan_id, number, ogp_id
        )

    async def set_irm(self, blocks: Mapping[str, Any]) -> None:
        """New commitments' ``irm`` and ``source_data`` columns (id → {irm, source_data}), in one
        statement for a batch."""
        await self._conn.execute(
            """UPDATE commitments c SET irm = $1::jsonb -> c.id::text -> 'irm',
                   source_data = $1::jsonb -> c.id::text -> 'source_data'
               WHERE c.id = ANY($2::uuid[])""",
            blocks,
            [UUID(k) for k in blocks],
        )

    async def milestones_named(self, ids: Sequence[UUID], keys: Sequence[tuple[str, int]]) -> list[Row]:
        rows = await self._conn.fetch(_MILESTONES, ids, [k for k, _ in keys], [n for _, n in keys])
        return [dict(r) for r in rows]
