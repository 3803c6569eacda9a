"""Reactions that open reviews: the plans service's events start the IRM's clocks.

The findings part reacts to the same plan events (a member's cycles); the registry runs both in
the event's one unit of work.

Every reaction is safe to replay (one review of each kind per plan: a repeat stores and publishes
nothing), and an event about a plan the IRM has not seen is kept: what the review needs is taken
from the event's own fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import cast

from services.irm.domain.reviews import SubmittedPlan
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import reviews as use_cases
from shared.events.envelope import Received
from shared.events.plans import PlanEnded, PlanState, PlanStateChanged, PlanSubmitted
from shared.reactions import Reactions


def _submitted(event: PlanSubmitted) -> SubmittedPlan:
    return SubmittedPlan(
        plan_id=event.plan_id,
        member_id=event.member_id,
        title=event.title,
        start_date=event.start_date,
        end_date=event.end_date,
        submitted_at=event.submitted_at,
    )


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    @on.on_batch(PlanSubmitted)
    async def on_plans_submitted(uow: IrmUnitOfWork, run: Sequence[Received]) -> None:
        """Submission starts the Action Plan Review clock (and the midterm's, for a 4-year plan)."""
        await use_cases.schedule_on_submissions(uow, [
            use_cases.ScheduleOnSubmission(_submitted(cast(PlanSubmitted, r.event)), settings.apr_due_months,
                                           settings.midterm_due_months, cause=r)
            for r in run
        ])  # fmt: skip

    @on.on(PlanEnded)
    async def on_plan_ended(uow: IrmUnitOfWork, event: PlanEnded, received: Received) -> None:
        """The results report is due some months after the plan's end date."""
        await use_cases.schedule_results_report(
            uow,
            use_cases.ScheduleResultsReport(
                event.plan_id, event.member_id, event.end_date, settings.results_report_due_months
            ),
        )

    @on.on(PlanStateChanged)
    async def on_state_changed(uow: IrmUnitOfWork, event: PlanStateChanged, _: Received) -> None:
        await on_plan_state_changed(uow, event, settings)


async def on_plan_state_changed(uow: IrmUnitOfWork, event: PlanStateChanged, settings: IrmSettings) -> None:
    """The optional co-creation brief, when a plan enters co-creation (off by default)."""
    if not settings.co_creation_brief_enabled or event.to_state is not PlanState.CO_CREATION:
        return
    changed = event.changed_at if event.changed_at.tzinfo else event.changed_at.replace(tzinfo=UTC)
    await use_cases.schedule_co_creation_brief(
        uow,
        use_cases.ScheduleCoCreationBrief(
            event.plan_id,
            event.member_id,
            changed.astimezone(UTC).date(),
            settings.co_creation_brief_due_days,
        ),
    )
