"""The compliance API: a review's compliance with the co-creation standards' minimum
requirements, pre-filled from consultation's and plans' events; the assigned researcher or IRM
staff confirm or override each requirement (an override with its reason) until the review is
published, which fixes it. Public once published; before, IRM and OGP staff and the assigned
researcher see it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.irm.api_reviews import Viewer, settings_of
from services.irm.domain.compliance import Requirement
from services.irm.queries import compliance as queries
from services.irm.use_cases import compliance as use_cases
from shared.auth import Principal, Role, require
from shared.errors import NotFound
from shared.events.irm import ComplianceStatus, ReviewKind, ReviewState
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["compliance"])
RT = Annotated[Runtime, Depends(runtime_of)]
Decider = Annotated[Principal, Depends(require(Role.IRM, Role.RESEARCHER))]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _problem("no valid bearer token"),
    403: _problem("neither IRM staff nor the researcher assigned to this review"),
    404: _problem("no such review"),
    409: _problem(
        "`compliance.review_published`: the review is published and its compliance fixed; "
        "`compliance.review_withdrawn`"
    ),
    422: _problem(
        "`compliance.override_needs_reason` (field `reason`): a status other than the pre-filled "
        "one needs a reason; `compliance.requirement_not_in_product` (field `requirement`): the "
        "review's product does not assess it; an unknown requirement or status"
    ),
}


class EvidenceOut(BaseModel):
    event_id: UUID | None = Field(description="the event the fact came from")
    on: date | None
    note: str = Field(description="what it shows (figures)")


class RequirementOut(BaseModel):
    requirement: Requirement
    standard: int = Field(ge=1, le=5)
    status: ComplianceStatus = Field(description="the researcher's decision, else the pre-filled status")
    prefilled: ComplianceStatus = Field(description="what the data show")
    summary: str
    evidence: list[EvidenceOut]
    overridden: bool
    confirmed: bool
    reason: str | None = None
    decided_at: datetime | None = None


class ComplianceOut(BaseModel):
    review_id: UUID
    plan_id: UUID
    member_id: UUID
    product: ReviewKind
    as_of: date = Field(description="the day the evidence was judged on")
    minimum_met: bool = Field(description="every requirement met")
    fixed: bool = Field(description="the review is published: this is final")
    requirements: list[RequirementOut]
    assessed_at: datetime | None = None
    published_on: date | None = None


class DecisionIn(BaseModel):
    status: ComplianceStatus
    reason: str | None = Field(
        default=None, max_length=4000, description="required when the status differs from the pre-filled one"
    )


@router.get(
    "/reviews/{review_id}/compliance",
    response_model=ComplianceOut,
    responses={403: _ERRORS[403], 404: _problem("no such review, or (public) not published yet")},
    summary="A review's compliance with the co-creation standards (pre-filled, decided, fixed)",
)
async def review_compliance(review_id: UUID, rt: RT, who: Viewer) -> ComplianceOut:
    """Public once the review is published (as the publication fixed it). Before: IRM and OGP
    staff and the assigned researcher see it pre-filled from today's evidence, with the decisions
    taken so far."""
    fixed = await queries.published(rt.pool, review_id)
    if fixed is not None:
        return ComplianceOut(**fixed, fixed=True)
    state = await queries.review_state(rt.pool, review_id)
    if state is None or state == ReviewState.PUBLISHED:
        raise NotFound(f"compliance of review {review_id}")
    async with rt.uow() as uow:
        compliance = await use_cases.compliance_of(
            uow, use_cases.CompliancePreview(review_id, who, settings_of(rt).today())
        )
    return ComplianceOut(**compliance.as_json(), fixed=False)


@router.put(
    "/reviews/{review_id}/compliance/{requirement}",
    response_model=ComplianceOut,
    responses=_ERRORS,
    summary="Confirm or override one requirement (the assigned researcher or IRM staff)",
)
async def decide(
    review_id: UUID, requirement: Requirement, body: DecisionIn, rt: RT, who: Decider
) -> ComplianceOut:
    """Confirm the pre-filled status (a reason is optional) or set another one with a reason.
    Deciding again replaces the previous decision; after publication nothing changes (409)."""
    async with rt.uow() as uow:
        compliance = await use_cases.decide(
            uow,
            use_cases.Decide(who, review_id, requirement, body.status, body.reason, settings_of(rt).today()),
        )
    return ComplianceOut(**compliance.as_json(), fixed=False)


@router.get(
    "/compliance",
    response_model=list[ComplianceOut],
    summary="Compliance fixed by published reviews, by plan, member and year assessed (public)",
)
async def list_compliance(
    rt: RT,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    year: Annotated[int | None, Query(ge=2011, le=2100)] = None,
    minimum_met: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ComplianceOut]:
    rows = await queries.listing(
        rt.pool, plan_id=plan_id, member_id=member_id, year=year, minimum_met=minimum_met, limit=limit
    )
    return [ComplianceOut(**r, fixed=True) for r in rows]
