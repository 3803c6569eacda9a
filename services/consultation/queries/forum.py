"""The forum's public view: who sits on it (organisations by sector), how often it met, when it
must meet next and whether it meets standard 1 today. Nothing here names a person."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.consultation.domain.forum import (
    IMPLEMENTATION_MEETINGS_REQUIRED,
    compliance,
    forum_meeting_due,
    forum_overdue,
)
from services.consultation.queries import Conn
from shared.db import Row
from shared.errors import NotFound
from shared.events.consultation import Sector

_FORUM = """SELECT id, member_id, name, rules_url, rules_summary, established_on, created_at
            FROM forums WHERE """


async def forum_view(
    conn: Conn, today: date, *, forum_id: UUID | None = None, member_id: UUID | None = None
) -> Row:
    """A forum by its id or its member's, as the public sees it on ``today``."""
    if forum_id is not None:
        row = await conn.fetchrow(_FORUM + "id = $1", forum_id)
        if row is None:
            raise NotFound(f"forum {forum_id}")
    else:
        row = await conn.fetchrow(_FORUM + "member_id = $1", member_id)
        if row is None:
            raise NotFound(f"forum of member {member_id}")
    forum = dict(row)
    # A seat left "today" is no longer held; one left on a date still ahead (a local date east
    # of UTC) still is.
    seats = await conn.fetch(
        """SELECT id, organisation, sector, joined_on FROM forum_members
           WHERE forum_id = $1 AND (left_on IS NULL OR left_on > $2)
           ORDER BY sector, organisation""",
        forum["id"],
        today,
    )
    meetings = await conn.fetchrow(
        "SELECT count(*) AS n, max(held_on) AS last FROM forum_meetings WHERE forum_id = $1", forum["id"]
    )
    assert meetings is not None
    by_sector = {s: 0 for s in Sector}
    for seat in seats:
        by_sector[Sector(seat["sector"])] += 1
    last: date | None = meetings["last"]
    established: date = forum["established_on"]
    facts = compliance(by_sector, forum["rules_url"], last, established, today)
    return {
        **forum,
        "seats": [dict(s) for s in seats],
        "seats_by_sector": {s.value: n for s, n in by_sector.items()},
        "meetings": meetings["n"],
        "last_meeting_on": last,
        "next_meeting_due": forum_meeting_due(last, established),
        "overdue": forum_overdue(last, established, today),
        "compliance": {
            "has_government": facts.has_government,
            "has_civil_society": facts.has_civil_society,
            "rules_public": facts.rules_public,
            "meets_every_six_months": facts.meets_every_six_months,
        },
    }


async def list_meetings(
    conn: Conn, forum_id: UUID, plan_id: UUID | None = None, *, limit: int = 100, offset: int = 0
) -> Row:
    """A forum's meetings, newest first, optionally those about one plan; with the counts that
    standard 5 is judged on (the counts cover every meeting, not only the page)."""
    if not await conn.fetchval("SELECT true FROM forums WHERE id = $1", forum_id):
        raise NotFound(f"forum {forum_id}")
    rows = await conn.fetch(
        """SELECT id, forum_id, held_on, phase, plan_id, agenda, minutes_url, attendance, created_at
           FROM forum_meetings
           WHERE forum_id = $1 AND ($2::uuid IS NULL OR plan_id = $2)
           ORDER BY held_on DESC, created_at DESC, id
           LIMIT $3 OFFSET $4""",
        forum_id,
        plan_id,
        limit,
        offset,
    )
    counts = await conn.fetchrow(
        """SELECT count(*) AS total, count(*) FILTER (WHERE phase = 'implementation') AS implementation
           FROM forum_meetings WHERE forum_id = $1 AND ($2::uuid IS NULL OR plan_id = $2)""",
        forum_id,
        plan_id,
    )
    assert counts is not None
    out: Row = {
        "forum_id": forum_id,
        "plan_id": plan_id,
        "counts": {"total": counts["total"], "implementation": counts["implementation"]},
        "meetings": [dict(r) for r in rows],
    }
    if plan_id is not None:
        out["implementation_meetings_required"] = IMPLEMENTATION_MEETINGS_REQUIRED
    return out


async def meeting_counts(conn: Conn, plan_id: UUID) -> tuple[int, int]:
    """(meetings linked to the plan, those held during its implementation), for the participation
    report's ``forum_meetings`` and ``implementation_meetings`` (standard 5)."""
    row = await conn.fetchrow(
        """SELECT count(*) AS total, count(*) FILTER (WHERE phase = 'implementation') AS implementation
           FROM forum_meetings WHERE plan_id = $1""",
        plan_id,
    )
    assert row is not None
    return int(row["total"]), int(row["implementation"])
