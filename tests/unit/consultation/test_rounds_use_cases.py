"""Rounds, co-creation spaces and reports: each use case's rules and refusals, in memory."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest

from services.consultation.domain.inputs import Text
from services.consultation.domain.rounds import CommitmentSpace
from services.consultation.use_cases import co_creation, inputs, reports, rounds
from shared.errors import Forbidden, Invalid, NotFound, RuleViolation
from shared.events.consultation import (
    CoCreationClosed,
    CoCreationOpened,
    ConsultationClosed,
    ConsultationOpened,
    ConsultationScheduled,
    InputKind,
    OfflineEventRecorded,
    ParticipationReported,
    RoundKind,
    RoundState,
    Sector,
)
from tests.fakes.consultation import FakeConsultationUnitOfWork
from tests.unit.consultation.helpers import (
    GOVERNMENT,
    MEMBER,
    OTHER_GOVERNMENT,
    STAFF,
    now,
    open_round,
    person,
    scheduled_round,
    with_plan,
)


def schedule(plan_id: object, **over: object) -> rounds.ScheduleRound:
    values: dict[str, object] = {
        "who": GOVERNMENT, "plan_id": plan_id, "kind": RoundKind.IDEAS, "title": "Ideas",
        "opens_at": now() + timedelta(days=3), "closes_at": now() + timedelta(days=10),
        "notice_days_required": 14,
    }  # fmt: skip
    return rounds.ScheduleRound(**(values | over))  # type: ignore[arg-type]


# --- scheduling ----------------------------------------------------------------------------------


async def test_a_round_is_scheduled_with_its_notice_and_wakes_the_timers() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await rounds.schedule_round(uow, schedule(plan_id))
    assert (rnd.state, rnd.member_id, rnd.short_notice) == (RoundState.SCHEDULED, MEMBER, True)
    assert rnd.notice_days == pytest.approx(3, abs=0.01)
    assert uow.tables.rounds[rnd.id].title == "Ideas" and uow.tables.wake_ups == 1
    [event] = uow.events
    assert isinstance(event, ConsultationScheduled)
    assert (event.round_id, event.notice_days_required, event.short_notice) == (rnd.id, 14, True)


@pytest.mark.parametrize(
    ("over", "rule", "field"),
    [
        ({"closes_at": "opens_at"}, "round_window", "closes_at"),
        ({"opens_at": -3, "closes_at": -1}, "round_window", "closes_at"),
        ({"kind": RoundKind.COMMITMENT_DRAFT}, "commitment_required", "commitment_id"),
        ({"commitment_id": "known"}, "commitment_refused", "commitment_id"),
    ],
)
async def test_a_round_request_is_refused_before_the_plan_is_looked_at(
    over: dict[str, object], rule: str, field: str
) -> None:
    uow, _, commitment_id = with_plan()
    cmd = schedule(uuid4())  # an unknown plan: the request's own faults come first
    values = dict(over)
    if values.get("closes_at") == "opens_at":
        values["closes_at"] = cmd.opens_at
    if "opens_at" in values:
        values = {"opens_at": now() + timedelta(days=-3), "closes_at": now() + timedelta(days=-1)}
    if values.get("commitment_id") == "known":
        values["commitment_id"] = commitment_id
    with pytest.raises(RuleViolation) as err:
        await rounds.schedule_round(uow, schedule(cmd.plan_id, **values))
    assert (err.value.rule, err.value.field) == (rule, field)
    assert uow.events == [] and uow.tables.rounds == {}


async def test_scheduling_is_refused_for_an_unknown_plan_another_member_or_a_closed_co_creation() -> None:
    uow, plan_id, _ = with_plan()
    with pytest.raises(NotFound) as missing:
        await rounds.schedule_round(uow, schedule(uuid4()))
    assert missing.value.message.startswith("plan ") and missing.value.message.endswith(" does not exist")
    with pytest.raises(Forbidden) as other:
        await rounds.schedule_round(uow, schedule(plan_id, who=OTHER_GOVERNMENT))
    assert other.value.message == f"you may not run the consultation of plan {plan_id}"
    closed, closed_plan, _ = with_plan(state="closed")
    with pytest.raises(RuleViolation) as shut:
        await rounds.schedule_round(closed, schedule(closed_plan))
    assert shut.value.rule == "co_creation_closed" and shut.value.field is None
    assert uow.events == [] and closed.events == []


async def test_a_commitment_round_names_a_commitment_of_the_plan() -> None:
    uow, plan_id, commitment_id = with_plan()
    unknown = uuid4()
    with pytest.raises(Invalid) as err:
        await rounds.schedule_round(
            uow, schedule(plan_id, kind=RoundKind.COMMITMENT_DRAFT, commitment_id=unknown)
        )
    assert err.value.errors == [("commitment_id", f"plan {plan_id} has no commitment {unknown}")]
    assert uow.events == []
    rnd = await rounds.schedule_round(
        uow, schedule(plan_id, kind=RoundKind.COMMITMENT_DRAFT, commitment_id=commitment_id)
    )
    assert rnd.commitment_id == commitment_id


# --- opening, closing, cancelling --------------------------------------------------------------


async def test_timers_open_and_close_due_rounds_once() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await scheduled_round(uow, plan_id)
    assert await rounds.open_due_rounds(uow, rounds.OpenDueRounds(10)) == 0
    uow.tables.rounds[rnd.id].opens_at = now() - timedelta(seconds=1)
    assert await rounds.open_due_rounds(uow, rounds.OpenDueRounds(10)) == 1
    assert await rounds.open_due_rounds(uow, rounds.OpenDueRounds(10)) == 0
    [opened] = uow.events
    assert isinstance(opened, ConsultationOpened) and opened.round_id == rnd.id
    uow.events.clear()

    await inputs.post_input(uow, _post(rnd.id))
    uow.events.clear()
    uow.tables.rounds[rnd.id].closes_at = now() - timedelta(seconds=1)
    assert await rounds.close_due_rounds(uow, rounds.CloseDueRounds(10, min_cell=5)) == 1
    assert await rounds.close_due_rounds(uow, rounds.CloseDueRounds(10, min_cell=5)) == 0
    closed, report = uow.events
    assert isinstance(closed, ConsultationClosed)
    assert (closed.reason, closed.submissions, closed.comments) == ("closed_on_schedule", 1, 0)
    assert isinstance(report, ParticipationReported) and (report.scope, report.round_id) == ("round", rnd.id)
    assert uow.tables.rounds[rnd.id].state is RoundState.CLOSED and uow.tables.reports == [report]


def _post(round_id: object) -> inputs.PostInput:
    return inputs.PostInput(
        who=person(1), round_id=round_id, kind=InputKind.SUBMISSION,  # type: ignore[arg-type]
        text=Text(None, "Publish all contracts"), limit=inputs.RateLimit(10, timedelta(minutes=1)),
        max_chars=1000,
    )  # fmt: skip


async def test_a_round_that_fails_is_rolled_back_alone() -> None:
    uow, plan_id, _ = with_plan()
    first = await scheduled_round(uow, plan_id)
    second = await scheduled_round(uow, plan_id)
    uow.tables.rounds[first.id].opens_at = now() - timedelta(minutes=2)
    uow.tables.rounds[second.id].opens_at = now() - timedelta(minutes=1)
    # Bad data: the first round's event cannot be built. It is logged and skipped; the other opens.
    uow.tables.rounds[first.id].kind = "not a kind"  # type: ignore[assignment]
    assert await rounds.open_due_rounds(uow, rounds.OpenDueRounds(10)) == 1
    assert [e.round_id for e in uow.events] == [second.id]  # type: ignore[attr-defined]
    assert uow.tables.rounds[first.id].state is RoundState.SCHEDULED


async def test_only_a_round_not_open_yet_can_be_cancelled() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await scheduled_round(uow, plan_id)
    with pytest.raises(Forbidden):
        await rounds.cancel_round(uow, rounds.CancelRound(OTHER_GOVERNMENT, rnd.id))
    with pytest.raises(NotFound):
        await rounds.cancel_round(uow, rounds.CancelRound(STAFF, uuid4()))
    assert uow.events == []
    cancelled = await rounds.cancel_round(uow, rounds.CancelRound(GOVERNMENT, rnd.id))
    assert (cancelled.state, cancelled.close_reason) == (RoundState.CANCELLED, "cancelled")
    [event] = uow.events  # no participation report for a round that never ran
    assert isinstance(event, ConsultationClosed) and event.reason == "cancelled"
    uow.events.clear()

    running = await open_round(uow, plan_id)
    with pytest.raises(RuleViolation) as err:
        await rounds.cancel_round(uow, rounds.CancelRound(STAFF, running.id))
    assert (err.value.rule, err.value.message) == ("round_transition", "a open round cannot become cancelled")
    assert uow.events == []


# --- offline events ------------------------------------------------------------------------------


def offline(round_id: object, **over: object) -> rounds.RecordOfflineEvent:
    values: dict[str, object] = {
        "who": GOVERNMENT, "round_id": round_id, "format": "workshop", "held_on": date(2025, 3, 1),
        "participants": 30, "by_sector": {Sector.CIVIL_SOCIETY: 20, Sector.GOVERNMENT: 5},
    }  # fmt: skip
    return rounds.RecordOfflineEvent(**(values | over))  # type: ignore[arg-type]


async def test_an_offline_event_is_recorded_and_published() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await scheduled_round(uow, plan_id)
    made = await rounds.record_offline_event(uow, offline(rnd.id))
    [event] = uow.events
    assert isinstance(event, OfflineEventRecorded)
    assert (event.offline_event_id, event.participants, event.plan_id) == (made.id, 30, plan_id)
    assert uow.tables.offline_events == [made]


async def test_offline_event_refusals() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await scheduled_round(uow, plan_id)
    with pytest.raises(Invalid) as counts:
        await rounds.record_offline_event(uow, offline(rnd.id, participants=10))
    assert counts.value.errors == [("by_sector", "the sectors count more people than took part")]
    with pytest.raises(RuleViolation) as future:
        await rounds.record_offline_event(uow, offline(rnd.id, held_on=now().date() + timedelta(days=2)))
    assert (future.value.rule, future.value.field) == ("date_in_future", "held_on")
    with pytest.raises(Forbidden):
        await rounds.record_offline_event(uow, offline(rnd.id, who=OTHER_GOVERNMENT))
    await rounds.cancel_round(uow, rounds.CancelRound(STAFF, rnd.id))
    uow.events.clear()
    with pytest.raises(RuleViolation) as cancelled:
        await rounds.record_offline_event(uow, offline(rnd.id))
    assert (cancelled.value.rule, cancelled.value.message) == ("round_cancelled", "the round was cancelled")
    assert uow.events == [] and uow.tables.offline_events == []


# --- co-creation (the plans service's events) -----------------------------------------------------


async def test_a_new_plan_opens_its_space_once() -> None:
    uow = FakeConsultationUnitOfWork()
    plan_id, at = uuid4(), now()
    await co_creation.open_co_creation(uow, co_creation.OpenCoCreation(plan_id, MEMBER, "Draft", at))
    await co_creation.open_co_creation(uow, co_creation.OpenCoCreation(plan_id, MEMBER, "Plan 2025", at))
    [event] = uow.events
    assert isinstance(event, CoCreationOpened) and (event.plan_id, event.opened_at) == (plan_id, at)
    assert uow.tables.spaces[plan_id].title == "Plan 2025"
    commitment = CommitmentSpace(uuid4(), plan_id, 1, "Open contracts", at)
    await co_creation.add_commitment(uow, commitment)
    await co_creation.add_commitment(uow, commitment)  # a replay
    assert list(uow.tables.commitments.values()) == [commitment]


async def test_submission_closes_open_rounds_cancels_scheduled_ones_and_reports_once() -> None:
    uow, plan_id, _ = with_plan()
    running = await open_round(uow, plan_id)
    later = await scheduled_round(uow, plan_id)
    cmd = co_creation.CloseCoCreation(plan_id, MEMBER, "Plan 2025", now(), min_cell=5)
    await co_creation.close_co_creation(uow, cmd)
    kinds = [type(e).__name__ for e in uow.events]
    assert kinds == [
        "ConsultationClosed",  # the open round, with its report
        "ParticipationReported",
        "ConsultationClosed",  # the scheduled one is cancelled: no report
        "CoCreationClosed",
        "ParticipationReported",  # the cycle's
    ]
    assert uow.tables.rounds[running.id].state is RoundState.CLOSED
    assert uow.tables.rounds[later.id].state is RoundState.CANCELLED
    closed = uow.of_type(CoCreationClosed)[0]
    assert closed.opened_at is not None and uow.tables.spaces[plan_id].state == "closed"
    assert uow.of_type(ParticipationReported)[-1].scope == "cycle"
    uow.events.clear()
    await co_creation.close_co_creation(uow, cmd)  # resubmitted, or replayed
    assert uow.events == []


async def test_a_plan_submitted_before_it_was_known_here_is_closed_without_opened_at() -> None:
    uow = FakeConsultationUnitOfWork()
    plan_id = uuid4()
    await co_creation.close_co_creation(uow, co_creation.CloseCoCreation(plan_id, MEMBER, "Plan", now(), 5))
    [closed, report] = uow.events
    assert isinstance(closed, CoCreationClosed) and closed.opened_at is None
    assert isinstance(report, ParticipationReported) and report.plan_id == plan_id


async def test_a_cycle_report_is_published_on_request_by_the_plans_government() -> None:
    uow, plan_id, _ = with_plan()
    with pytest.raises(Forbidden):
        await reports.publish_cycle_report(uow, reports.PublishCycleReport(OTHER_GOVERNMENT, plan_id, 5))
    with pytest.raises(NotFound):
        await reports.publish_cycle_report(uow, reports.PublishCycleReport(STAFF, uuid4(), 5))
    assert uow.events == []
    report = await reports.publish_cycle_report(uow, reports.PublishCycleReport(GOVERNMENT, plan_id, 5))
    assert uow.events == [report] and uow.tables.reports == [report]
