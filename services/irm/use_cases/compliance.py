"""Use cases of compliance with the co-creation standards (rules in
:mod:`services.irm.domain.compliance`).

Reactions call :func:`learn_fact` for every consultation and plans event a standard needs; the
review's assigned researcher or IRM staff read the pre-filled compliance (:func:`compliance_of`)
and confirm or override a requirement (:func:`decide`); publishing a review calls
:func:`fix_on_publish` in the publication's unit of work: the compliance is frozen,
``ComplianceAssessed`` published, and the findings follow (the co-creation minimum not met, no
progress on any commitment) through :func:`services.irm.use_cases.findings.record_finding`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from services.irm.domain import compliance as rules
from services.irm.domain.compliance import Compliance, Fact, Requirement
from services.irm.domain.findings import FindingReason, FindingSource, KnownPlan
from services.irm.domain.reviews import Review
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import findings
from services.irm.use_cases._common import check_irm_or_assigned, is_assigned_researcher, review_of
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound
from shared.events.irm import ComplianceStatus, ReviewKind, ReviewState

# --- facts (reactions) ------------------------------------------------------------------------


async def learn_fact(uow: IrmUnitOfWork, fact: Fact) -> bool:
    """Keep what an event said; False for a replay (nothing changes)."""
    return await uow.compliance.keep(fact)


# --- who may see and decide ---------------------------------------------------------------------


async def _judge(uow: IrmUnitOfWork, review: Review, as_of: date) -> Compliance:
    return rules.judge(
        review_id=review.id,
        plan_id=review.plan_id,
        member_id=review.member_id,
        product=review.kind,
        facts=await uow.compliance.facts(review.plan_id, review.member_id),
        decisions=await uow.compliance.decisions(review.id),
        as_of=as_of,
    )


# --- reads before publication -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompliancePreview:
    review_id: UUID
    who: Principal | None
    today: date


async def compliance_of(uow: IrmUnitOfWork, cmd: CompliancePreview) -> Compliance:
    """The compliance as it stands (pre-filled from today's facts, with the decisions taken): IRM
    and OGP staff and the assigned researcher. Nothing is public before publication (404)."""
    review = await review_of(uow, cmd.review_id, for_update=False)
    if cmd.who is None:
        raise NotFound(f"published compliance of review {cmd.review_id}")
    if not (cmd.who.has(Role.IRM, Role.STAFF) or await is_assigned_researcher(uow, review, cmd.who)):
        raise Forbidden("before publication only IRM and OGP staff and the assigned researcher see it")
    return await _judge(uow, review, cmd.today)


# --- the researcher's decision --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decide:
    who: Principal
    review_id: UUID
    requirement: Requirement
    status: ComplianceStatus
    reason: str | None
    today: date


async def decide(uow: IrmUnitOfWork, cmd: Decide) -> Compliance:
    """Confirm a requirement's pre-filled status, or override it with a reason. The review is
    locked, so a decision and the publication that freezes the compliance never interleave."""
    review = await review_of(uow, cmd.review_id)
    await check_irm_or_assigned(
        uow,
        review,
        cmd.who,
        "only the review's assigned researcher or IRM staff confirm or override its compliance",
    )
    rules.check_open_for_decisions(review.state)
    facts = await uow.compliance.facts(review.plan_id, review.member_id)
    decision = rules.decide(
        review_id=review.id,
        kind=review.kind,
        state=review.state,
        requirement=cmd.requirement,
        status=cmd.status,
        reason=cmd.reason,
        prefilled=rules.prefill(review.plan_id, review.member_id, facts, cmd.requirement, cmd.today),
        by=cmd.who.subject,
        now=datetime.now(UTC),
    )
    await uow.compliance.decide(decision)
    return await _judge(uow, review, cmd.today)


# --- publication --------------------------------------------------------------------------------


async def _find(uow: IrmUnitOfWork, review: Review, reason: FindingReason, by: str, now: datetime) -> None:
    # The plan is known to the findings from plans' events; a review of a plan they never saw
    # still places the finding in its cycle.
    await findings.learn_plan(uow, KnownPlan(review.plan_id, review.member_id), now=now)
    await findings.record_finding(
        uow, findings.RecordFinding(review.plan_id, reason, FindingSource.REVIEW, by=by, found_at=now)
    )


async def fix_on_publish(uow: IrmUnitOfWork, review: Review, *, today: date, by: str) -> Compliance | None:
    """The review was published (in this unit of work): freeze its compliance, publish
    ``ComplianceAssessed`` when anything was assessed (evidence on record or a decision taken),
    and record the findings: a requirement not met (co-creation for the APR, implementation for
    the results report: ``co_creation_minimum_not_met``), and, for the results report, no
    progress on any commitment (``no_progress``)."""
    if review.state is not ReviewState.PUBLISHED:
        raise ValueError("the compliance is fixed by a published review")  # a bug, not a refusal
    now = datetime.now(UTC)
    compliance: Compliance | None = None
    if rules.PRODUCT_REQUIREMENTS[review.kind]:
        compliance = await _judge(uow, review, today)
        await uow.compliance.freeze(compliance, assessed_at=now)
        if compliance.assessed:
            uow.publish(compliance.event(now))
        if compliance.not_met:
            await _find(uow, review, FindingReason.CO_CREATION_MINIMUM_NOT_MET, by, now)
    if review.kind is ReviewKind.RESULTS_REPORT and rules.no_progress(
        await uow.compliance.completions(review.id)
    ):
        await _find(uow, review, FindingReason.NO_PROGRESS, by, now)
    return compliance


__all__ = [
    "CompliancePreview",
    "Decide",
    "compliance_of",
    "decide",
    "fix_on_publish",
    "learn_fact",
]
