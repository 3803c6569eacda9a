"""Use cases on commitments: adding, editing (by a government or a staff correction), moving
along their state machine, the self-assessment and the IRM's assessments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.plans.domain.commitments import Columns, Commitment, check_withdrawal_reason
from services.plans.domain.milestones import commitment_progress
from services.plans.domain.plans import Plan, editable_commitments
from services.plans.store.protocols import PlansUnitOfWork
from services.plans.use_cases._common import actor_id, plan_for_edit
from shared.auth import Principal
from shared.errors import NotFound
from shared.events.plans import CommitmentState, EvidenceLink, SelfAssessedCompletion, SelfAssessmentRecorded


@dataclass(frozen=True, slots=True)
class AddCommitment:
    """``columns`` uses column names (``texts`` holds the title, ``value_*`` the values)."""

    who: Principal
    plan_id: UUID
    columns: Columns
    source_key: str | None = None


async def add_commitment(uow: PlansUnitOfWork, cmd: AddCommitment) -> Commitment:
    plan = await plan_for_edit(uow, cmd.who, cmd.plan_id)
    plan.check_commitments_open()
    commitment = Commitment.draft(
        plan_id=plan.id, member_id=plan.member_id, columns=cmd.columns, source_key=cmd.source_key
    )
    await uow.commitments.add(commitment, by=actor_id(cmd.who))
    for event in commitment.added(datetime.now(UTC)):
        uow.publish(event)
    return commitment


async def _editable(uow: PlansUnitOfWork, who: Principal, commitment_id: UUID) -> tuple[Plan, Commitment]:
    """The commitment's plan locked (plan first, then the commitment: the order every change
    takes), and the commitment read under that lock."""
    found = await uow.commitments.get(commitment_id)
    if found is None:
        raise NotFound(f"commitment {commitment_id}")
    plan = await plan_for_edit(uow, who, found.plan_id)
    commitment = await uow.commitments.get(commitment_id, for_update=True)
    assert commitment is not None
    return plan, commitment


@dataclass(frozen=True, slots=True)
class UpdateCommitment:
    who: Principal
    commitment_id: UUID
    columns: Columns
    expected_version: int | None = None


async def update_commitment(uow: PlansUnitOfWork, cmd: UpdateCommitment) -> Commitment:
    """A government's edit: while the plan's commitments are open; every change in the history."""
    plan, commitment = await _editable(uow, cmd.who, cmd.commitment_id)
    commitment.check_version(cmd.expected_version)
    commitment.check_editable(editable_commitments(plan.state), plan.state.value)
    values = commitment.edit_values(cmd.columns)
    return await _revise(uow, commitment, values, by=actor_id(cmd.who), action="updated")


@dataclass(frozen=True, slots=True)
class CorrectCommitment:
    """A staff correction (the import): the columns as they should be, whatever the plan's state.
    The caller holds the plan's lock."""

    commitment_id: UUID
    columns: Columns
    by: str
    action: str = "imported"


async def correct_commitment(uow: PlansUnitOfWork, cmd: CorrectCommitment) -> Commitment | None:
    """Set the columns that differ, with one history row and one ``CommitmentUpdated``; None when
    nothing differs (nothing written, nothing published)."""
    commitment = await uow.commitments.get(cmd.commitment_id, for_update=True)
    if commitment is None:
        raise NotFound(f"commitment {cmd.commitment_id}")
    before = commitment.version
    revised = await _revise(uow, commitment, cmd.columns, by=cmd.by, action=cmd.action)
    return revised if revised.version != before else None


async def _revise(
    uow: PlansUnitOfWork, commitment: Commitment, values: Columns, *, by: str, action: str
) -> Commitment:
    changes, events = commitment.revise(values, by=by, now=datetime.now(UTC))
    if not changes:
        return commitment
    await uow.commitments.save_changes(commitment, changes, by=by, action=action)
    for event in events:
        uow.publish(event)
    return commitment


@dataclass(frozen=True, slots=True)
class TransitionCommitment:
    who: Principal
    commitment_id: UUID
    to: CommitmentState
    reason: str | None = None


async def transition_commitment(uow: PlansUnitOfWork, cmd: TransitionCommitment) -> Commitment:
    check_withdrawal_reason(cmd.to, cmd.reason)
    _, commitment = await _editable(uow, cmd.who, cmd.commitment_id)
    history, events = commitment.transition(
        cmd.to, by=actor_id(cmd.who), now=datetime.now(UTC), reason=cmd.reason
    )
    await uow.commitments.save_state(commitment, history, by=actor_id(cmd.who))
    for event in events:
        uow.publish(event)
    commitment.progress = await refresh_progress(uow, commitment.id)
    return commitment


async def refresh_progress(uow: PlansUnitOfWork, commitment_id: UUID) -> float:
    """The commitment's progress rolled up from its milestones, stored."""
    progress = commitment_progress(await uow.milestones.of_commitment(commitment_id))
    await uow.commitments.set_progress(commitment_id, progress)
    return progress


@dataclass(frozen=True, slots=True)
class RecordSelfAssessment:
    who: Principal
    commitment_id: UUID
    completion: SelfAssessedCompletion
    evidence: list[EvidenceLink] = field(default_factory=list)
    note: str | None = None


async def record_self_assessment(uow: PlansUnitOfWork, cmd: RecordSelfAssessment) -> dict[str, Any]:
    """The government's end-of-term self-assessment; returns it as stored."""
    commitment = await uow.commitments.get(cmd.commitment_id)
    if commitment is None:
        raise NotFound(f"commitment {cmd.commitment_id}")
    plan = await plan_for_edit(uow, cmd.who, commitment.plan_id)
    plan.check_self_assessment_open()
    now = datetime.now(UTC)
    value = {
        "completion": cmd.completion.value,
        "evidence": [e.model_dump() for e in cmd.evidence],
        "note": cmd.note,
        "recorded_at": now.isoformat(),
        "recorded_by": actor_id(cmd.who),
    }
    commitment.self_assessment = value
    await uow.commitments.save_self_assessment(commitment, value, by=actor_id(cmd.who))
    uow.publish(
        SelfAssessmentRecorded(
            plan_id=commitment.plan_id,
            commitment_id=commitment.id,
            member_id=commitment.member_id,
            completion=cmd.completion,
            evidence=cmd.evidence,
            recorded_at=now,
        )
    )
    return value


@dataclass(frozen=True, slots=True)
class RecordIrmAssessment:
    commitment_id: UUID
    product: str
    block: dict[str, Any]


async def record_irm_assessment(uow: PlansUnitOfWork, cmd: RecordIrmAssessment) -> None:
    """The IRM block of the commitment, one entry per IRM product (APR, results report...)."""
    await uow.commitments.add_irm_assessment(cmd.commitment_id, cmd.product, cmd.block)
