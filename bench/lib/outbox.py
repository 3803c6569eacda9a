"""What the benchmarks read from a service's outbox table."""

from __future__ import annotations

from typing import Any

import asyncpg


async def rows_per_relay_pass(db: asyncpg.Pool, where: str, *args: Any) -> float:
    """Mean outbox rows the relay published per pass, over the rows ``where`` selects.

    ``published_at`` is ``clock_timestamp()`` per row of the relay's UPDATE: rows less than 1 ms
    apart were marked by the same pass (passes are at least a Kafka round trip apart)."""
    value = await db.fetchval(
        f"""SELECT count(*)::float8
                   / greatest(count(*) FILTER (WHERE gap IS NULL OR gap > interval '1 ms'), 1)
            FROM (SELECT published_at - lag(published_at) OVER (ORDER BY published_at) AS gap
                  FROM outbox WHERE {where}) AS t""",
        *args,
    )
    return round(float(value or 0.0), 2)


async def outbox_mark(db: asyncpg.Pool) -> int:
    """The last outbox id so far: a scenario's rows are those after it."""
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def published_since(db: asyncpg.Pool, mark: int) -> int:
    """Rows after ``mark`` that the relay has published."""
    return int(
        await db.fetchval("SELECT count(*) FROM outbox WHERE id > $1 AND published_at IS NOT NULL", mark)
    )
