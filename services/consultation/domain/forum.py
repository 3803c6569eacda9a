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
* A gap of more than six calendar months without a meeting is reported once (``ForumMeetingOverdue``),
  the gap being named by the date it runs from (the last meeting, or the establishment).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4

from dateutil.relativedelta import relativedelta

from services.consultation.domain.common import check_not_future, normalise
from shared.errors import RuleViolation
from shared.events.base import Event
from shared.events.consultation import (
    ForumEstablished,
    ForumMeetingHeld,
    ForumMeetingOverdue,
    MeetingPhase,
    Sector,
)

FORUM_MAX_GAP_MONTHS = 6
IMPLEMENTATION_MEETINGS_REQUIRED = 2
#: The ``timer_emissions`` kind of a reported gap.
OVERDUE_KIND = "forum_meeting_overdue"


def forum_meeting_due(
    last_meeting: date | None, established: date, months: int = FORUM_MAX_GAP_MONTHS
) -> date:
    """The last day the forum may go without meeting: six calendar months after the last meeting,
    or after its establishment when it never met. Overdue is ``today > due``."""
    since = last_meeting or established
    due: date = since + relativedelta(months=months)
    return due


def forum_overdue(last_meeting: date | None, established: date, today: date) -> bool:
    return today > forum_meeting_due(last_meeting, established)


def occurrence(forum_id: UUID, since: date) -> str:
    """The ``timer_emissions`` key of one gap (the overdue query builds the same text)."""
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
        meets_every_six_months=not forum_overdue(last_meeting, established, today),
    )


def check_attendance(attendance: Mapping[Sector, int]) -> None:
    """A meeting nobody attended is not a meeting; counts are checked non-negative by the API."""
    if sum(attendance.values()) <= 0:
        raise RuleViolation("no_attendance", "a meeting needs at least one attendee", "attendance")


def forum_exists(member_id: UUID) -> RuleViolation:
    """One forum per member."""
    return RuleViolation("forum_exists", f"member {member_id} already has a forum")


@dataclass(slots=True)
class Seat:
    """An organisation's seat; it stays in the record with the day it ended."""

    id: UUID
    forum_id: UUID
    organisation: str
    sector: Sector
    joined_on: date
    left_on: date | None = None
    created_by: str = ""

    def leave(self, left_on: date, now: datetime) -> bool:
        """End the seat on ``left_on``; False when it already ended that day (a repeated request
        is harmless), a 409 when it ended on another day."""
        check_not_future(left_on, "left_on", now)
        if self.left_on is not None:
            if self.left_on == left_on:
                return False
            raise RuleViolation("seat_left", f"the seat ended on {self.left_on}")
        if left_on < self.joined_on:
            raise RuleViolation("seat_dates", "left_on must not be before joined_on", "left_on")
        self.left_on = left_on
        return True


@dataclass(slots=True)
class Meeting:
    id: UUID
    forum_id: UUID
    held_on: date
    phase: MeetingPhase
    plan_id: UUID | None
    agenda: str
    minutes_url: str | None
    #: People present by sector, in sector order (as stored and published).
    attendance: dict[Sector, int]
    created_at: datetime
    created_by: str


@dataclass(slots=True)
class Forum:
    """A member's forum with the seats held now (``seats``: those not ended)."""

    id: UUID
    member_id: UUID
    name: str
    rules_url: str
    rules_summary: str | None
    established_on: date
    created_at: datetime
    created_by: str
    seats: list[Seat] = field(default_factory=list)

    @classmethod
    def establish(
        cls,
        *,
        member_id: UUID,
        name: str,
        rules_url: str,
        rules_summary: str | None,
        established_on: date,
        now: datetime,
        by: str,
    ) -> tuple[Forum, list[Event]]:
        check_not_future(established_on, "established_on", now)
        forum = cls(uuid4(), member_id, name, rules_url, rules_summary, established_on, now, by)
        event = ForumEstablished(
            forum_id=forum.id,
            member_id=member_id,
            name=name,
            rules_url=rules_url,
            established_on=established_on,
        )
        return forum, [event]

    def add_seat(self, organisation: str, sector: Sector, joined_on: date, *, by: str) -> Seat:
        """One seat per organisation at a time, compared in its normal form (case, width and
        spacing aside), so "Transparency  international" cannot double the civil-society count of
        "Transparency International". One that left may take a new seat."""
        wanted = normalise(organisation)
        if any(normalise(s.organisation) == wanted for s in self.seats if s.left_on is None):
            raise RuleViolation("seat_exists", f"{organisation!r} already has a seat on this forum")
        seat = Seat(uuid4(), self.id, organisation, sector, joined_on, None, by)
        self.seats.append(seat)
        return seat

    def record_meeting(
        self,
        *,
        held_on: date,
        phase: MeetingPhase,
        plan_id: UUID | None,
        plan_owner: UUID | None,
        agenda: str,
        minutes_url: str | None,
        attendance: Mapping[Sector, int],
        now: datetime,
        by: str,
    ) -> tuple[Meeting, list[Event]]:
        """A meeting the forum held: it ends the current gap (six months run again from
        ``held_on``). ``plan_owner`` is the member whose plan ``plan_id`` is, when known here; a
        plan not known yet is accepted (the plans service's events may not have arrived)."""
        if held_on < self.established_on:
            raise RuleViolation(
                "held_before_established",
                f"held_on is before the forum was established ({self.established_on})",
                "held_on",
            )
        if plan_id is not None and plan_owner is not None and plan_owner != self.member_id:
            raise RuleViolation("plan_of_other_member", "the plan is another member's", "plan_id")
        counted = dict(sorted(attendance.items()))
        meeting = Meeting(uuid4(), self.id, held_on, phase, plan_id, agenda, minutes_url, counted, now, by)
        event = ForumMeetingHeld(
            meeting_id=meeting.id,
            forum_id=self.id,
            member_id=self.member_id,
            held_on=held_on,
            phase=phase,
            plan_id=plan_id,
            agenda=agenda,
            minutes_url=minutes_url,
            attendance=dict(attendance),
        )
        return meeting, [event]


def check_meeting(held_on: date, attendance: Mapping[Sector, int], now: datetime) -> None:
    """What a meeting must be before the forum is even looked at: past, and attended."""
    check_not_future(held_on, "held_on", now)
    check_attendance(attendance)


@dataclass(frozen=True, slots=True)
class Gap:
    """A forum's time without a meeting, since its last meeting (or its establishment)."""

    forum_id: UUID
    member_id: UUID
    last_meeting_on: date | None
    since: date
    due_on: date

    @property
    def occurrence(self) -> str:
        return occurrence(self.forum_id, self.since)

    def overdue(self, now: datetime) -> ForumMeetingOverdue:
        return ForumMeetingOverdue(
            forum_id=self.forum_id,
            member_id=self.member_id,
            last_meeting_on=self.last_meeting_on,
            since=self.since,
            due_on=self.due_on,
            detected_at=now,
        )
