"""Reactions of the IRM's findings: the member's cycles from plans' plan events, and plans' timer
finding no new plan. The reviews part reacts to the same plan events (its clocks); the registry
runs both in the event's one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from services.irm.domain.findings import KnownPlan
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import findings as use_cases
from shared.events.envelope import Received
from shared.events.plans import NextPlanOverdue, PlanCreated, PlanEnded, PlanSubmitted
from shared.reactions import Reactions


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    @on.on_batch(PlanSubmitted)
    async def on_plans_submitted(uow: IrmUnitOfWork, run: Sequence[Received]) -> None:
        """A cycle's plan submitted: it may remedy the member's ``no_new_plan`` procedural review."""
        submitted = [cast(PlanSubmitted, r.event) for r in run]
        await use_cases.learn_plans(uow, [
            KnownPlan(e.plan_id, e.member_id, e.start_date, e.end_date, submitted_at=e.submitted_at)
            for e in submitted
        ])  # fmt: skip

    @on.on(PlanEnded)
    async def on_plan_ended(uow: IrmUnitOfWork, e: PlanEnded, _: Received) -> None:
        await use_cases.learn_plan(
            uow, KnownPlan(e.plan_id, e.member_id, end_date=e.end_date, ended_at=e.ended_at)
        )

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
