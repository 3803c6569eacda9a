"""Participation reports: stored and published with a round's closing, with a plan's submission,
or on request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.consultation.domain.common import Actor, check_acts_for
from services.consultation.domain.reports import participation_report
from services.consultation.store import ConsultationUnitOfWork
from shared.errors import NotFound
from shared.events.consultation import ParticipationReported


async def publish_report(
    uow: ConsultationUnitOfWork, *, min_cell: int, plan_id: UUID | None = None, round_id: UUID | None = None
) -> ParticipationReported:
    """Store the report of a round (``round_id``) or a plan's cycle (``plan_id``) as it is in this
    transaction, and publish it in the same one."""
    figures = await uow.reports.figures(min_cell=min_cell, plan_id=plan_id, round_id=round_id)
    report = participation_report(figures, datetime.now(UTC))
    await uow.reports.add(report)
    uow.publish(report)
    return report


@dataclass(frozen=True, slots=True)
class PublishCycleReport:
    who: Actor
    plan_id: UUID
    min_cell: int


async def publish_cycle_report(uow: ConsultationUnitOfWork, cmd: PublishCycleReport) -> ParticipationReported:
    """Publish the cycle's report now (it is also published when the plan is submitted), e.g.
    once the implementation-phase forum meetings have been held."""
    space = await uow.spaces.get(cmd.plan_id, lock="share")
    if space is None:
        raise NotFound(f"plan {cmd.plan_id}")
    check_acts_for(cmd.who, space.member_id, f"run the consultation of plan {cmd.plan_id}")
    return await publish_report(uow, min_cell=cmd.min_cell, plan_id=cmd.plan_id)
