"""The OGP deadlines the timers watch: which plans each one looks at, the calendar arithmetic of
its payload and the events that say a deadline passed. The scans themselves are set-based SQL
(``services/plans/timers.py``); what they find is turned into events here."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from dateutil.relativedelta import relativedelta

from shared.events.plans import MilestoneOverdue, NextPlanOverdue, PlanState, RepositoryStale


class TimerKind(StrEnum):
    """The ``kind`` of a ``timer_emissions`` row and the metric label."""

    MILESTONE_OVERDUE = "milestone_overdue"
    NEXT_PLAN_OVERDUE = "next_plan_overdue"
    REPOSITORY_STALE = "repository_stale"


#: Plans whose open milestones are expected to be delivered.
MILESTONE_PLAN_STATES = (PlanState.SUBMITTED, PlanState.IMPLEMENTING, PlanState.REFRESHING)
#: Plans that count as a member's "previous plan": they reached ``submitted``.
PREVIOUS_PLAN_STATES = (
    PlanState.SUBMITTED,
    PlanState.IMPLEMENTING,
    PlanState.REFRESHING,
    PlanState.ENDED,
    PlanState.CLOSED,
)
#: Plans whose public repository must be kept up to date.
REPOSITORY_PLAN_STATES = (
    PlanState.CO_CREATION,
    PlanState.SUBMITTED,
    PlanState.IMPLEMENTING,
    PlanState.REFRESHING,
    PlanState.ENDED,
)


def next_plan_due(previous_end: date, grace_months: int) -> date:
    """The day by which the next plan is expected: calendar months later, clamped to the month's
    end (31 Aug + 6 months = 28/29 Feb), like Postgres' ``date + interval``."""
    due: date = previous_end + relativedelta(months=grace_months)
    return due


def milestone_overdue(
    *,
    plan_id: UUID,
    commitment_id: UUID,
    milestone_id: UUID,
    member_id: UUID,
    number: int,
    end_date: date,
    now: datetime,
) -> MilestoneOverdue:
    return MilestoneOverdue(
        plan_id=plan_id,
        commitment_id=commitment_id,
        milestone_id=milestone_id,
        member_id=member_id,
        number=number,
        end_date=end_date,
        detected_at=now,
    )


def next_plan_overdue(
    *, member_id: UUID, previous_plan_id: UUID, previous_end: date, grace_months: int, now: datetime
) -> NextPlanOverdue:
    """The payload names the day the next plan was due (:func:`next_plan_due`)."""
    return NextPlanOverdue(
        member_id=member_id,
        previous_plan_id=previous_plan_id,
        previous_end_date=previous_end,
        due_date=next_plan_due(previous_end, grace_months),
        detected_at=now,
    )


def repository_stale(
    *,
    plan_id: UUID,
    member_id: UUID,
    period_start: date,
    period_end: date,
    updates: int,
    now: datetime,
) -> RepositoryStale:
    return RepositoryStale(
        plan_id=plan_id,
        member_id=member_id,
        period_start=period_start,
        period_end=period_end,
        updates_in_period=updates,
        detected_at=now,
    )
