"""Reactions that open and move reviews."""

from __future__ import annotations

from services.irm.domain.reviews import SubmittedPlan
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import reviews as use_cases
from shared.events.envelope import Received
from shared.events.plans import PlanSubmitted
from shared.reactions import Reactions


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    @on.on(PlanSubmitted)
    async def on_plan_submitted(uow: IrmUnitOfWork, event: PlanSubmitted, _: Received) -> None:
        """Submission starts the Action Plan Review clock."""
        plan = SubmittedPlan(
            plan_id=event.plan_id,
            member_id=event.member_id,
            title=event.title,
            start_date=event.start_date,
            end_date=event.end_date,
            submitted_at=event.submitted_at,
        )
        await use_cases.schedule_action_plan_review(
            uow, use_cases.ScheduleActionPlanReview(plan, due_months=settings.apr_due_months)
        )
