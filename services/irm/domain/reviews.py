"""Reviews: the IRM products' deadlines and the Review aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from dateutil.relativedelta import relativedelta

from shared.events.base import Event
from shared.events.irm import ReviewKind, ReviewScheduled


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (31 Oct + 4 months = 28/29 Feb): the way
    OGP counts its "four months after submission"."""
    result: date = day + relativedelta(months=months)
    return result


def action_plan_review_due(submitted_on: date, months: int = 4) -> date:
    return add_months(submitted_on, months)


@dataclass(frozen=True, slots=True)
class SubmittedPlan:
    """What the IRM keeps of a plan it reviews (learned from ``PlanSubmitted``)."""

    plan_id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    submitted_at: datetime


@dataclass(slots=True)
class Review:
    """One IRM product for one plan, with its deadline."""

    id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind
    state: str
    opened_on: date
    due_date: date
    scheduled_at: datetime

    @classmethod
    def action_plan_review(
        cls, plan: SubmittedPlan, *, due_months: int, now: datetime
    ) -> tuple[Review, list[Event]]:
        """Submission starts the Action Plan Review clock: due ``due_months`` calendar months
        after the day the plan was submitted (UTC)."""
        opened_on = plan.submitted_at.astimezone(UTC).date()
        review = cls(
            id=uuid4(),
            plan_id=plan.plan_id,
            member_id=plan.member_id,
            kind=ReviewKind.ACTION_PLAN_REVIEW,
            state="scheduled",
            opened_on=opened_on,
            due_date=action_plan_review_due(opened_on, due_months),
            scheduled_at=now,
        )
        return review, [review.scheduled_event()]

    def scheduled_event(self) -> ReviewScheduled:
        return ReviewScheduled(
            review_id=self.id,
            plan_id=self.plan_id,
            member_id=self.member_id,
            kind=self.kind,
            due_date=self.due_date,
            scheduled_at=self.scheduled_at,
        )
