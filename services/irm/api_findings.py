"""Process findings and procedural reviews: public reads; IRM staff record findings and lift
procedural reviews whose cause the IRM judges remedied."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from services.irm.queries import findings as queries
from services.irm.use_cases import findings as use_cases
from shared.auth import Principal, Role, require
from shared.dates import Timestamp
from shared.errors import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["findings"])
RT = Annotated[Runtime, Depends(runtime_of)]
IrmStaff = Annotated[Principal, Depends(require(Role.IRM))]

Responses = dict[int | str, dict[str, Any]]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


_ERRORS: Responses = {
    401: _problem("no valid bearer token"),
    403: _problem("the token lacks the irm role (IRM staff)"),
}
#: Recording a finding: no rule of state refuses it (a repeat answers 200), so no 409.
_RECORD_ERRORS: Responses = {
    **_ERRORS,
    404: _problem("the plan is unknown to the IRM"),
    422: _problem(
        "a value is refused (names the field): a reason other than co_creation_minimum_not_met or "
        "no_progress (`no_new_plan` is found by plans' timer), a malformed plan_id or found_at"
    ),
}
_LIFT_ERRORS: Responses = {
    **_ERRORS,
    404: _problem("no such procedural review"),
    409: _problem(
        "`procedural_review.not_open`: lifted already; `procedural_review.remedy_is_a_new_plan`: "
        "the review lifts itself when the member submits its new plan"
    ),
    422: _problem("`reason` is missing, too short or blank"),
}


class FindingOut(BaseModel):
    id: UUID
    member_id: UUID
    plan_id: UUID
    cycle: str = Field(description="the plan id, or '<previous plan id>next' for the cycle after it")
    reason: str
    found_at: datetime
    source: str


class ProceduralReviewOut(BaseModel):
    id: UUID
    member_id: UUID
    reason: str
    started_at: datetime
    open: bool
    lifted_at: datetime | None
    lift_reason: str | None
    finding_ids: list[UUID] = Field(description="the findings of the two consecutive cycles, earlier first")
    plan_ids: list[UUID]
    cycles: list[str]


class FindingIn(BaseModel):
    plan_id: UUID
    reason: Literal["co_creation_minimum_not_met", "no_progress"]
    found_at: Timestamp | None = None


class LiftIn(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, description="how the cause was remedied")


Year = Annotated[int | None, Query(ge=2011, le=2100)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/findings", response_model=list[FindingOut])
async def list_findings(
    rt: RT, member_id: UUID | None = None, plan_id: UUID | None = None, year: Year = None, limit: Limit = 100
) -> list[FindingOut]:
    """Findings of acting contrary to process, by member, plan and year found (UTC)."""
    return [FindingOut(**r) for r in await queries.findings(rt.pool, member_id, plan_id, year, limit)]


@router.get("/findings/{finding_id}", response_model=FindingOut, responses={404: _problem("no such finding")})
async def get_finding(rt: RT, finding_id: UUID) -> FindingOut:
    row = await queries.finding(rt.pool, finding_id)
    if row is None:
        raise NotFound(f"finding {finding_id}")
    return FindingOut(**row)


@router.post(
    "/findings",
    status_code=201,
    response_model=FindingOut,
    responses={200: {"description": "already recorded for this member, cycle and reason"}, **_RECORD_ERRORS},
)
async def record_finding(rt: RT, body: FindingIn, who: IrmStaff, response: Response) -> FindingOut:
    """IRM staff: the member acted contrary to process in the plan's cycle (co-creation minimum
    not met, or no progress on any commitment). The same member, cycle and reason again answers
    200 with the finding already recorded."""
    async with rt.uow() as uow:
        recorded = await use_cases.record_finding(
            uow,
            use_cases.RecordFinding(
                body.plan_id, use_cases.FindingReason(body.reason), use_cases.FindingSource.IRM_STAFF,
                by=who.subject, found_at=body.found_at,
            ),
        )  # fmt: skip
    if not recorded.created:
        response.status_code = 200
    row = await queries.finding(rt.pool, recorded.finding.id)
    assert row is not None
    return FindingOut(**row)


@router.get("/procedural-reviews", response_model=list[ProceduralReviewOut])
async def list_procedural_reviews(
    rt: RT,
    member_id: UUID | None = None,
    plan_id: UUID | None = None,
    year: Year = None,
    open: bool | None = None,
    limit: Limit = 100,
) -> list[ProceduralReviewOut]:
    """Procedural reviews by member, plan (of either finding) and year started (UTC)."""
    rows = await queries.procedural_reviews(rt.pool, member_id, plan_id, year, open, limit)
    return [ProceduralReviewOut(**r) for r in rows]


@router.get(
    "/procedural-reviews/{review_id}",
    response_model=ProceduralReviewOut,
    responses={404: _problem("no such procedural review")},
)
async def get_procedural_review(rt: RT, review_id: UUID) -> ProceduralReviewOut:
    row = await queries.procedural_review(rt.pool, review_id)
    if row is None:
        raise NotFound(f"procedural review {review_id}")
    return ProceduralReviewOut(**row)


@router.post(
    "/procedural-reviews/{review_id}/lift", response_model=ProceduralReviewOut, responses=_LIFT_ERRORS
)
async def lift_procedural_review(rt: RT, review_id: UUID, body: LiftIn, who: IrmStaff) -> ProceduralReviewOut:
    """IRM staff: the cause of the second finding (co-creation minimum, no progress) is
    remedied. A review whose second finding is ``no_new_plan`` lifts itself when the member
    submits its new plan (409 ``procedural_review.remedy_is_a_new_plan``); one lifted already is
    409 ``procedural_review.not_open``."""
    async with rt.uow() as uow:
        await use_cases.lift_procedural_review(
            uow, use_cases.LiftProceduralReview(review_id, body.reason, by=who.subject)
        )
    row = await queries.procedural_review(rt.pool, review_id)
    assert row is not None
    return ProceduralReviewOut(**row)
