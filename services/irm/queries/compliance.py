"""Compliance as the public reads it: the compliance each published review fixed (never
recomputed), by review, plan, member and year. Before publication the compliance is computed by
its use case, for staff and the assigned researcher only."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.db import Row

_COLUMNS = (
    "c.review_id, c.plan_id, c.member_id, c.product, c.as_of, c.minimum_met, c.requirements, "
    "c.assessed_at, r.published_on, r.report_url"
)


async def published(pool: asyncpg.Pool, review_id: UUID) -> Row | None:
    row = await pool.fetchrow(
        f"""SELECT {_COLUMNS} FROM compliance_assessments c JOIN reviews r ON r.id = c.review_id
            WHERE c.review_id = $1""",  # noqa: S608  (constant column list)
        review_id,
    )
    return dict(row) if row else None


async def review_state(pool: asyncpg.Pool, review_id: UUID) -> str | None:
    value = await pool.fetchval("SELECT state FROM reviews WHERE id = $1", review_id)
    return str(value) if value is not None else None


async def listing(
    pool: asyncpg.Pool,
    *,
    plan_id: UUID | None,
    member_id: UUID | None,
    year: int | None,
    minimum_met: bool | None,
    limit: int,
) -> list[Row]:
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM compliance_assessments c JOIN reviews r ON r.id = c.review_id
            WHERE ($1::uuid IS NULL OR c.plan_id = $1) AND ($2::uuid IS NULL OR c.member_id = $2)
              AND ($3::int IS NULL OR extract(year FROM c.assessed_at AT TIME ZONE 'UTC') = $3)
              AND ($4::boolean IS NULL OR c.minimum_met = $4)
            ORDER BY c.assessed_at DESC, c.review_id LIMIT $5""",  # noqa: S608  (constant column list)
        plan_id, member_id, year, minimum_met, limit,
    )  # fmt: skip
    return [dict(r) for r in rows]
