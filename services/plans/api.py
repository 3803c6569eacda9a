"""HTTP API of the plans service: parse, authorise, call a use case, shape the answer.

Reads are public; writes need a token: staff for members, staff or the member's own government
point of contact for plans. Contact details are never returned, only the contact's opaque id.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from services.plans import commitments, eligibility, handlers, store
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
from shared.auth import Principal, Role, require
from shared.http import NotFound, Unprocessable
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1")
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Editor = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]


# --- members --------------------------------------------------------------------------------


@router.post("/members", status_code=201, response_model=MemberOut, tags=["members"])
async def create_member(body: MemberIn, rt: RT, _: Staff) -> MemberOut:
    row = await handlers.create_member(rt.pool, body.name, body.kind, body.country_code, body.region)
    return MemberOut(**row)


@router.get("/members/{member_id}", response_model=MemberOut, tags=["members"])
async def get_member(member_id: UUID, rt: RT) -> MemberOut:
    row = await store.get_member(rt.pool, member_id)
    if row is None:
        raise NotFound(f"member {member_id}")
    return MemberOut(**row)


@router.post("/members/{member_id}/status", tags=["members"])
async def set_member_status(member_id: UUID, body: MemberStatusIn, rt: RT, who: Staff) -> dict[str, Any]:
    """Staff record a change of standing (IRM findings arrive as events and do the same)."""
    return await handlers.set_member_status(rt.pool, who, member_id, body.status, body.reason, body.plan_id)


@router.get("/members/{member_id}/status-history", tags=["members"])
async def member_status_history(member_id: UUID, rt: RT) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        """SELECT from_status, to_status, reason, plan_id, source, changed_at
           FROM member_status_history WHERE member_id = $1 ORDER BY changed_at, id""",
        member_id,
    )
    return [dict(r) for r in rows]


@router.put("/members/{member_id}/eligibility/{year}", tags=["eligibility"])
async def score_eligibility(
    member_id: UUID, year: int, body: eligibility.EligibilityInput, rt: RT, who: Staff
) -> dict[str, Any]:
    """Score one year from the indicator values; the result is computed, never typed in."""
    if body.year != year:
        raise Unprocessable("year", f"the body's year {body.year} differs from the path's {year}")
    result = await handlers.score_eligibility(rt.pool, who, member_id, body)
    return handlers.result_json(result)


@router.get("/members/{member_id}/eligibility", tags=["eligibility"])
async def list_eligibility(member_id: UUID, rt: RT) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        "SELECT year, inputs, result FROM eligibility_scores WHERE member_id = $1 ORDER BY year",
        member_id,
    )
    return [{"year": r["year"], "inputs": r["inputs"], **r["result"]} for r in rows]


# --- plans ----------------------------------------------------------------------------------


@router.post("/plans", status_code=201, response_model=PlanOut, tags=["plans"])
async def create_plan(body: PlanIn, rt: RT, who: Editor) -> PlanOut:
    row = await handlers.create_plan(
        rt.pool,
        who,
        member_id=body.member_id,
        title=body.title,
        start_date=body.start_date,
        end_date=body.end_date,
        contact=body.point_of_contact.model_dump(mode="json"),
        strands=body.strands,
    )
    return PlanOut(**row)


@router.post("/plans/{plan_id}/transitions", response_model=PlanOut, tags=["plans"])
async def transition(plan_id: UUID, body: TransitionIn, rt: RT, who: Editor) -> PlanOut:
    """Move the plan along its state machine; a move the rules forbid is a 409 naming the rule.
    Commitments follow: submitted → adopted, implementing → implementing, ended → ended."""
    return PlanOut(**await handlers.transition_plan(rt.pool, who, plan_id, body.to))


@router.post("/plans/{plan_id}/documents", status_code=201, tags=["repository"])
async def publish_document(plan_id: UUID, body: DocumentIn, rt: RT, who: Editor) -> dict[str, Any]:
    """Add a document to the plan's public repository (co-creation standard 2)."""
    return await commitments.publish_document(
        rt.pool, who, plan_id, body.model_dump(mode="json") | {"published_on": body.published_on}
    )


# --- commitments and milestones ---------------------------------------------------------------


@router.post("/plans/{plan_id}/commitments", status_code=201, tags=["commitments"])
async def add_commitment(plan_id: UUID, body: CommitmentIn, rt: RT, who: Editor) -> dict[str, Any]:
    fields = body.to_fields()
    fields["original_language"] = (body.original_language or "en").__str__()
    row = await commitments.add_commitment(rt.pool, who, plan_id, fields)
    return commitments.snapshot(row).model_dump(mode="json") | {"id": str(row["id"])}


@router.patch("/commitments/{commitment_id}", tags=["commitments"])
async def update_commitment(
    commitment_id: UUID, body: CommitmentPatch, rt: RT, who: Editor
) -> dict[str, Any]:
    """Change some fields; every change is kept in the commitment's public history."""
    fields = body.to_fields()
    fields.pop("expected_version", None)
    row = await commitments.update_commitment(rt.pool, who, commitment_id, fields, body.expected_version)
    return commitments.snapshot(row).model_dump(mode="json")


@router.post("/commitments/{commitment_id}/transitions", tags=["commitments"])
async def transition_commitment(
    commitment_id: UUID, body: CommitmentTransitionIn, rt: RT, who: Editor
) -> dict[str, Any]:
    row = await commitments.transition_commitment(rt.pool, who, commitment_id, body.to, body.reason)
    return commitments.snapshot(row).model_dump(mode="json")


@router.get("/commitments/{commitment_id}/history", tags=["commitments"])
async def commitment_history(commitment_id: UUID, rt: RT) -> list[dict[str, Any]]:
    """Who changed what and when: the platform's own transparency."""
    rows = await rt.pool.fetch(
        """SELECT at, by, action, changes, version FROM commitment_history
           WHERE commitment_id = $1 ORDER BY id""",
        commitment_id,
    )
    if not rows and await store.get_commitment(rt.pool, commitment_id) is None:
        raise NotFound(f"commitment {commitment_id}")
    return [dict(r) for r in rows]


@router.post("/commitments/{commitment_id}/milestones", status_code=201, tags=["milestones"])
async def add_milestone(commitment_id: UUID, body: MilestoneIn, rt: RT, who: Editor) -> dict[str, Any]:
    c = await store.get_commitment(rt.pool, commitment_id)
    if c is None:
        raise NotFound(f"commitment {commitment_id}")
    lang = c["original_language"]
    texts = {"title": body.title if isinstance(body.title, dict) else {lang: body.title}}
    if body.deliverable is not None:
        texts["deliverable"] = (
            body.deliverable if isinstance(body.deliverable, dict) else {lang: body.deliverable}
        )
    fields = {
        "texts": {k: {str(lk): v for lk, v in t.items()} for k, t in texts.items()},
        "start_date": body.start_date,
        "end_date": body.end_date,
        "responsible": body.responsible,
        "weight": body.weight,
    }
    return await commitments.add_milestone(rt.pool, who, commitment_id, fields)


@router.post("/milestones/{milestone_id}/progress", tags=["milestones"])
async def report_progress(milestone_id: UUID, body: ProgressIn, rt: RT, who: Editor) -> dict[str, Any]:
    """A progress report with evidence; progress rolls up by weight to the commitment and plan."""
    return await commitments.report_progress(
        rt.pool,
        who,
        milestone_id,
        status=body.status,
        progress=body.progress,
        note=body.note,
        evidence=body.evidence,
        end_date=body.end_date,
    )


@router.get("/milestones/{milestone_id}/updates", tags=["milestones"])
async def milestone_updates(milestone_id: UUID, rt: RT) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        """SELECT at, status, progress, note, evidence FROM milestone_updates
           WHERE milestone_id = $1 ORDER BY id""",
        milestone_id,
    )
    return [dict(r) for r in rows]


@router.put("/commitments/{commitment_id}/self-assessment", tags=["commitments"])
async def self_assessment(commitment_id: UUID, body: SelfAssessmentIn, rt: RT, who: Editor) -> dict[str, Any]:
    """The government's end-of-term self-assessment of the commitment."""
    return await commitments.record_self_assessment(
        rt.pool, who, commitment_id, body.completion, body.evidence, body.note
    )
