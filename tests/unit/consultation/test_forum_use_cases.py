"""The forum's use cases: rules and refusals in memory, and the overdue report once per gap."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest

from services.consultation.domain.rounds import CoCreationSpace
from services.consultation.use_cases import forum
from shared.errors import Forbidden, NotFound, RuleViolation
from shared.events.consultation import (
    ForumEstablished,
    ForumMeetingHeld,
    ForumMeetingOverdue,
    MeetingPhase,
    Sector,
)
from tests.fakes.consultation import FakeConsultationUnitOfWork
from tests.unit.consultation.helpers import GOVERNMENT, MEMBER, OTHER_GOVERNMENT, STAFF, now

ESTABLISHED = date(2025, 1, 15)


async def with_forum(**over: object) -> tuple[FakeConsultationUnitOfWork, UUID]:
    uow = FakeConsultationUnitOfWork()
    values: dict[str, object] = {
        "who": GOVERNMENT, "member_id": MEMBER, "name": "Jordan OGP Forum",
        "rules_url": "https://ogp.gov.jo/rules", "rules_summary": None, "established_on": ESTABLISHED,
    }  # fmt: skip
    made = await forum.create_forum(uow, forum.CreateForum(**(values | over)))  # type: ignore[arg-type]
    uow.events.clear()
    return uow, made.id


def meeting(forum_id: UUID, **over: object) -> forum.RecordMeeting:
    values: dict[str, object] = {
        "who": GOVERNMENT, "forum_id": forum_id, "held_on": date(2025, 3, 10),
        "phase": MeetingPhase.CO_CREATION, "plan_id": None, "agenda": "Prioritise ideas",
        "minutes_url": None, "attendance": {Sector.GOVERNMENT: 6, Sector.CIVIL_SOCIETY: 7},
    }  # fmt: skip
    return forum.RecordMeeting(**(values | over))  # type: ignore[arg-type]


async def test_a_forum_is_established_once_per_member() -> None:
    uow = FakeConsultationUnitOfWork()
    cmd = forum.CreateForum(GOVERNMENT, MEMBER, "Forum", "https://ogp.gov.jo/rules", None, ESTABLISHED)
    made = await forum.create_forum(uow, cmd)
    [event] = uow.events
    assert isinstance(event, ForumEstablished)
    assert (event.forum_id, event.member_id, event.established_on) == (made.id, MEMBER, ESTABLISHED)
    uow.events.clear()
    with pytest.raises(RuleViolation) as again:
        await forum.create_forum(uow, cmd)
    assert (again.value.rule, again.value.message) == ("forum_exists", f"member {MEMBER} already has a forum")
    assert uow.events == []


async def test_forum_creation_refusals() -> None:
    uow = FakeConsultationUnitOfWork()
    with pytest.raises(Forbidden) as other:
        await forum.create_forum(
            uow, forum.CreateForum(OTHER_GOVERNMENT, MEMBER, "F", "https://x.org", None, ESTABLISHED)
        )
    assert other.value.message == f"you may not create the forum of member {MEMBER}"
    future = now().date() + timedelta(days=2)
    with pytest.raises(RuleViolation) as later:
        await forum.create_forum(uow, forum.CreateForum(STAFF, MEMBER, "F", "https://x.org", None, future))
    assert (later.value.rule, later.value.field) == ("date_in_future", "established_on")
    assert uow.events == [] and uow.tables.forums == {}


async def test_one_seat_per_organisation_compared_in_normal_form() -> None:
    uow, forum_id = await with_forum()
    seat = await forum.add_seat(
        uow,
        forum.AddSeat(GOVERNMENT, forum_id, "Transparency International", Sector.CIVIL_SOCIETY, ESTABLISHED),
    )
    assert seat.left_on is None and uow.tables.seats[seat.id].organisation == "Transparency International"
    with pytest.raises(RuleViolation) as twice:
        await forum.add_seat(
            uow,
            forum.AddSeat(STAFF, forum_id, "transparency  INTERNATIONAL", Sector.CIVIL_SOCIETY, ESTABLISHED),
        )
    assert (twice.value.rule, twice.value.message) == (
        "seat_exists", "'transparency  INTERNATIONAL' already has a seat on this forum",
    )  # fmt: skip
    # One that left may take a new seat.
    await forum.leave_seat(uow, forum.LeaveSeat(GOVERNMENT, forum_id, seat.id, date(2025, 6, 1)))
    await forum.add_seat(
        uow,
        forum.AddSeat(STAFF, forum_id, "Transparency International", Sector.CIVIL_SOCIETY, date(2025, 7, 1)),
    )
    assert len(uow.tables.seats) == 2 and uow.events == []


async def test_seat_refusals() -> None:
    uow, forum_id = await with_forum()
    with pytest.raises(NotFound) as missing:
        await forum.add_seat(uow, forum.AddSeat(STAFF, uuid4(), "I Watch", Sector.CIVIL_SOCIETY, ESTABLISHED))
    assert missing.value.what.startswith("forum ")
    with pytest.raises(Forbidden) as other:
        await forum.add_seat(
            uow, forum.AddSeat(OTHER_GOVERNMENT, forum_id, "I Watch", Sector.CIVIL_SOCIETY, ESTABLISHED)
        )
    assert other.value.message == f"you may not edit the forum of member {MEMBER}"
    with pytest.raises(RuleViolation) as future:
        await forum.add_seat(
            uow,
            forum.AddSeat(STAFF, forum_id, "I Watch", Sector.CIVIL_SOCIETY, now().date() + timedelta(days=2)),
        )
    assert (future.value.rule, future.value.field) == ("date_in_future", "joined_on")
    assert uow.tables.seats == {}


async def test_leaving_is_idempotent_on_the_same_day_and_refused_otherwise() -> None:
    uow, forum_id = await with_forum()
    seat = await forum.add_seat(
        uow, forum.AddSeat(STAFF, forum_id, "I Watch", Sector.CIVIL_SOCIETY, date(2025, 2, 1))
    )
    with pytest.raises(RuleViolation) as early:
        await forum.leave_seat(uow, forum.LeaveSeat(STAFF, forum_id, seat.id, date(2025, 1, 31)))
    assert (early.value.rule, early.value.field) == ("seat_dates", "left_on")
    left = await forum.leave_seat(uow, forum.LeaveSeat(STAFF, forum_id, seat.id, date(2025, 6, 1)))
    assert left.left_on == date(2025, 6, 1) == uow.tables.seats[seat.id].left_on
    assert (
        await forum.leave_seat(uow, forum.LeaveSeat(STAFF, forum_id, seat.id, date(2025, 6, 1)))
    ).left_on == date(2025, 6, 1)
    with pytest.raises(RuleViolation) as other_day:
        await forum.leave_seat(uow, forum.LeaveSeat(STAFF, forum_id, seat.id, date(2025, 6, 2)))
    assert (other_day.value.rule, other_day.value.message) == ("seat_left", "the seat ended on 2025-06-01")
    with pytest.raises(NotFound) as missing:
        await forum.leave_seat(uow, forum.LeaveSeat(STAFF, forum_id, uuid4(), date(2025, 6, 1)))
    assert missing.value.message.startswith("seat ") and f"of forum {forum_id}" in missing.value.message
    assert uow.events == []


async def test_a_meeting_is_recorded_and_published() -> None:
    uow, forum_id = await with_forum()
    made = await forum.record_meeting(uow, meeting(forum_id))
    assert made.attendance == {Sector.CIVIL_SOCIETY: 7, Sector.GOVERNMENT: 6}
    [event] = uow.events
    assert isinstance(event, ForumMeetingHeld)
    assert (event.meeting_id, event.member_id, event.held_on) == (made.id, MEMBER, date(2025, 3, 10))
    assert uow.tables.meetings == [made]


@pytest.mark.parametrize(
    ("over", "rule", "field"),
    [
        ({"held_on": date(2025, 1, 14)}, "held_before_established", "held_on"),
        ({"attendance": {Sector.GOVERNMENT: 0}}, "no_attendance", "attendance"),
        ({"attendance": {}}, "no_attendance", "attendance"),
        ({"held_on": "future"}, "date_in_future", "held_on"),
        ({"plan_id": "other member's"}, "plan_of_other_member", "plan_id"),
    ],
)
async def test_meeting_refusals(over: dict[str, object], rule: str, field: str) -> None:
    uow, forum_id = await with_forum()
    if over.get("held_on") == "future":
        over = {"held_on": now().date() + timedelta(days=2)}
    if over.get("plan_id") == "other member's":
        plan_id = uuid4()
        uow.tables.spaces[plan_id] = CoCreationSpace(plan_id, uuid4(), None, "open")
        over = {"plan_id": plan_id}
    with pytest.raises(RuleViolation) as err:
        await forum.record_meeting(uow, meeting(forum_id, **over))
    assert (err.value.rule, err.value.field) == (rule, field)
    assert uow.events == [] and uow.tables.meetings == []


async def test_a_meeting_about_an_unknown_plan_is_accepted_and_access_is_checked() -> None:
    uow, forum_id = await with_forum()
    await forum.record_meeting(uow, meeting(forum_id, plan_id=uuid4()))  # its events may not be here yet
    uow.events.clear()
    with pytest.raises(Forbidden):
        await forum.record_meeting(uow, meeting(forum_id, who=OTHER_GOVERNMENT))
    with pytest.raises(NotFound):
        await forum.record_meeting(uow, meeting(uuid4()))
    assert uow.events == []


async def test_overdue_is_reported_once_per_gap() -> None:
    uow, forum_id = await with_forum()
    batch = forum.ReportOverdueForums(date(2025, 7, 15), limit=10)
    assert await forum.report_overdue_forums(uow, batch) == forum.OverdueReported(0, 0)  # the due day
    later = forum.ReportOverdueForums(date(2025, 8, 15), limit=10)
    assert await forum.report_overdue_forums(uow, later) == forum.OverdueReported(1, 1)
    assert await forum.report_overdue_forums(uow, later) == forum.OverdueReported(0, 0)
    [event] = uow.events
    assert isinstance(event, ForumMeetingOverdue)
    assert (event.forum_id, event.since, event.due_on, event.last_meeting_on) == (
        forum_id, ESTABLISHED, date(2025, 7, 15), None,
    )  # fmt: skip
    assert uow.tables.emissions == {("forum_meeting_overdue", f"{forum_id}:2025-01-15")}
    # A meeting starts a new gap, reported again once it runs over.
    await forum.record_meeting(uow, meeting(forum_id, held_on=date(2025, 9, 1)))
    uow.events.clear()
    assert (
        await forum.report_overdue_forums(uow, forum.ReportOverdueForums(date(2026, 3, 1), 10))
    ).emitted == 0
    assert (
        await forum.report_overdue_forums(uow, forum.ReportOverdueForums(date(2026, 3, 2), 10))
    ).emitted == 1
    [second] = uow.events
    assert (second.since, second.due_on) == (date(2025, 9, 1), date(2026, 3, 1))  # type: ignore[attr-defined]
