"""Reactions of the IRM's assessments: what the IRM keeps of plans' commitments.

From plans' events, per commitment: its plan, number and title (added, updated, withdrawn) and
what pre-fills its completion: the government's self-assessment, and the weighted milestone
progress that plans rolls up on every report (``MilestoneProgressUpdated`` carries it; the
``MilestoneCompleted`` or ``MilestoneCancelled`` that may follow it in the same transaction adds
nothing the roll-up does not already say, so they are not consumed). Every fact is kept with the
time of its event and only replaced by a newer one: replays change nothing. Commitments of plans
the IRM has not seen submitted are kept too.
"""

from __future__ import annotations

from datetime import datetime

from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.store.assessments import CommitmentFacts
from services.irm.use_cases import assessments as use_cases
from shared.events.envelope import Received
from shared.events.plans import (
    CommitmentAdded,
    CommitmentSnapshot,
    CommitmentUpdated,
    CommitmentWithdrawn,
    MilestoneProgressUpdated,
    SelfAssessmentRecorded,
)
from shared.reactions import Reactions


def _title(snapshot: CommitmentSnapshot) -> str:
    return snapshot.title.get(snapshot.original_language) or next(iter(snapshot.title.values()), "")


def _facts(snapshot: CommitmentSnapshot, at: datetime) -> CommitmentFacts:
    return CommitmentFacts(
        snapshot.commitment_id, snapshot.plan_id, snapshot.member_id, snapshot.number, _title(snapshot), at
    )


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    @on.on(CommitmentAdded)
    async def on_commitment_added(uow: IrmUnitOfWork, e: CommitmentAdded, _: Received) -> None:
        await use_cases.learn_commitment(
            uow, CommitmentFacts(e.commitment_id, e.plan_id, e.member_id, e.number, e.title, e.added_at)
        )

    @on.on(CommitmentUpdated)
    async def on_commitment_updated(uow: IrmUnitOfWork, e: CommitmentUpdated, _: Received) -> None:
        await use_cases.learn_commitment(uow, _facts(e.commitment, e.changed_at))

    @on.on(CommitmentWithdrawn)
    async def on_commitment_withdrawn(uow: IrmUnitOfWork, e: CommitmentWithdrawn, _: Received) -> None:
        await use_cases.learn_withdrawal(uow, _facts(e.commitment, e.changed_at), e.reason)

    @on.on(SelfAssessmentRecorded)
    async def on_self_assessment(uow: IrmUnitOfWork, e: SelfAssessmentRecorded, _: Received) -> None:
        await use_cases.learn_self_assessment(
            uow,
            use_cases.SelfAssessment(e.commitment_id, e.plan_id, e.member_id, e.completion, e.recorded_at),
        )

    @on.on(MilestoneProgressUpdated)
    async def on_progress(uow: IrmUnitOfWork, e: MilestoneProgressUpdated, _: Received) -> None:
        await use_cases.learn_progress(
            uow,
            use_cases.Progress(e.commitment_id, e.plan_id, e.member_id, e.commitment_progress, e.updated_at),
        )
