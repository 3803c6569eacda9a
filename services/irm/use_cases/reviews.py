"""Use cases of reviews: scheduling, research, drafts, comments, publication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.irm.domain.reviews import Review, SubmittedPlan
from services.irm.store import IrmUnitOfWork


@dataclass(frozen=True, slots=True)
class ScheduleActionPlanReview:
    plan: SubmittedPlan
    due_months: int = 4


async def schedule_action_plan_review(uow: IrmUnitOfWork, cmd: ScheduleActionPlanReview) -> Review:
    review, events = Review.action_plan_review(cmd.plan, due_months=cmd.due_months, now=datetime.now(UTC))
    await uow.reviews.add_with_plan(review, cmd.plan)
    for event in events:
        uow.publish(event)
    return review
