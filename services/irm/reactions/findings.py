"""Reactions of the IRM's findings: the member's cycles from plans' plan events, and plans' timer
finding no new plan.

The registry takes one reaction per event type, and ``PlanSubmitted``, ``PlanEnded`` and
``PlanStateChanged`` are the reviews part's (its clocks). The findings' reactions to submission
and end are therefore the plain functions :func:`on_plan_submitted` and :func:`on_plan_ended`,
for the one reaction of each type to call as well (same unit of work); until it does, a
``no_new_plan`` procedural review is not lifted by a new plan's submission.
"""

from __future__ import annotations

from services.irm.domain.findings import KnownPlan
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import findings as use_cases
from shared.events.envelope import Received
from shared.events.plans import NextPlanOverdue, PlanCreated, PlanEnded, PlanSubmitted
from shared.reactions import Reactions


async def on_plan_submitted(uow: IrmUnitOfWork, e: PlanSubmitted, _: Received | None = None) -> None:
    """A cycle's plan submitted: it may remedy the member's ``no_new_plan`` procedural review."""
    await use_cases.learn_plan(
        uow, KnownPlan(e.plan_id, e.member_id, e.start_date, e.end_date, submitted_at=e.submitted_at)
    )


async def on_plan_ended(uow: IrmUnitOfWork, e: PlanEnded, _: Received | None = None) -> None:
    await use_cases.learn_plan(
        uow, KnownPlan(e.plan_id, e.member_id, end_date=e.end_date, ended_at=e.ended_at)
    )


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    @on.on(PlanCreated)
    async def on_plan_created(uow: IrmUnitOfWork, e: PlanCreated, _: Received) -> None:
        """A new cycle of the member, placed by its start date."""
        await use_cases.learn_plan(
            uow, KnownPlan(e.plan_id, e.member_id, e.start_date, e.end_date, created_at=e.created_at)
        )

    @on.on(NextPlanOverdue)
    async def on_next_plan_overdue(uow: IrmUnitOfWork, e: NextPlanOverdue, _: Received) -> None:
        """No new plan twelve months after the previous one ended: acting contrary to process."""
        await use_cases.record_overdue(
            uow,
            use_cases.RecordOverdue(e.member_id, e.previous_plan_id, e.previous_end_date, e.detected_at),
        )
