"""The reviews' reactions to plans' events, against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from services.irm.reactions import reactions
from services.irm.settings import IrmSettings
from shared.events.base import Event
from shared.events.envelope import Received
from shared.events.irm import ReviewKind, ReviewScheduled
from shared.events.plans import PlanEnded, PlanState, PlanStateChanged, PlanSubmitted
from tests.fakes.irm import FakeIrmUnitOfWork

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


async def _react(uow: FakeIrmUnitOfWork, event: Event, **settings: object) -> None:
    received = Received(
        id=uuid4(), type=event.event_type, source="plans", subject=None, time=NOW, event=event, headers={}
    )
    handler = reactions(IrmSettings(**settings)).handlers[type(event)]  # type: ignore[arg-type]
    await handler(uow, received)  # type: ignore[arg-type]


def _kinds(uow: FakeIrmUnitOfWork) -> list[ReviewKind]:
    return sorted(r.kind for r in uow.reviews.by_id.values())


async def test_a_four_year_plan_submitted_opens_its_apr_and_midterm_once() -> None:
    uow = FakeIrmUnitOfWork()
    event = PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Plan", start_date=date(2024, 1, 1), end_date=date(2028, 1, 1),
        commitment_count=1, point_of_contact_id=uuid4(), submitted_at=NOW,
    )  # fmt: skip
    await _react(uow, event)
    await _react(uow, event)
    assert _kinds(uow) == sorted([ReviewKind.ACTION_PLAN_REVIEW, ReviewKind.MIDTERM_REVIEW])
    assert [type(e) for e in uow.events] == [ReviewScheduled, ReviewScheduled]


async def test_plan_ended_opens_the_results_report_with_its_own_period() -> None:
    uow = FakeIrmUnitOfWork()
    event = PlanEnded(plan_id=uuid4(), member_id=uuid4(), end_date=date(2025, 6, 30), ended_at=NOW)
    await _react(uow, event, results_report_due_months=6)
    [review] = uow.reviews.by_id.values()
    assert (review.kind, review.due_date) == (ReviewKind.RESULTS_REPORT, date(2025, 12, 30))


async def test_the_co_creation_brief_only_when_enabled() -> None:
    event = PlanStateChanged(
        plan_id=uuid4(), member_id=uuid4(), from_state=PlanState.DRAFT, to_state=PlanState.CO_CREATION,
        changed_at=NOW, changed_by="gov-1",
    )  # fmt: skip
    off = FakeIrmUnitOfWork()
    await _react(off, event)
    assert off.reviews.by_id == {}
    on = FakeIrmUnitOfWork()
    await _react(on, event, co_creation_brief_enabled=True, co_creation_brief_due_days=30)
    [review] = on.reviews.by_id.values()
    assert (review.kind, review.opened_on, review.due_date) == (
        ReviewKind.CO_CREATION_BRIEF, date(2025, 3, 1), date(2025, 3, 31),
    )  # fmt: skip
    other = FakeIrmUnitOfWork()
    submitted = event.model_copy(update={"to_state": PlanState.SUBMITTED})
    await _react(other, submitted, co_creation_brief_enabled=True)
    assert other.reviews.by_id == {}
