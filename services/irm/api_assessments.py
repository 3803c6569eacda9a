"""The assessments API: coding commitments within a review (the review's researcher or IRM
staff), public reads of published reviews' assessments, staff reads of all, the completion
comparison per plan, and the export with OGP's spreadsheet columns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.irm.domain.assessments import Codes
from services.irm.queries import assessments as queries
from services.irm.use_cases import assessments as use_cases
from shared.auth import Principal, Role, require
from shared.events.irm import CommitmentAssessed, Relevance, ReviewKind
from shared.runtime import Runtime, runtime_of
from shared.scales import ScaleVersion

router = APIRouter(prefix="/v1", tags=["assessments"])
RT = Annotated[Runtime, Depends(runtime_of)]
Coder = Annotated[Principal, Depends(require(Role.IRM, Role.RESEARCHER))]
IrmStaff = Annotated[Principal, Depends(require(Role.IRM, Role.STAFF))]
Limit = Annotated[int, Query(ge=1, le=5000)]
#: An assessment's year is its review's: the year the review was opened (``opened_on``), the
#: rule of ``GET /v1/reviews?year=``.
Year = Annotated[
    int | None,
    Query(ge=2011, le=2100, description="the year the assessment's review was opened (`opened_on`)"),
]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _problem("no valid bearer token"),
    403: _problem("not IRM staff, nor the researcher assigned to the review"),
    404: _problem("no such review, or the commitment is not one of the reviewed plan's"),
    409: _problem(
        "a rule refused the codes: `assessment.not_verifiable` (a not-verifiable commitment is not "
        "assessed further), `assessment.review_closed` (published or withdrawn: its codes are final), "
        "`assessment.product_codes_no_commitment` (the review's product codes no commitment)"
    ),
    422: _problem(
        "an unknown scale value (names the field), nothing to code, a field the scale version or the "
        "product does not code (`assessment.field_not_in_scale` / `field_not_in_product`), another "
        "scale version than the assessment's (`assessment.scale_version_fixed`), or a changed "
        "pre-filled completion without a reason (`assessment.completion_change_needs_reason`)"
    ),
}
_STAFF_ONLY: dict[int | str, dict[str, Any]] = {401: _ERRORS[401], 403: _problem("not IRM or OGP staff")}


class AssessmentIn(BaseModel):
    """Codes to set; fields left out keep their previous code. Scale values are the labels of
    the assessment's scale version (``shared.scales``); OGP's spreadsheet wordings are accepted."""

    model_config = ConfigDict(extra="forbid")

    scale_version: ScaleVersion | None = Field(
        default=None, description="of a new assessment: irm-2021 unless history is entered"
    )
    report_year: int | None = Field(default=None, ge=2011, le=2100)
    verifiable: bool | None = None
    specificity: str | None = Field(default=None, max_length=50)
    relevance: Relevance | None = None
    potential_for_results: str | None = Field(default=None, max_length=50)
    potential_impact: str | None = Field(default=None, max_length=50)
    promising: bool | None = None
    completion: str | None = Field(default=None, max_length=50)
    completion_reason: str | None = Field(default=None, max_length=4000)
    early_results: str | None = Field(default=None, max_length=50)
    did_it_open_government: str | None = Field(default=None, max_length=50)

    def codes(self) -> Codes:
        data = self.model_dump(exclude={"scale_version", "report_year", "relevance"})
        return Codes(**data, relevance=self.relevance)


class AssessmentOut(BaseModel):
    review_id: UUID
    plan_id: UUID
    member_id: UUID
    commitment_id: UUID
    commitment_number: int | None = None
    commitment_title: str | None = None
    product: ReviewKind
    review_state: str
    scale_version: str
    verifiable: bool | None
    specificity: str | None
    relevance: Relevance
    potential_for_results: str | None
    potential_impact: str | None
    promising: bool | None
    completion: str | None
    completion_prefilled: str | None
    completion_reason: str | None
    early_results: str | None
    did_it_open_government: str | None
    star: bool | None
    report_year: int | None
    assessed_at: datetime


class ComparedCommitment(BaseModel):
    commitment_id: UUID
    number: int | None
    title: str | None
    withdrawn: bool
    self_assessed: str | None
    irm_completion: str | None
    product: ReviewKind | None
    agrees: bool | None


class CompletionComparison(BaseModel):
    plan_id: UUID
    commitments: list[ComparedCommitment]
    compared: int = Field(description="commitments with both a self-assessed and an IRM completion")
    agreed: int
    agreement_rate: float | None = Field(description="agreed / compared; null when none is compared")


@router.put(
    "/reviews/{review_id}/assessments/{commitment_id}",
    response_model=CommitmentAssessed,
    responses=_ERRORS,
    summary="Code a commitment in a review (publishes CommitmentAssessed)",
)
async def assess_commitment(
    review_id: UUID, commitment_id: UUID, body: AssessmentIn, rt: RT, who: Coder
) -> CommitmentAssessed:
    async with rt.uow() as uow:
        return await use_cases.assess_commitment(
            uow,
            use_cases.AssessCommitment(
                review_id, commitment_id, body.codes(), who, body.scale_version, body.report_year
            ),
        )


@router.get("/assessments", response_model=list[AssessmentOut], summary="Assessments of published reviews")
async def public_assessments(
    rt: RT,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    review_id: UUID | None = None,
    year: Year = None,
    limit: Limit = 1000,
) -> list[AssessmentOut]:
    """By plan, member, review and year (the year the review was opened, ``opened_on``)."""
    rows = await queries.assessments(
        rt.pool, plan_id=plan_id, member_id=member_id, review_id=review_id, year=year, limit=limit
    )
    return [AssessmentOut(**r) for r in rows]


@router.get(
    "/staff/assessments",
    response_model=list[AssessmentOut],
    responses=_STAFF_ONLY,
    summary="Every assessment, of reviews in any state (IRM and OGP staff)",
)
async def staff_assessments(
    rt: RT,
    _: IrmStaff,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    review_id: UUID | None = None,
    year: Year = None,
    limit: Limit = 1000,
) -> list[AssessmentOut]:
    """By plan, member, review and year (the year the review was opened, ``opened_on``)."""
    rows = await queries.assessments(
        rt.pool, plan_id=plan_id, member_id=member_id, review_id=review_id, year=year,
        published_only=False, limit=limit,
    )  # fmt: skip
    return [AssessmentOut(**r) for r in rows]


@router.get(
    "/plans/{plan_id}/completion-comparison",
    response_model=CompletionComparison,
    summary="Self-assessed vs IRM completion per commitment (published reviews), and the agreement rate",
)
async def completion_comparison(plan_id: UUID, rt: RT) -> CompletionComparison:
    return CompletionComparison(**await queries.completion_comparison(rt.pool, plan_id))


def _export(rows: list[dict[str, Any]], fmt: str) -> Response:
    if fmt == "csv":
        return Response(
            queries.export_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="irm-assessments.csv"'},
        )
    body = json.dumps([queries.export_row(r) for r in rows], ensure_ascii=False)
    return Response(body, media_type="application/json")


@router.get(
    "/export/assessments.{fmt}",
    summary="Assessments of published reviews with OGP's spreadsheet column names (CSV or JSON)",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_assessments(
    fmt: Literal["csv", "json"],
    rt: RT,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    year: Year = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100_000,
) -> Response:
    """By plan, member and year (the year the review was opened, ``opened_on``)."""
    rows = await queries.assessments(rt.pool, plan_id=plan_id, member_id=member_id, year=year, limit=limit)
    return _export(rows, fmt)


@router.get(
    "/staff/export/assessments.{fmt}",
    summary="Every assessment with OGP's spreadsheet column names (IRM and OGP staff)",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}, **_STAFF_ONLY},
)
async def staff_export_assessments(
    fmt: Literal["csv", "json"],
    rt: RT,
    _: IrmStaff,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    year: Year = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100_000,
) -> Response:
    """By plan, member and year (the year the review was opened, ``opened_on``)."""
    rows = await queries.assessments(
        rt.pool, plan_id=plan_id, member_id=member_id, year=year, published_only=False, limit=limit
    )
    return _export(rows, fmt)
