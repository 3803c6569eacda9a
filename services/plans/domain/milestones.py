"""Milestones of a commitment: their status machine, progress reports, and how progress rolls up
by weight to the commitment (and from commitments to the plan)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from services.plans.domain.commitments import Commitment, check_dates
from shared.errors import RuleViolation
from shared.events.base import Event
from shared.events.plans import (
    EvidenceLink,
    MilestoneAdded,
    MilestoneCancelled,
    MilestoneCompleted,
    MilestoneDelayed,
    MilestoneProgressUpdated,
    MilestoneStatus,
)

MILESTONE_TRANSITIONS: dict[MilestoneStatus, frozenset[MilestoneStatus]] = {
    MilestoneStatus.NOT_STARTED: frozenset(
        {
            MilestoneStatus.IN_PROGRESS,
            MilestoneStatus.COMPLETED,
            MilestoneStatus.DELAYED,
            MilestoneStatus.CANCELLED,
        }
    ),
    MilestoneStatus.IN_PROGRESS: frozenset(
        {
            MilestoneStatus.IN_PROGRESS,
            MilestoneStatus.COMPLETED,
            MilestoneStatus.DELAYED,
            MilestoneStatus.CANCELLED,
        }
    ),
    MilestoneStatus.DELAYED: frozenset(
        {
            MilestoneStatus.IN_PROGRESS,
            MilestoneStatus.DELAYED,
            MilestoneStatus.COMPLETED,
            MilestoneStatus.CANCELLED,
        }
    ),
    MilestoneStatus.COMPLETED: frozenset(),
    MilestoneStatus.CANCELLED: frozenset(),
}


def check_milestone_update(current: MilestoneStatus, target: MilestoneStatus, progress: int) -> int:
    """Validate a progress report and return the progress to store (completed means 100)."""
    if target not in MILESTONE_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in MILESTONE_TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "milestone.transition_not_allowed",
            f"a milestone {current.value} cannot become {target.value} (allowed: {allowed})",
            "status",
        )
    if not 0 <= progress <= 100:
        raise RuleViolation("milestone.progress_range", "progress is a percentage, 0 to 100", "progress")
    if target is MilestoneStatus.COMPLETED:
        return 100
    if progress == 100:
        raise RuleViolation(
            "milestone.progress_complete", "100% progress means the milestone is completed", "progress"
        )
    return progress


@dataclass(frozen=True, slots=True)
class WeightedProgress:
    weight: float
    progress: float
    counted: bool = True  # cancelled milestones and withdrawn commitments do not count


def roll_up(parts: Iterable[WeightedProgress]) -> float:
    """Weighted mean of the parts that count, 0 when none does; rounded to 0.1."""
    counted = [p for p in parts if p.counted and p.weight > 0]
    total = sum(p.weight for p in counted)
    if total == 0:
        return 0.0
    return round(sum(p.weight * p.progress for p in counted) / total, 1)


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """One progress report, as ``milestone_updates`` keeps it."""

    milestone_id: UUID
    by: str
    status: MilestoneStatus
    progress: int
    note: str | None
    evidence: list[EvidenceLink]
    at: datetime
    previous: MilestoneStatus  # the milestone's status before the report


@dataclass(slots=True)
class Milestone:
    id: UUID
    commitment_id: UUID
    plan_id: UUID
    number: int
    texts: dict[str, dict[str, str]]
    start_date: date | None
    end_date: date | None
    responsible: str | None
    weight: float = 1.0
    status: MilestoneStatus = MilestoneStatus.NOT_STARTED
    progress: int = 0
    completed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def plan(
        cls,
        commitment: Commitment,
        *,
        texts: dict[str, dict[str, str]],
        start_date: date | None,
        end_date: date | None,
        responsible: str | None,
        weight: float,
    ) -> Milestone:
        """A new milestone of ``commitment``; the store numbers it."""
        check_dates(start_date, end_date)
        return cls(
            id=uuid4(),
            commitment_id=commitment.id,
            plan_id=commitment.plan_id,
            number=0,
            texts=texts,
            start_date=start_date,
            end_date=end_date,
            responsible=responsible,
            weight=weight,
        )

    def added(self, member_id: UUID, now: datetime) -> list[Event]:
        return [
            MilestoneAdded(
                plan_id=self.plan_id,
                commitment_id=self.commitment_id,
                milestone_id=self.id,
                member_id=member_id,
                number=self.number,
                title=self.texts.get("title", {}),
                start_date=self.start_date,
                end_date=self.end_date,
                weight=float(self.weight),
                added_at=now,
            )
        ]

    def report(
        self,
        *,
        status: MilestoneStatus,
        progress: int,
        note: str | None,
        evidence: list[EvidenceLink],
        end_date: date | None,
        by: str,
        now: datetime,
    ) -> ProgressReport:
        """Record a report on the milestone (checked by :func:`check_milestone_update`)."""
        previous = self.status
        stored = check_milestone_update(previous, status, progress)
        self.status, self.progress = status, stored
        self.end_date = end_date or self.end_date
        self.updated_at = now
        if status is MilestoneStatus.COMPLETED:
            self.completed_at = now
        return ProgressReport(self.id, by, status, stored, note, evidence, now, previous)

    def reported(
        self,
        report: ProgressReport,
        *,
        member_id: UUID,
        commitment_progress: float,
        plan_progress: float,
    ) -> list[Event]:
        """The events of a report once the progress rolled up: the update, then completed,
        delayed (only when it was not delayed already) or cancelled."""
        base: dict[str, Any] = dict(
            plan_id=self.plan_id,
            commitment_id=self.commitment_id,
            milestone_id=self.id,
            member_id=member_id,
            number=self.number,
        )
        events: list[Event] = [
            MilestoneProgressUpdated(
                status=report.status,
                progress=report.progress,
                evidence=report.evidence,
                commitment_progress=commitment_progress,
                plan_progress=plan_progress,
                updated_at=report.at,
                updated_by=report.by,
                **base,
            )
        ]
        if report.status is MilestoneStatus.COMPLETED:
            events.append(MilestoneCompleted(completed_at=report.at, evidence=report.evidence, **base))
        elif report.status is MilestoneStatus.DELAYED and report.previous is not MilestoneStatus.DELAYED:
            events.append(MilestoneDelayed(end_date=self.end_date, delayed_at=report.at, **base))
        elif report.status is MilestoneStatus.CANCELLED:
            events.append(MilestoneCancelled(cancelled_at=report.at, **base))
        return events

    def weighted(self) -> WeightedProgress:
        return WeightedProgress(
            float(self.weight), float(self.progress), self.status is not MilestoneStatus.CANCELLED
        )


def commitment_progress(milestones: Iterable[Milestone]) -> float:
    """A commitment's progress: its milestones' weighted mean (cancelled ones do not count)."""
    return roll_up(m.weighted() for m in milestones)
