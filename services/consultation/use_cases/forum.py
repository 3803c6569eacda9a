"""The forum's use cases: establish it, seats, meetings, and the overdue report (standards 1, 5).

Writes need staff or the member's own government point of contact (checked against the forum's
member, so a 403 comes after a 404 for an unknown forum)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

from services.consultation.domain.common import Actor, check_acts_for, check_not_future
from services.consultation.domain.forum import (
    FORUM_MAX_GAP_MONTHS,
    OVERDUE_KIND,
    Forum,
    Meeting,
    Seat,
    check_meeting,
    forum_exists,
)
from services.consultation.store import ConsultationUnitOfWork
from shared.errors import NotFound
from shared.events.consultation import MeetingPhase, Sector


async def _forum_for_edit(
    uow: ConsultationUnitOfWork, who: Actor, forum_id: UUID, *, with_seats: bool = False
) -> Forum:
    """The forum locked for this transaction, once the caller is known to act for its member."""
    forum = await uow.forums.for_edit(forum_id, with_seats=with_seats)
    if forum is None:
        raise NotFound(f"forum {forum_id}")
    check_acts_for(who, forum.member_id, f"edit the forum of member {forum.member_id}")
    return forum


@dataclass(frozen=True, slots=True)
class CreateForum:
    who: Actor
    member_id: UUID
    name: str
    rules_url: str
    rules_summary: str | None
    established_on: date


async def create_forum(uow: ConsultationUnitOfWork, cmd: CreateForum) -> Forum:
    """Record a member's forum (one per member: a second is a 409 ``forum_exists``)."""
    check_acts_for(cmd.who, cmd.member_id, f"create the forum of member {cmd.member_id}")
    forum, events = Forum.establish(
        member_id=cmd.member_id, name=cmd.name, rules_url=cmd.rules_url, rules_summary=cmd.rules_summary,
        established_on=cmd.established_on, now=datetime.now(UTC), by=cmd.who.subject,
    )  # fmt: skip
    if not await uow.forums.add(forum):
        raise forum_exists(cmd.member_id)
    for event in events:
        uow.publish(event)
    return forum


@dataclass(frozen=True, slots=True)
class AddSeat:
    who: Actor
    forum_id: UUID
    organisation: str
    sector: Sector
    joined_on: date


async def add_seat(uow: ConsultationUnitOfWork, cmd: AddSeat) -> Seat:
    """Give an organisation a seat; under the forum's lock no other seat is added meanwhile, so
    the comparison with the seats held holds."""
    check_not_future(cmd.joined_on, "joined_on", datetime.now(UTC))
    forum = await _forum_for_edit(uow, cmd.who, cmd.forum_id, with_seats=True)
    seat = forum.add_seat(cmd.organisation, cmd.sector, cmd.joined_on, by=cmd.who.subject)
    await uow.forums.add_seat(seat)
    return seat


@dataclass(frozen=True, slots=True)
class LeaveSeat:
    who: Actor
    forum_id: UUID
    seat_id: UUID
    left_on: date


async def leave_seat(uow: ConsultationUnitOfWork, cmd: LeaveSeat) -> Seat:
    """An organisation leaves the forum; repeating the same request is harmless."""
    now = datetime.now(UTC)
    check_not_future(cmd.left_on, "left_on", now)
    await _forum_for_edit(uow, cmd.who, cmd.forum_id)
    seat = await uow.forums.seat(cmd.forum_id, cmd.seat_id)
    if seat is None:
        raise NotFound(f"seat {cmd.seat_id} of forum {cmd.forum_id}")
    if seat.leave(cmd.left_on, now):
        await uow.forums.save_seat(seat)
    return seat


@dataclass(frozen=True, slots=True)
class RecordMeeting:
    who: Actor
    forum_id: UUID
    held_on: date
    phase: MeetingPhase
    plan_id: UUID | None
    agenda: str
    minutes_url: str | None
    attendance: Mapping[Sector, int] = field(default_factory=dict)


async def record_meeting(uow: ConsultationUnitOfWork, cmd: RecordMeeting) -> Meeting:
    """Record a meeting the forum held and publish ``ForumMeetingHeld``. A meeting about a plan
    of another member is refused when the plan is known here (its co-creation space exists)."""
    now = datetime.now(UTC)
    attendance = {Sector(s): int(n) for s, n in cmd.attendance.items()}
    check_meeting(cmd.held_on, attendance, now)
    forum = await _forum_for_edit(uow, cmd.who, cmd.forum_id)
    space = await uow.spaces.get(cmd.plan_id) if cmd.plan_id is not None else None
    meeting, events = forum.record_meeting(
        held_on=cmd.held_on, phase=cmd.phase, plan_id=cmd.plan_id,
        plan_owner=space.member_id if space else None, agenda=cmd.agenda, minutes_url=cmd.minutes_url,
        attendance=attendance, now=now, by=cmd.who.subject,
    )  # fmt: skip
    await uow.forums.add_meeting(meeting)
    for event in events:
        uow.publish(event)
    return meeting


@dataclass(frozen=True, slots=True)
class ReportOverdueForums:
    today: date
    limit: int
    months: int = FORUM_MAX_GAP_MONTHS


@dataclass(frozen=True, slots=True)
class OverdueReported:
    found: int
    emitted: int


async def report_overdue_forums(uow: ConsultationUnitOfWork, cmd: ReportOverdueForums) -> OverdueReported:
    """One batch: find up to ``limit`` overdue gaps, lock their forums, look again under the lock
    (a meeting recorded meanwhile closes the gap; another runner may have claimed it), claim what
    is left and publish one ``ForumMeetingOverdue`` per claimed gap. The claim is a
    ``timer_emissions`` row in this transaction, so neither a crash nor a second runner emits a
    gap twice."""
    found = await uow.forums.overdue(cmd.today, cmd.months, OVERDUE_KIND, cmd.limit)
    if not found:
        return OverdueReported(0, 0)
    forums = sorted({g.forum_id for g in found})
    await uow.forums.lock(forums)
    # A new statement, a new snapshot: what committed while we waited for the locks is seen.
    gaps = await uow.forums.overdue(cmd.today, cmd.months, OVERDUE_KIND, cmd.limit, only=forums)
    if not gaps:
        return OverdueReported(len(found), 0)
    claimed = await uow.emissions.claim(OVERDUE_KIND, [g.occurrence for g in gaps])
    now = datetime.now(UTC)
    emitted = 0
    for gap in gaps:
        if gap.occurrence in claimed:
            uow.publish(gap.overdue(now))
            emitted += 1
    return OverdueReported(len(found), emitted)
