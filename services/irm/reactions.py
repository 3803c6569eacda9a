"""The IRM's reactions to other services' events, by event type."""

from __future__ import annotations

from services.irm import use_cases
from services.irm.domain import SubmittedPlan
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from shared.events.envelope import Received
from shared.events.plans import PlanSubmitted
from shared.reactions import Reactions


def reactions(settings: IrmSettings) -> Reactions[IrmUnitOfWork]:
    on = Reactions[IrmUnitOfWork]()

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

    return on
