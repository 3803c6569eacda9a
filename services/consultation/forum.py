"""The multi-stakeholder forum: seats, meetings and the six-month meeting rule.

OGP co-creation standard 1: each member has a forum of government and civil society (and others)
that meets at least every six months and publishes its rules of participation. Standard 5: during
implementation, the forum meets civil society at least twice per action plan cycle.

* A forum is recorded once per member; its rules of participation are public by construction (the
  ``rules_url`` is required).
* Seats are held by organisations in a sector, never by named people, so the forum's composition
  can be published and evented without personal data.
* Meetings are counted by sector too. What is recorded is a fact: a meeting, a seat taken or left
  on a day that has not come yet anywhere on Earth is refused.

Every change locks the forum row first: it orders the forum's events on Kafka (they are keyed by
the member) and lets the overdue timer re-check a gap under the same lock a new meeting takes, so
a meeting recorded concurrently is never reported overdue.

The overdue timer (:func:`emit_forum_overdue`) emits ``ForumMeetingOverdue`` once per gap, the gap
being named by the date it runs from (the last meeting, or the establishment when the forum never
met): ``timer_emissions`` rows claimed with ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` in the
same transaction as the outbox insert, so neither a crash nor a second runner can emit it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeAlias
from uuid import UUID, uuid4

import asyncpg

from services.consultation import domain
from services.consultation.domain import RuleViolation, check_not_future
from services.consultation.domain import latest_local_date as latest_local_date  # re-exported
from services.consultation.errors import forbidden, problem_for
from services.consultation.settings import ConsultationSettings
from shared.auth import Principal
from shared.events.consultation import (
    ForumEstablished,
    ForumMeetingHeld,
    ForumMeetingOverdue,
    MeetingPhase,
    Sector,
)
from shared.http import NotFound
from shared.uow import UnitOfWork, unit_of_work

SERVICE = "consultation"
OVERDUE_KIND = "forum_meeting_overdue"

Row = dict[str, Any]
#: Anything that runs a query: the pool (a read), or a connection (in a transaction).
Conn: TypeAlias = "asyncpg.Connection | asyncpg.pool.PoolConnectionProxy[asyncpg.Record] | asyncpg.Pool"


# --- pure rules ----------------------------------------------------------------------------------


def occurrence(forum_id: UUID, since: date) -> str:
    """The ``timer_emissions`` key of one gap (the SQL builds the same text)."""
    return f"{forum_id}:{since.isoformat()}"


@dataclass(frozen=True, slots=True)
class Compliance:
    """What standard 1 asks of the forum, as four yes/no facts a dashboard can show."""

    has_government: bool
    has_civil_society: bool
    rules_public: bool
    meets_every_six_months: bool


def compliance(
    active_sectors: Mapping[Sector, int],
    rules_url: str | None,
    last_meeting: date | None,
    established: date,
    today: date,
) -> Compliance:
    """Standard 1 on ``today``. ``meets_every_six_months`` is the forum's standing now (not
    overdue): a gap in an earlier cycle is the IRM's to assess, and it is in the events."""
    return Compliance(
        has_government=active_sectors.get(Sector.GOVERNMENT, 0) > 0,
        has_civil_society=active_sectors.get(Sector.CIVIL_SOCIETY, 0) > 0,
        rules_public=bool(rules_url),
        meets_every_six_months=not domain.forum_overdue(last_meeting, established, today),
    )


def check_attendance(attendance: Mapping[Sector, int]) -> None:
    """A meeting nobody attended is not a meeting; counts are checked non-negative by the API."""
    if sum(attendance.values()) <= 0:
        raise RuleViolation("no_attendance", "a meeting needs at least one attendee", "attendance")


# --- reading -------------------------------------------------------------------------------------

_FORUM = """SELECT id, member_id, name, rules_url, rules_summary, established_on, created_at
            FROM forums WHERE id = $1"""
_FORUM_FOR_UPDATE = _FORUM + " FOR UPDATE"
_FORUM_OF_MEMBER = """SELECT id, member_id, name, rules_url, rules_summary, established_on, created_at
                      FROM forums WHERE member_id = $1"""


async def _forum_row(conn: Conn, forum_id: UUID, *, for_update: bool = False) -> Row:
    sql = _FORUM_FOR_UPDATE if for_update else _FORUM
    row = await conn.fetchrow(sql, forum_id)
    if row is None:
        raise NotFound(f"forum {forum_id}")
    return dict(row)


async def forum_view(
    conn: Conn, today: date, *, forum_id: UUID | None = None, member_id: UUID | None = None
) -> Row:
    """The public view of a forum, by its id or its member's: who sits on it (organisations by
    sector), how often it met, when it must meet next and whether it meets standard 1 today."""
    if forum_id is not None:
        forum = await _forum_row(conn, forum_id)
    else:
        row = await conn.fetchrow(_FORUM_OF_MEMBER, member_id)
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
        "next_meeting_due": domain.forum_meeting_due(last, established),
        "overdue": domain.forum_overdue(last, established, today),
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
    await _forum_row(conn, forum_id)
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
        out["implementation_meetings_required"] = domain.IMPLEMENTATION_MEETINGS_REQUIRED
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


# --- writing -------------------------------------------------------------------------------------


async def _forum_for_edit(uow: UnitOfWork, who: Principal, forum_id: UUID) -> Row:
    """The forum locked for this transaction, once the caller is known to act for its member."""
    forum = await _forum_row(uow.conn, forum_id, for_update=True)
    if not who.acts_for(forum["member_id"]):
        raise forbidden(f"edit the forum of member {forum['member_id']}")
    return forum


async def create_forum(
    pool: asyncpg.Pool,
    who: Principal,
    *,
    member_id: UUID,
    name: str,
    rules_url: str,
    rules_summary: str | None,
    established_on: date,
) -> Row:
    """Record a member's forum (one per member: a second is a 409 ``forum_exists``)."""
    if not who.acts_for(member_id):
        raise forbidden(f"create the forum of member {member_id}")
    try:
        check_not_future(established_on, "established_on", datetime.now(UTC))
    except RuleViolation as rv:
        raise problem_for(rv) from None
    async with unit_of_work(pool, SERVICE) as uow:
        row = await uow.conn.fetchrow(
            """INSERT INTO forums (id, member_id, name, rules_url, rules_summary, established_on,
                                    created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (member_id) DO NOTHING
                RETURNING id, member_id, name, rules_url, rules_summary, established_on, created_at""",
            uuid4(), member_id, name, rules_url, rules_summary, established_on, who.subject,
        )  # fmt: skip
        if row is None:
            raise problem_for(RuleViolation("forum_exists", f"member {member_id} already has a forum"))
        uow.publish(
            ForumEstablished(
                forum_id=row["id"],
                member_id=member_id,
                name=name,
                rules_url=rules_url,
                established_on=established_on,
            )
        )
    return dict(row)


async def add_seat(
    pool: asyncpg.Pool, who: Principal, forum_id: UUID, *, organisation: str, sector: Sector, joined_on: date
) -> Row:
    """Give an organisation a seat. The same organisation twice at once is a 409 ``seat_exists``
    (one that left may take a new seat), compared
    in its normal form (case, width and spacing aside), so "Transparency  international" cannot
    double the civil-society count of "Transparency International"."""
    try:
        check_not_future(joined_on, "joined_on", datetime.now(UTC))
    except RuleViolation as rv:
        raise problem_for(rv) from None
    async with unit_of_work(pool, SERVICE) as uow:
        await _forum_for_edit(uow, who, forum_id)
        # Under the forum's lock no other seat can be added meanwhile: the comparison holds.
        held = await uow.conn.fetch(
            "SELECT organisation FROM forum_members WHERE forum_id = $1 AND left_on IS NULL", forum_id
        )
        wanted = domain.normalise(organisation)
        if any(domain.normalise(r["organisation"]) == wanted for r in held):
            raise problem_for(
                RuleViolation("seat_exists", f"{organisation!r} already has a seat on this forum")
            )
        row = await uow.conn.fetchrow(
            """INSERT INTO forum_members (id, forum_id, organisation, sector, joined_on, created_by)
                VALUES ($1, $2, $3, $4, $5, $6)
                RETURNING id, forum_id, organisation, sector, joined_on, left_on""",
            uuid4(), forum_id, organisation, sector.value, joined_on, who.subject,
        )  # fmt: skip
        assert row is not None
    return dict(row)


async def leave_seat(pool: asyncpg.Pool, who: Principal, forum_id: UUID, seat_id: UUID, left_on: date) -> Row:
    """An organisation leaves the forum; the seat stays in the record with the day it ended.
    Repeating the same request is harmless; ending an ended seat on another day is a 409."""
    try:
        check_not_future(left_on, "left_on", datetime.now(UTC))
    except RuleViolation as rv:
        raise problem_for(rv) from None
    async with unit_of_work(pool, SERVICE) as uow:
        await _forum_for_edit(uow, who, forum_id)
        seat = await uow.conn.fetchrow(
            """SELECT id, forum_id, organisation, sector, joined_on, left_on FROM forum_members
               WHERE id = $1 AND forum_id = $2 FOR UPDATE""",
            seat_id,
            forum_id,
        )
        if seat is None:
            raise NotFound(f"seat {seat_id} of forum {forum_id}")
        if seat["left_on"] is not None:
            if seat["left_on"] == left_on:
                return dict(seat)
            raise problem_for(RuleViolation("seat_left", f"the seat ended on {seat['left_on']}"))
        if left_on < seat["joined_on"]:
            raise problem_for(RuleViolation("seat_dates", "left_on must not be before joined_on", "left_on"))
        row = await uow.conn.fetchrow(
            """UPDATE forum_members SET left_on = $2 WHERE id = $1
               RETURNING id, forum_id, organisation, sector, joined_on, left_on""",
            seat_id,
            left_on,
        )
        assert row is not None
    return dict(row)


async def record_meeting(
    pool: asyncpg.Pool,
    who: Principal,
    forum_id: UUID,
    *,
    held_on: date,
    phase: MeetingPhase,
    plan_id: UUID | None,
    agenda: str,
    minutes_url: str | None,
    attendance: Mapping[Sector, int],
) -> Row:
    """Record a meeting the forum held and publish ``ForumMeetingHeld``. It ends the current gap:
    the six months run again from ``held_on``.

    A meeting about a plan of another member is refused when the plan is known here (its
    co-creation space exists); an unknown plan is accepted, as the plans service's events may
    simply not have arrived yet."""
    attendance = {Sector(s): int(n) for s, n in attendance.items()}
    try:
        check_not_future(held_on, "held_on", datetime.now(UTC))
        check_attendance(attendance)
    except RuleViolation as rv:
        raise problem_for(rv) from None
    async with unit_of_work(pool, SERVICE) as uow:
        forum = await _forum_for_edit(uow, who, forum_id)
        try:
            if held_on < forum["established_on"]:
                raise RuleViolation(
                    "held_before_established",
                    f"held_on is before the forum was established ({forum['established_on']})",
                    "held_on",
                )
            if plan_id is not None:
                owner = await uow.conn.fetchval(
                    "SELECT member_id FROM co_creation_spaces WHERE plan_id = $1", plan_id
                )
                if owner is not None and owner != forum["member_id"]:
                    raise RuleViolation("plan_of_other_member", "the plan is another member's", "plan_id")
        except RuleViolation as rv:
            raise problem_for(rv) from None
        stored = {s.value: n for s, n in sorted(attendance.items())}
        row = await uow.conn.fetchrow(
            """INSERT INTO forum_meetings (id, forum_id, held_on, phase, plan_id, agenda, minutes_url,
                                            attendance, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                RETURNING id, forum_id, held_on, phase, plan_id, agenda, minutes_url, attendance,
                          created_at""",
            uuid4(), forum_id, held_on, phase.value, plan_id, agenda, minutes_url, stored, who.subject,
        )  # fmt: skip
        assert row is not None
        uow.publish(
            ForumMeetingHeld(
                meeting_id=row["id"],
                forum_id=forum_id,
                member_id=forum["member_id"],
                held_on=held_on,
                phase=phase,
                plan_id=plan_id,
                agenda=agenda,
                minutes_url=minutes_url,
                attendance=attendance,
            )
        )
    return dict(row)


# --- the overdue timer ---------------------------------------------------------------------------

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
       (g.since + make_interval(months => $5))::date AS due_on,
       g.forum_id::text || ':' || to_char(g.since, 'YYYY-MM-DD') AS occurrence
FROM gaps g
WHERE (g.since + make_interval(months => $5))::date < $1::date
  AND NOT EXISTS (SELECT 1 FROM timer_emissions e
                  WHERE e.kind = $4
                    AND e.occurrence = g.forum_id::text || ':' || to_char(g.since, 'YYYY-MM-DD'))
ORDER BY g.forum_id
LIMIT $2
"""

# In id order, so two runners locking several forums cannot deadlock on each other.
_LOCK_FORUMS = "SELECT id FROM forums WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"

_CLAIM = """
INSERT INTO timer_emissions (kind, occurrence)
SELECT $1, o FROM unnest($2::text[]) AS t(o)
ON CONFLICT DO NOTHING
RETURNING occurrence
"""


async def _emit_overdue_batch(pool: asyncpg.Pool, today: date, limit: int) -> tuple[int, int]:
    """One transaction: find up to ``limit`` overdue gaps, lock their forums, look again under the
    lock (a meeting recorded meanwhile closes the gap; another runner may have claimed it), claim
    what is left and queue one event per claimed gap. Returns (found before locking, emitted)."""
    months = domain.FORUM_MAX_GAP_MONTHS
    async with unit_of_work(pool, SERVICE) as uow:
        found = await uow.conn.fetch(_OVERDUE, today, limit, None, OVERDUE_KIND, months)
        if not found:
            return 0, 0
        forums = sorted({r["forum_id"] for r in found})
        await uow.conn.execute(_LOCK_FORUMS, forums)
        # A new statement, a new snapshot: what committed while we waited for the locks is seen.
        rows = await uow.conn.fetch(_OVERDUE, today, limit, forums, OVERDUE_KIND, months)
        if not rows:
            return len(found), 0
        claimed = await uow.conn.fetch(_CLAIM, OVERDUE_KIND, [r["occurrence"] for r in rows])
        keys = {c["occurrence"] for c in claimed}
        now = datetime.now(UTC)
        emitted = 0
        for r in rows:
            if r["occurrence"] not in keys:
                continue
            uow.publish(
                ForumMeetingOverdue(
                    forum_id=r["forum_id"],
                    member_id=r["member_id"],
                    last_meeting_on=r["last_meeting_on"],
                    since=r["since"],
                    due_on=r["due_on"],
                    detected_at=now,
                )
            )
            emitted += 1
    return len(found), emitted


async def emit_forum_overdue(
    pool: asyncpg.Pool,
    today: date,
    settings: ConsultationSettings,
    should_continue: Callable[[], bool] = lambda: True,
) -> int:
    """Emit ``ForumMeetingOverdue`` for every gap due on ``today`` not emitted before.

    A forum is overdue when ``today`` is after six calendar months from its last meeting (or its
    establishment): :func:`domain.forum_overdue`, computed here in SQL for every forum at once.
    Safe to call again after a crash and from several processes at once: each gap's
    ``timer_emissions`` row is claimed in the transaction that queues its event. Works in batches
    of ``settings.timers_batch_size`` and asks ``should_continue`` before each, so a runner that
    lost its leadership or is stopping ends early. Returns the number of events emitted."""
    total = 0
    while should_continue():
        found, emitted = await _emit_overdue_batch(pool, today, settings.timers_batch_size)
        total += emitted
        # A short batch means nothing is left; a batch that emitted nothing lost every race, and
        # looking again at once would find the same rows: the next pass will.
        if found < settings.timers_batch_size or emitted == 0:
            break
    return total
