"""Reviews as the public API shows them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = "id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at"


async def reviews(
    pool: asyncpg.Pool, plan_id: UUID | None, member_id: UUID | None, limit: int
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM reviews
            WHERE ($1::uuid IS NULL OR plan_id = $1) AND ($2::uuid IS NULL OR member_id = $2)
            ORDER BY due_date, id LIMIT $3""",  # noqa: S608  (constant column list, values bound)
        plan_id,
        member_id,
        limit,
    )
    return [dict(r) for r in rows]


async def review(pool: asyncpg.Pool, review_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM reviews WHERE id = $1", review_id)  # noqa: S608
    return dict(row) if row else None
