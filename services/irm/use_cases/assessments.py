"""Use cases of assessments: knowing plans' commitments (and what pre-fills their completion),
and coding a commitment within a review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.irm.domain.assessments import (
    Assessment,
    Codes,
    check_review_open,
    completion_from_self_assessment,
)
from services.irm.store import IrmUnitOfWork
from services.irm.store.assessments import CommitmentFacts
from services.irm.use_cases._common import check_irm_or_assigned, review_of
from shared.auth import Principal
from shared.errors import NotFound, RuleViolation
from shared.events.irm import CommitmentAssessed
from shared.events.plans import SelfAssessedCompletion
from shared.scales import CURRENT, ScaleVersion

# --- what the IRM knows of commitments (from plans' events) ---------------------------------------


async def learn_commitment(uow: IrmUnitOfWork, facts: CommitmentFacts) -> None:
    await uow.assessments.learn_commitment(facts)


async def learn_withdrawal(uow: IrmUnitOfWork, facts: CommitmentFacts, reason: str) -> None:
    await uow.assessments.record_withdrawal(facts, reason)


@dataclass(frozen=True, slots=True)
class SelfAssessment:
    commitment_id: UUID
    plan_id: UUID
    member_id: UUID
    completion: SelfAssessedCompletion
    at: datetime


async def learn_self_assessment(uow: IrmUnitOfWork, cmd: SelfAssessment) -> None:
    await uow.assessments.record_self_assessment(
        cmd.commitment_id, cmd.plan_id, cmd.member_id, completion_from_self_assessment(cmd.completion), cmd.at
    )


@dataclass(frozen=True, slots=True)
class Progress:
    commitment_id: UUID
    plan_id: UUID
    member_id: UUID
    progress: float
    at: datetime


async def learn_progress(uow: IrmUnitOfWork, cmd: Progress) -> None:
    await uow.assessments.record_progress(cmd.commitment_id, cmd.plan_id, cmd.member_id, cmd.progress, cmd.at)


# --- coding -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssessCommitment:
    review_id: UUID
    commitment_id: UUID
    codes: Codes
    who: Principal
    #: The scale version of a new assessment (the current one unless history is entered).
    scale_version: ScaleVersion | None = None
    report_year: int | None = None


async def assess_commitment(uow: IrmUnitOfWork, cmd: AssessCommitment) -> CommitmentAssessed:
    review = await review_of(uow, cmd.review_id)
    await check_irm_or_assigned(
        uow, review, cmd.who, "only the review's assigned researcher or IRM staff code its commitments"
    )
    check_review_open(review.kind, review.state)
    commitment = await uow.assessments.commitment(cmd.commitment_id)
    if commitment is None or commitment.plan_id != review.plan_id:
        raise NotFound(f"commitment {cmd.commitment_id} of the reviewed plan")
    assessment = await uow.assessments.get(review.id, commitment.commitment_id, for_update=True)
    if assessment is None:
        assessment = Assessment(
            review_id=review.id,
            plan_id=review.plan_id,
            member_id=review.member_id,
            commitment_id=commitment.commitment_id,
            product=review.kind,
            scale_version=cmd.scale_version or CURRENT,
        )
    elif cmd.scale_version is not None and cmd.scale_version is not assessment.scale_version:
        raise RuleViolation(
            "assessment.scale_version_fixed",
            f"this assessment is coded on {assessment.scale_version.value}",
            "scale_version",
        )
    event = assessment.code(
        cmd.codes,
        prefilled=commitment.prefilled_completion,
        by=cmd.who.subject,
        now=datetime.now(UTC),
        report_year=cmd.report_year,
    )
    await uow.assessments.save(assessment)
    uow.publish(event)
    return event
