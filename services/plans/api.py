"""HTTP API of the plans service: parse, authorise the role, call a use case, shape the answer.

Reads are public; writes need a token: staff for members, staff or the member's own government
point of contact for plans. Contact details are never returned, only the contact's opaque id.
Refusals are domain errors, which :mod:`shared.http` answers with ``application/problem+json``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from services.plans import queries
from services.plans.domain.eligibility import EligibilityInput, result_json
from services.plans.domain.milestones import Milestone
from services.plans.domain.plans import Plan
from services.plans.schemas import (
    CommitmentIn,
    CommitmentPatch,
    CommitmentTransitionIn,
    DocumentIn,
    MemberIn,
    MemberOut,
    MemberStatusIn,
    MilestoneIn,
    PlanIn,
    PlanOut,
    ProgressIn,
    SelfAssessmentIn,
    TransitionIn,
)
from services.plans.store import PlansUnitOfWork
from services.plans.use_cases import commitments, documents, members, milestones, plans
from services.plans.use_cases._common import actor_id
from shared.auth import Principal, Role, require
from shared.errors import Invalid, NotFound
from shared.events.plans import CommitmentSnapshot
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1")
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Editor = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]


def _plan_out(plan: Plan) -> PlanOut:
    return PlanOut.model_validate(plan, from_attributes=True)


def _localized(text: str | dict[Any, str] | None) -> milestones.MilestoneText | None:
    if text is None:
        return None
    return milestones.MilestoneText(text if isinstance(text, str) else {str(k): v for k, v in text.items()})


# --- members --------------------------------------------------------------------------------


@router.post("/members", status_code=201, response_model=MemberOut, tags=["members"])
async def create_member(body: MemberIn, rt: RT, _: Staff) -> MemberOut:
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        member = await members.create_member(
            uow, members.CreateMember(body.name, body.kind, body.country_code, body.region)
        )
    return MemberOut.model_validate(member, from_attributes=True)


@router.get("/members/{member_id}", response_model=MemberOut, tags=["members"])
async def get_member(member_id: UUID, rt: RT) -> MemberOut:
    row = await queries.member_record(rt.pool, member_id)
    if row is None:
        raise NotFound(f"member {member_id}")
    return MemberOut(**row)


@router.post("/members/{member_id}/status", tags=["members"])
async def set_member_status(member_id: UUID, body: MemberStatusIn, rt: RT, who: Staff) -> dict[str, Any]:
    """Staff record a change of standing (IRM findings arrive as events and do the same)."""
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        change = await members.change_member_status(
            uow,
            members.ChangeMemberStatus(
                member_id, body.status, body.reason, by=actor_id(who), plan_id=body.plan_id
            ),
        )
    return {
        "member_id": change.member_id,
        "from_status": change.from_status,
        "status": change.to_status,
        "reason": change.reason,
        "changed_at": change.changed_at,
    }


@router.get("/members/{member_id}/status-history", tags=["members"])
async def member_status_history(member_id: UUID, rt: RT) -> list[dict[str, Any]]:
    return await queries.member_status_history(rt.pool, member_id)


@router.put("/members/{member_id}/eligibility/{year}", tags=["eligibility"])
async def score_eligibility(
    member_id: UUID, year: int, body: EligibilityInput, rt: RT, who: Staff
) -> dict[str, Any]:
    """Score one year from the indicator values; the result is computed, never typed in."""
    if body.year != year:
        raise Invalid("year", f"the body's year {body.year} differs from the path's {year}")
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        scoring = members.ScoreEligibility(member_id, body, actor_id(who))
        result = await members.score_eligibility(uow, scoring)
    return result_json(result)


@router.get("/members/{member_id}/eligibility", tags=["eligibility"])
async def list_eligibility(member_id: UUID, rt: RT) -> list[dict[str, Any]]:
    return await queries.eligibility_scores(rt.pool, member_id)


# --- plans ----------------------------------------------------------------------------------


@router.post("/plans", status_code=201, response_model=PlanOut, tags=["plans"])
async def create_plan(body: PlanIn, rt: RT, who: Editor) -> PlanOut:
    contact = body.point_of_contact.model_dump(mode="json")
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        plan = await plans.create_plan(
            uow,
            plans.CreatePlan(
                who,
                body.member_id,
                body.title,
                body.start_date,
                body.end_date,
                plans.ContactDetails(**contact),
                strands=body.strands,
            ),
        )
    return _plan_out(plan)


@router.post("/plans/{plan_id}/transitions", response_model=PlanOut, tags=["plans"])
async def transition(plan_id: UUID, body: TransitionIn, rt: RT, who: Editor) -> PlanOut:
    """Move the plan along its state machine; a move the rules forbid is a 409 naming the rule.
    Commitments follow: submitted → adopted, implementing → implementing, ended → ended."""
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        plan = await plans.transition_plan(uow, plans.TransitionPlan(who, plan_id, body.to))
    return _plan_out(plan)


@router.post("/plans/{plan_id}/documents", status_code=201, tags=["repository"])
async def publish_document(plan_id: UUID, body: DocumentIn, rt: RT, who: Editor) -> dict[str, Any]:
    """Add a document to the plan's public repository (co-creation standard 2)."""
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        d = await documents.publish_document(
            uow,
            documents.PublishDocument(
                who, plan_id, body.type, body.title, str(body.url), body.language, body.published_on
            ),
        )
    return {
        "id": d.id,
        "plan_id": d.plan_id,
        "member_id": d.member_id,
        "type": d.type.value,
        "title": d.title,
        "url": d.url,
        "language": d.language.value,
        "published_on": d.published_on,
    }


# --- commitments and milestones ---------------------------------------------------------------

#: The documented shapes of the answers built from the aggregates (the OpenAPI document and the
#: fuzzer hold the answers to them; the dicts themselves stay as they are).
_COMMITMENT_200: dict[int | str, dict[str, Any]] = {200: {"model": CommitmentSnapshot}}
_COMMITMENT_201: dict[int | str, dict[str, Any]] = {201: {"model": CommitmentSnapshot}}
_MILESTONE_200: dict[int | str, dict[str, Any]] = {200: {"model": Milestone}}
_MILESTONE_201: dict[int | str, dict[str, Any]] = {201: {"model": Milestone}}


@router.post("/plans/{plan_id}/commitments", status_code=201, tags=["commitments"], responses=_COMMITMENT_201)
async def add_commitment(plan_id: UUID, body: CommitmentIn, rt: RT, who: Editor) -> dict[str, Any]:
    columns = body.to_fields()
    columns["original_language"] = str(body.original_language or "en")
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        c = await commitments.add_commitment(uow, commitments.AddCommitment(who, plan_id, columns))
    return c.snapshot().model_dump(mode="json") | {"id": str(c.id)}


@router.patch("/commitments/{commitment_id}", tags=["commitments"], responses=_COMMITMENT_200)
async def update_commitment(
    commitment_id: UUID, body: CommitmentPatch, rt: RT, who: Editor
) -> dict[str, Any]:
    """Change some fields; every change is kept in the commitment's public history."""
    columns = body.to_fields()
    columns.pop("expected_version", None)
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        c = await commitments.update_commitment(
            uow, commitments.UpdateCommitment(who, commitment_id, columns, body.expected_version)
        )
    return c.snapshot().model_dump(mode="json")


@router.post("/commitments/{commitment_id}/transitions", tags=["commitments"], responses=_COMMITMENT_200)
async def transition_commitment(
    commitment_id: UUID, body: CommitmentTransitionIn, rt: RT, who: Editor
) -> dict[str, Any]:
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        c = await commitments.transition_commitment(
            uow, commitments.TransitionCommitment(who, commitment_id, body.to, body.reason)
        )
    return c.snapshot().model_dump(mode="json")


@router.get("/commitments/{commitment_id}/history", tags=["commitments"])
async def commitment_history(commitment_id: UUID, rt: RT) -> list[dict[str, Any]]:
    """Who changed what and when: the platform's own transparency."""
    return await queries.commitment_history(rt.pool, commitment_id)


@router.post(
    "/commitments/{commitment_id}/milestones", status_code=201, tags=["milestones"], responses=_MILESTONE_201
)
async def add_milestone(commitment_id: UUID, body: MilestoneIn, rt: RT, who: Editor) -> dict[str, Any]:
    title = _localized(body.title)
    assert title is not None
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        m = await milestones.add_milestone(
            uow,
            milestones.AddMilestone(
                who,
                commitment_id,
                title,
                _localized(body.deliverable),
                body.start_date,
                body.end_date,
                body.responsible,
                body.weight,
            ),
        )
    return asdict(m)


@router.post("/milestones/{milestone_id}/progress", tags=["milestones"], responses=_MILESTONE_200)
async def report_progress(milestone_id: UUID, body: ProgressIn, rt: RT, who: Editor) -> dict[str, Any]:
    """A progress report with evidence; progress rolls up by weight to the commitment and plan."""
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        m = await milestones.report_progress(
            uow,
            milestones.ReportProgress(
                who, milestone_id, body.status, body.progress, body.note, body.evidence, body.end_date
            ),
        )
    return asdict(m)


@router.get("/milestones/{milestone_id}/updates", tags=["milestones"])
async def milestone_updates(milestone_id: UUID, rt: RT) -> list[dict[str, Any]]:
    return await queries.milestone_updates(rt.pool, milestone_id)


@router.put("/commitments/{commitment_id}/self-assessment", tags=["commitments"])
async def self_assessment(commitment_id: UUID, body: SelfAssessmentIn, rt: RT, who: Editor) -> dict[str, Any]:
    """The government's end-of-term self-assessment of the commitment."""
    uow: PlansUnitOfWork
    async with rt.uow() as uow:
        return await commitments.record_self_assessment(
            uow,
            commitments.RecordSelfAssessment(who, commitment_id, body.completion, body.evidence, body.note),
        )
