"""Use cases on milestones: adding them and reporting their progress, which rolls up by weight to
the commitment and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

from services.plans.domain.milestones import Milestone
from services.plans.store.protocols import PlansUnitOfWork
from services.plans.use_cases._common import actor_id, plan_for_edit
from services.plans.use_cases.commitments import refresh_progress
from shared.auth import Principal
from shared.errors import NotFound
from shared.events.plans import EvidenceLink, MilestoneStatus


@dataclass(frozen=True, slots=True)
class MilestoneText:
    """A text given as one string (in the commitment's original language) or per language."""

    value: str | dict[str, str]

    def localized(self, language: str) -> dict[str, str]:
        return dict(self.value) if isinstance(self.value, dict) else {language: self.value}


@dataclass(frozen=True, slots=True)
class AddMilestone:
    who: Principal
    commitment_id: UUID
    title: MilestoneText
    deliverable: MilestoneText | None = None
    start_date: date | None = None
    end_date: date | None = None
    responsible: str | None = None
    weight: float = 1.0


async def add_milestone(uow: PlansUnitOfWork, cmd: AddMilestone) -> Milestone:
    commitment = await uow.commitments.get(cmd.commitment_id)
    if commitment is None:
        raise NotFound(f"commitment {cmd.commitment_id}")
    plan = await plan_for_edit(uow, cmd.who, commitment.plan_id)
    plan.check_commitments_open("milestones")
    lang = commitment.original_language
    texts = {"title": cmd.title.localized(lang)}
    if cmd.deliverable is not None:
        texts["deliverable"] = cmd.deliverable.localized(lang)
    milestone = Milestone.plan(
        commitment,
        texts=texts,
        start_date=cmd.start_date,
        end_date=cmd.end_date,
        responsible=cmd.responsible,
        weight=cmd.weight,
    )
    await uow.milestones.add(milestone)
    for event in milestone.added(plan.member_id, datetime.now(UTC)):
        uow.publish(event)
    await refresh_progress(uow, commitment.id)
    return milestone


@dataclass(frozen=True, slots=True)
class ReportProgress:
    who: Principal
    milestone_id: UUID
    status: MilestoneStatus
    #: None: keep the milestone's current progress (a bulk report that gives only a status).
    progress: int | None
    note: str | None = None
    evidence: list[EvidenceLink] = field(default_factory=list)
    end_date: date | None = None


async def report_progress(uow: PlansUnitOfWork, cmd: ReportProgress) -> Milestone:
    """Record one progress report (HTTP or bulk CSV) and its events."""
    found = await uow.milestones.get(cmd.milestone_id)
    if found is None:
        raise NotFound(f"milestone {cmd.milestone_id}")
    plan = await plan_for_edit(uow, cmd.who, found.plan_id)
    milestone = await uow.milestones.get(cmd.milestone_id)  # as it is under the plan's lock
    assert milestone is not None
    plan.check_progress_open()
    now = datetime.now(UTC)
    report = milestone.report(
        status=cmd.status,
        progress=milestone.progress if cmd.progress is None else cmd.progress,
        note=cmd.note,
        evidence=cmd.evidence,
        end_date=cmd.end_date,
        by=actor_id(cmd.who),
        now=now,
    )
    await uow.milestones.save_report(milestone, report)
    commitment_progress = await refresh_progress(uow, milestone.commitment_id)
    plan_progress = await uow.plans.progress(plan.id)
    for event in milestone.reported(
        report, member_id=plan.member_id, commitment_progress=commitment_progress, plan_progress=plan_progress
    ):
        uow.publish(event)
    return milestone
