"""IRM use cases against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import uuid4

from services.irm.domain.reviews import SubmittedPlan
from services.irm.use_cases import reviews as use_cases
from shared.events.irm import ReviewKind, ReviewScheduled
from tests.fakes.irm import FakeIrmUnitOfWork


def _plan(submitted_at: datetime) -> SubmittedPlan:
    return SubmittedPlan(
        plan_id=uuid4(),
        member_id=uuid4(),
        title="Plan 2025",
        start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1),
        submitted_at=submitted_at,
    )


async def test_submission_schedules_an_action_plan_review_due_four_months_later() -> None:
    uow = FakeIrmUnitOfWork()
    plan = _plan(datetime(2025, 10, 31, 22, 0, tzinfo=UTC))

    review = await use_cases.schedule_action_plan_review(uow, use_cases.ScheduleActionPlanReview(plan))

    assert review.kind is ReviewKind.ACTION_PLAN_REVIEW
    assert review.state == "scheduled"
    assert (review.opened_on, review.due_date) == (date(2025, 10, 31), date(2026, 2, 28))
    assert uow.reviews.by_id == {review.id: review}
    [event] = uow.events
    assert isinstance(event, ReviewScheduled)
    assert (event.review_id, event.plan_id, event.due_date) == (review.id, plan.plan_id, date(2026, 2, 28))


async def test_the_opening_day_is_the_utc_day_of_submission() -> None:
    uow = FakeIrmUnitOfWork()
    # 23:30 in UTC-5 is already the next day in UTC.
    late = datetime(2025, 1, 14, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    review = await use_cases.schedule_action_plan_review(
        uow, use_cases.ScheduleActionPlanReview(_plan(late), due_months=6)
    )
    assert (review.opened_on, review.due_date) == (date(2025, 1, 15), date(2025, 7, 15))
