"""Co-creation spaces, rounds and offline events as the public reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.consultation.queries import Conn
from services.consultation.store.rounds import ROUND_COLUMNS
from shared.db import Row
from shared.errors import NotFound


async def co_creation(conn: Conn, plan_id: UUID) -> Row:
    """The plan's co-creation space with its commitments' spaces."""
    space = await conn.fetchrow(
        """SELECT plan_id, member_id, title, state, opened_at, closed_at
           FROM co_creation_spaces WHERE plan_id = $1""",
        plan_id,
    )
    if space is None:
        raise NotFound(f"co-creation space of plan {plan_id}")
    commitments = await conn.fetch(
        """SELECT commitment_id, number, title, opened_at FROM commitment_spaces
           WHERE plan_id = $1 ORDER BY number""",
        plan_id,
    )
    return dict(space) | {"commitments": [dict(c) for c in commitments]}


async def rounds_of_plan(conn: Conn, plan_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {ROUND_COLUMNS} FROM rounds WHERE plan_id = $1 ORDER BY opens_at, id",  # noqa: S608 (constant SQL fragments; values are parameters)
        plan_id,
    )
    if not rows and not await conn.fetchval(
        "SELECT true FROM co_creation_spaces WHERE plan_id = $1", plan_id
    ):
        raise NotFound(f"plan {plan_id}")
    return [dict(r) for r in rows]


async def round_(conn: Conn, round_id: UUID) -> Row:
    row = await conn.fetchrow(f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1", round_id)  # noqa: S608 (constant SQL fragments; values are parameters)
    if row is None:
        raise NotFound(f"round {round_id}")
    return dict(row)


async def offline_events(conn: Conn, round_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        """SELECT id, format, held_on, participants, by_sector, report_url FROM offline_events
           WHERE round_id = $1 ORDER BY held_on, id""",
        round_id,
    )
    return [dict(r) for r in rows]


async def seconds_until_next_due(conn: Conn, closing_soon: timedelta) -> float | None:
    """Until the next round is due to open, to close or to be announced as closing within
    ``closing_soon``; None when none is."""
    due: datetime | None = await conn.fetchval(
        """SELECT least((SELECT min(opens_at) FROM rounds WHERE state = 'scheduled'),
                        (SELECT min(closes_at) FROM rounds WHERE state = 'open'),
                        (SELECT min(closes_at) - $1::interval FROM rounds
                         WHERE state = 'open' AND closing_soon_at IS NULL))""",
        closing_soon,
    )
    if due is None:
        return None
    return max(0.0, (due - datetime.now(UTC)).total_seconds())
