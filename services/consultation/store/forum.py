"""Repositories of the forum: forums with their seats, meetings, and the overdue gaps.

Every change locks the forum row first (:meth:`Forums.for_edit`): it orders the forum's events
on Kafka (they are keyed by the member) and lets the overdue job re-check a gap under the same lock
a new meeting takes, so a meeting recorded concurrently is never reported overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from services.consultation.domain.forum import Forum, Gap, Meeting, Seat
from shared.events.consultation import Sector
from shared.uow import UnitOfWork


class Forums(Protocol):
    async def add(self, forum: Forum) -> bool:
        """Store a new forum; False when its member has one already."""
        ...

    async def for_edit(self, forum_id: UUID, *, with_seats: bool = False) -> Forum | None:
        """The forum locked for this transaction; with its seats held now when asked."""
        ...

    async def add_seat(self, seat: Seat) -> None: ...

    async def seat(self, forum_id: UUID, seat_id: UUID) -> Seat | None:
        """A seat of the forum, ended or not, locked for this transaction."""
        ...

    async def save_seat(self, seat: Seat) -> None: ...

    async def add_meeting(self, meeting: Meeting) -> None: ...

    async def overdue(
        self, today: date, months: int, kind: str, limit: int, only: Sequence[UUID] | None = None
    ) -> list[Gap]:
        """Gaps longer than ``months`` on ``today`` whose ``kind`` was not emitted yet, by forum
        id (all forums, or ``only`` those)."""
        ...

    async def lock(self, forum_ids: Sequence[UUID]) -> None:
        """Lock these forums, in id order (two runners cannot deadlock on each other)."""


class Emissions(Protocol):
    async def claim(self, kind: str, occurrences: Sequence[str]) -> set[str]:
        """Claim timer emissions; those claimed now (not by an earlier or a concurrent pass)."""
        ...


_FORUM = """SELECT id, member_id, name, rules_url, rules_summary, established_on, created_at, created_by
            FROM forums WHERE id = $1 FOR UPDATE"""
_SEAT = "id, forum_id, organisation, sector, joined_on, left_on, created_by"

# $1 today, $2 batch size, $3 forums to restrict to (NULL: all), $4 the timer kind, $5 the months.
# ``date + interval`` clamps to the month's end like relativedelta (31 Aug + 6 months = 28 Feb)
# and is a timestamp without time zone: no session time zone moves a boundary.
_OVERDUE = """
WITH gaps AS (
    SELECT f.id AS forum_id, f.member_id, m.last AS last_meeting_on,
           coalesce(m.last, f.established_on) AS since
    FROM forums f
    CROSS JOIN LATERAL (SELECT max(held_on) AS last FROM forum_meetings WHERE forum_id = f.id) m
    WHERE ($3::uuid[] IS NULL OR f.id = ANY($3::uuid[]))
)
SELECT g.forum_id, g.member_id, g.last_meeting_on, g.since,
       (g.since + make_interval(months => $5))::date AS due_on
FROM gaps g
WHERE (g.since + make_interval(months => $5))::date < $1::date
  AND NOT EXISTS (SELECT 1 FROM timer_emissions e
                  WHERE e.kind = $4
                    AND e.occurrence = g.forum_id::text || ':' || to_char(g.since, 'YYYY-MM-DD'))
ORDER BY g.forum_id
LIMIT $2
"""

_CLAIM = """
INSERT INTO timer_emissions (kind, occurrence)
SELECT $1, o FROM unnest($2::text[]) AS t(o)
ON CONFLICT DO NOTHING
RETURNING occurrence
"""


def _seat(row: Any) -> Seat:
    return Seat(
        row["id"], row["forum_id"], row["organisation"], Sector(row["sector"]), row["joined_on"],
        row["left_on"], row["created_by"],
    )  # fmt: skip


class PgForums:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def add(self, forum: Forum) -> bool:
        f = forum
        status = await self._conn.execute(
            """INSERT INTO forums (id, member_id, name, rules_url, rules_summary, established_on,
                                    created_at, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (member_id) DO NOTHING""",
            f.id, f.member_id, f.name, f.rules_url, f.rules_summary, f.established_on, f.created_at,
            f.created_by,
        )  # fmt: skip
        return bool(status == "INSERT 0 1")

    async def for_edit(self, forum_id: UUID, *, with_seats: bool = False) -> Forum | None:
        row = await self._conn.fetchrow(_FORUM, forum_id)
        if row is None:
            return None
        forum = Forum(**dict(row))
        if with_seats:
            seats = await self._conn.fetch(
                f"SELECT {_SEAT} FROM forum_members WHERE forum_id = $1 AND left_on IS NULL",  # noqa: S608 (constant SQL fragments; values are parameters)
                forum_id,
            )
            forum.seats = [_seat(s) for s in seats]
        return forum

    async def add_seat(self, seat: Seat) -> None:
        s = seat
        await self._conn.execute(
            """INSERT INTO forum_members (id, forum_id, organisation, sector, joined_on, created_by)
                VALUES ($1, $2, $3, $4, $5, $6)""",
            s.id, s.forum_id, s.organisation, s.sector.value, s.joined_on, s.created_by,
        )  # fmt: skip

    async def seat(self, forum_id: UUID, seat_id: UUID) -> Seat | None:
        row = await self._conn.fetchrow(
            f"SELECT {_SEAT} FROM forum_members WHERE id = $1 AND forum_id = $2 FOR UPDATE",  # noqa: S608 (constant SQL fragments; values are parameters)
            seat_id,
            forum_id,
        )
        return _seat(row) if row else None

    async def save_seat(self, seat: Seat) -> None:
        await self._conn.execute("UPDATE forum_members SET left_on = $2 WHERE id = $1", seat.id, seat.left_on)

    async def add_meeting(self, meeting: Meeting) -> None:
        m = meeting
        await self._conn.execute(
            """INSERT INTO forum_meetings (id, forum_id, held_on, phase, plan_id, agenda, minutes_url,
                                            attendance, created_at, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            m.id, m.forum_id, m.held_on, m.phase.value, m.plan_id, m.agenda, m.minutes_url,
            {s.value: n for s, n in m.attendance.items()}, m.created_at, m.created_by,
        )  # fmt: skip

    async def overdue(
        self, today: date, months: int, kind: str, limit: int, only: Sequence[UUID] | None = None
    ) -> list[Gap]:
        rows = await self._conn.fetch(
            _OVERDUE, today, limit, list(only) if only is not None else None, kind, months
        )
        return [
            Gap(r["forum_id"], r["member_id"], r["last_meeting_on"], r["since"], r["due_on"]) for r in rows
        ]

    async def lock(self, forum_ids: Sequence[UUID]) -> None:
        await self._conn.execute(
            "SELECT id FROM forums WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", sorted(forum_ids)
        )


class PgEmissions:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def claim(self, kind: str, occurrences: Sequence[str]) -> set[str]:
        rows = await self._conn.fetch(_CLAIM, kind, list(occurrences))
        return {r["occurrence"] for r in rows}
