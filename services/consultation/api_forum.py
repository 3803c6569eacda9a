"""HTTP API of the multi-stakeholder forum (standards 1 and 5).

Reads are public: the forum's composition, meetings and standing are what civil society checks
the government against. Writes need a token of OGP staff or of the member's own government point
of contact. Nothing returned names a person: seats are organisations, attendance is counted by
sector, and who typed a record in (the token's subject) stays in the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from services.consultation.domain.forum import Meeting, Seat
from services.consultation.queries import forum as forum_queries
from services.consultation.schemas import Text
from services.consultation.settings import ConsultationSettings
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases import forum
from shared.auth import Principal, Role, require
from shared.dates import Day
from shared.events.consultation import MeetingPhase, Sector
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["forum"])
RT = Annotated[Runtime, Depends(runtime_of)]
Editor = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]

#: http or https only, at most 2083 characters (pydantic's own bound for ``HttpUrl``).
Url = HttpUrl
#: People at one meeting, per sector: the bound keeps a typo from skewing every report.
Attendees = Annotated[int, Field(ge=0, le=100_000)]


#: A name: of the forum, of an organisation (stored text: no control characters, not blank).
Name = Annotated[Text, Field(max_length=300)]
#: A paragraph: an agenda, a summary of the rules.
Paragraph = Annotated[Text, Field(max_length=5000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ForumIn(_In):
    member_id: UUID
    name: Name
    #: Where the forum's rules of participation are published (standard 1).
    rules_url: Url
    rules_summary: Paragraph | None = None
    established_on: Day


class SeatIn(_In):
    #: The organisation holding the seat: never a person's name.
    organisation: Name
    sector: Sector
    joined_on: Day


class LeaveIn(_In):
    left_on: Day


class MeetingIn(_In):
    held_on: Day
    phase: MeetingPhase
    #: The plan whose co-creation or implementation the meeting was about, if any.
    plan_id: UUID | None = None
    agenda: Paragraph
    minutes_url: Url | None = None
    #: People present, counted by sector; no names.
    attendance: dict[Sector, Attendees] = Field(min_length=1)


class SeatOut(BaseModel):
    id: UUID
    organisation: str
    sector: Sector
    joined_on: date


class SeatRecordOut(SeatOut):
    forum_id: UUID
    left_on: date | None


class ComplianceOut(BaseModel):
    has_government: bool
    has_civil_society: bool
    rules_public: bool
    meets_every_six_months: bool


class ForumOut(BaseModel):
    id: UUID
    member_id: UUID
    name: str
    rules_url: str
    rules_summary: str | None
    established_on: date
    created_at: datetime
    seats: list[SeatOut]
    seats_by_sector: dict[Sector, int]
    meetings: int
    last_meeting_on: date | None
    #: The last day the forum may go without meeting (six calendar months after the last one).
    next_meeting_due: date
    overdue: bool
    compliance: ComplianceOut


class MeetingOut(BaseModel):
    id: UUID
    forum_id: UUID
    held_on: date
    phase: MeetingPhase
    plan_id: UUID | None
    agenda: str
    minutes_url: str | None
    attendance: dict[Sector, int]
    created_at: datetime


class MeetingCountsOut(BaseModel):
    total: int
    implementation: int


class MeetingsOut(BaseModel):
    forum_id: UUID
    plan_id: UUID | None
    counts: MeetingCountsOut
    #: Standard 5, given when the list is about one plan: implementation meetings it needs.
    implementation_meetings_required: int | None = None
    meetings: list[MeetingOut]


def _today(rt: Runtime) -> date:
    """The day the forum's standing is judged on (the overdue timer's day too)."""
    return ConsultationSettings.of(rt.settings).today()


def _seat(seat: Seat) -> dict[str, Any]:
    return {
        "id": seat.id, "forum_id": seat.forum_id, "organisation": seat.organisation, "sector": seat.sector,
        "joined_on": seat.joined_on, "left_on": seat.left_on,
    }  # fmt: skip


def _meeting(m: Meeting) -> dict[str, Any]:
    return {
        "id": m.id, "forum_id": m.forum_id, "held_on": m.held_on, "phase": m.phase,
        "plan_id": m.plan_id, "agenda": m.agenda, "minutes_url": m.minutes_url,
        "attendance": m.attendance, "created_at": m.created_at,
    }  # fmt: skip


@router.post("/forums", status_code=201, response_model=ForumOut)
async def create_forum(body: ForumIn, rt: RT, who: Editor) -> dict[str, Any]:
    """Record a member's forum with its public rules of participation; one per member (409)."""
    cmd = forum.CreateForum(
        who, body.member_id, body.name, str(body.rules_url), body.rules_summary, body.established_on
    )
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        created = await forum.create_forum(uow, cmd)
    async with rt.pool.acquire() as conn:
        return await forum_queries.forum_view(conn, _today(rt), forum_id=created.id)


@router.get("/forums/{forum_id}", response_model=ForumOut)
async def get_forum(forum_id: UUID, rt: RT) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await forum_queries.forum_view(conn, _today(rt), forum_id=forum_id)


@router.get("/members/{member_id}/forum", response_model=ForumOut)
async def get_member_forum(member_id: UUID, rt: RT) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await forum_queries.forum_view(conn, _today(rt), member_id=member_id)


@router.post("/forums/{forum_id}/members", status_code=201, response_model=SeatRecordOut)
async def add_seat(forum_id: UUID, body: SeatIn, rt: RT, who: Editor) -> dict[str, Any]:
    """Give an organisation a seat; the same organisation twice is a 409."""
    cmd = forum.AddSeat(who, forum_id, body.organisation, body.sector, body.joined_on)
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return _seat(await forum.add_seat(uow, cmd))


@router.post("/forums/{forum_id}/members/{seat_id}/leave", response_model=SeatRecordOut)
async def leave_seat(forum_id: UUID, seat_id: UUID, body: LeaveIn, rt: RT, who: Editor) -> dict[str, Any]:
    """End a seat; it stays in the record with the day it ended."""
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return _seat(await forum.leave_seat(uow, forum.LeaveSeat(who, forum_id, seat_id, body.left_on)))


@router.post("/forums/{forum_id}/meetings", status_code=201, response_model=MeetingOut)
async def record_meeting(forum_id: UUID, body: MeetingIn, rt: RT, who: Editor) -> dict[str, Any]:
    """Record a meeting the forum held (not one planned): it restarts the six-month count."""
    cmd = forum.RecordMeeting(
        who, forum_id, body.held_on, body.phase, body.plan_id, body.agenda,
        str(body.minutes_url) if body.minutes_url is not None else None, body.attendance,
    )  # fmt: skip
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return _meeting(await forum.record_meeting(uow, cmd))


@router.get("/forums/{forum_id}/meetings", response_model=MeetingsOut)
async def list_meetings(
    forum_id: UUID,
    rt: RT,
    plan_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Meetings newest first; with ``plan_id``, those about that plan and how many of the
    implementation meetings standard 5 asks for were held."""
    async with rt.pool.acquire() as conn:
        return await forum_queries.list_meetings(conn, forum_id, plan_id, limit=limit, offset=offset)
