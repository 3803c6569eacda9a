"""Public, anonymous reads of the plans service: single records, the plan page and filtered,
cursor-paginated lists of members, plans and commitments (with full-text search).

Everything here is public: no point of contact's name, e-mail or phone leaves these routes; the
lists and the plan page leave out even the contact's opaque id (the plan record keeps it, as it
always had). Large answers are JSON built by PostgreSQL (see
:mod:`services.plans.queries.json_sql`, where each shape is defined) and returned as they are; the
pydantic models below only document those shapes in the OpenAPI page, and are checked at import
to name the same keys in the same order.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.plans import queries
from services.plans.queries import OgpValue
from services.plans.schemas import MemberOut, PlanOut
from shared.errors import NotFound
from shared.events.plans import CommitmentState, MemberKind, MemberStatus, PlanState, Strand
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["public"])
RT = Annotated[Runtime, Depends(runtime_of)]


class JSONText(Response):
    """An answer whose body is already JSON (built by Postgres): nothing left to encode."""

    media_type = "application/json"


# --- documented shapes (the JSON itself comes from Postgres) ------------------------------------


class PublicMilestone(BaseModel):
    id: UUID
    number: int
    title: dict[str, str]
    deliverable: dict[str, str] | None
    start_date: date | None
    end_date: date | None
    responsible: str | None
    status: str
    weight: float
    progress: int
    completed_at: datetime | None


class PublicCommitment(BaseModel):
    id: UUID
    plan_id: UUID
    member_id: UUID
    number: int
    state: CommitmentState
    original_language: str
    title: dict[str, str]
    texts: dict[str, dict[str, str]]
    start_date: date | None
    end_date: date | None
    lead_agency: str | None
    responsible_person: str | None
    supporting_government: list[str]
    supporting_other: list[str]
    values: dict[OgpValue, bool]
    policy_areas: list[str]
    budget_amount: float | None
    budget_currency: str | None
    sdg_targets: list[str]
    other_plan_links: list[str]
    progress: float
    self_assessment: dict[str, Any] | None
    irm: dict[str, Any]
    source_data: dict[str, str] = Field(
        description="the cells of OGP's database columns the import does not map, by column name"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class PublicCommitmentWithMilestones(PublicCommitment):
    milestones: list[PublicMilestone]


class PublicPlan(BaseModel):
    id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    state: PlanState
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime
    length_years: int
    strands: list[Strand]
    action_plan_number: int | None
    implementation_started_at: datetime | None
    refreshed_at: datetime | None
    ended_at: datetime | None
    closed_at: datetime | None
    commitment_count: int
    progress: float


class PublicPlanPage(PublicPlan):
    commitments: list[PublicCommitmentWithMilestones]


def _documents(model: type[BaseModel], keys: tuple[str, ...]) -> None:
    """The model documents the JSON Postgres builds: the same keys, in the same order."""
    if tuple(model.model_fields) != keys:
        raise TypeError(f"{model.__name__} does not document the JSON it stands for: {keys}")


_documents(MemberOut, queries.MEMBER_KEYS)
_documents(PublicMilestone, queries.MILESTONE_KEYS)
_documents(PublicCommitment, queries.COMMITMENT_KEYS)
_documents(PublicCommitmentWithMilestones, (*queries.COMMITMENT_KEYS, "milestones"))
_documents(PublicPlan, queries.PLAN_KEYS)
_documents(PublicPlanPage, (*queries.PLAN_KEYS, "commitments"))


class _Page(BaseModel):
    next_cursor: str | None = None


class MemberPage(_Page):
    items: list[MemberOut]


# A page of the list of plans (the plan page is PublicPlanPage); the name is its OpenAPI schema's.
class PlanPage(_Page):
    items: list[PublicPlan]


class CommitmentPage(_Page):
    items: list[PublicCommitment]


# --- shared parameters --------------------------------------------------------------------------

Cursor = Annotated[
    str | None,
    Query(max_length=500, description="`next_cursor` of the previous page; omit for the first page"),
]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT, description="items per page")]
Region = Annotated[str | None, Query(max_length=100, description="the member's region, e.g. Africa")]
Year = Annotated[int | None, Query(ge=1900, le=2200, description="plans running at some time in that year")]


def _page_cache(rt: Runtime) -> queries.PageCache:
    """One cache per running service (tests run several in one process)."""
    cache: queries.PageCache | None = getattr(rt.app.state, "plan_page_cache", None)
    if cache is None:
        cache = rt.app.state.plan_page_cache = queries.PageCache()
    return cache


_GZIP_TAG = "+gzip"


def _etag_value(if_none_match: str | None) -> str | None:
    """The page version in ``If-None-Match`` (one tag of ours, weak or strong, either encoding)."""
    if not if_none_match:
        return None
    for tag in if_none_match.split(","):
        value = tag.strip().removeprefix("W/").strip('"').removesuffix(_GZIP_TAG)
        if len(value) == 32 and all(ch in "0123456789abcdef" for ch in value):
            return value
    return None


def _accepts_gzip(accept_encoding: str | None) -> bool:
    """``Accept-Encoding`` allows gzip: listed without ``q=0``, or not listed and ``*`` is."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").lower().split(","):
        coding, _, params = item.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[coding.strip()] = q
    gzip_q = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return gzip_q > 0


def _page(page: queries.Page) -> Response:
    return JSONText(page.to_json())


# --- records ------------------------------------------------------------------------------------


@router.get("/plans/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: UUID, rt: RT) -> PlanOut:
    row = await queries.plan_record(rt.pool, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id}")
    return PlanOut(**row)


@router.get(
    "/plans/{plan_id}/full",
    response_class=JSONText,
    responses={
        200: {"model": PublicPlanPage, "headers": {"ETag": {"schema": {"type": "string"}}}},
        304: {"description": "the version named by If-None-Match is still the current one"},
    },
)
async def get_plan_full(plan_id: UUID, request: Request) -> Response:
    """The plan with every commitment and milestone, as the public page shows it.

    The page's JSON is built by Postgres and kept in this process while its version (the ETag)
    stays the current one: each request waits for a one-row lookup of the version, sent after it
    arrived and shared with the requests for the same plan that arrived with it; the JSON is
    rebuilt only after a change. A client or CDN sending ``If-None-Match`` with the current ETag
    gets 304; one that accepts gzip gets the page gzipped (about a fifteenth of its size).
    """
    # The hottest public route: headers and runtime are read from the request directly rather
    # than through dependencies, which FastAPI resolves anew on every request.
    rt: Runtime = request.app.state.runtime
    client_tag = _etag_value(request.headers.get("if-none-match"))
    found = await queries.plan_page(rt.pool, plan_id, _page_cache(rt), client_tag)
    if found is None:
        raise NotFound(f"plan {plan_id}")
    version, page = found
    gzipped = _accepts_gzip(request.headers.get("accept-encoding"))
    # One tag per representation, as strong ETags must be; either one revalidates the other.
    headers = {"ETag": f'"{version}{_GZIP_TAG if gzipped else ""}"', "Vary": "Accept-Encoding"}
    if page is None:
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return JSONText(page.gzip, headers=headers)
    return JSONText(page.json, headers=headers)


@router.get(
    "/plans/{plan_id}/commitments",
    response_class=JSONText,
    responses={200: {"model": list[PublicCommitmentWithMilestones]}},
)
async def list_plan_commitments(plan_id: UUID, rt: RT) -> Response:
    """Every commitment of the plan (withdrawn ones too) in number order, with milestones."""
    text = await queries.plan_commitments_json(rt.pool, plan_id)
    if text is None:
        raise NotFound(f"plan {plan_id}")
    return JSONText(text)


@router.get(
    "/commitments/{commitment_id}",
    response_class=JSONText,
    responses={200: {"model": PublicCommitmentWithMilestones}},
)
async def get_commitment(commitment_id: UUID, rt: RT) -> Response:
    text = await queries.commitment_json(rt.pool, commitment_id)
    if text is None:
        raise NotFound(f"commitment {commitment_id}")
    return JSONText(text)


@router.get("/plans/{plan_id}/documents")
async def list_documents(plan_id: UUID, rt: RT) -> list[dict[str, Any]]:
    return await queries.plan_documents(rt.pool, plan_id)


# --- lists --------------------------------------------------------------------------------------


@router.get("/members", response_class=JSONText, responses={200: {"model": MemberPage}})
async def list_members(
    rt: RT,
    kind: MemberKind | None = None,
    region: Region = None,
    status: MemberStatus | None = None,
    q: Annotated[str | None, Query(max_length=300, description="start of the name (any case)")] = None,
    cursor: Cursor = None,
    limit: Limit = queries.DEFAULT_LIMIT,
) -> Response:
    """Members in name order."""
    page = await queries.list_members(
        rt.pool,
        kind=kind,
        region=region,
        status=status,
        name_prefix=(q or "").strip() or None,
        cursor=cursor,
        limit=limit,
    )
    return _page(page)


@router.get("/plans", response_class=JSONText, responses={200: {"model": PlanPage}})
async def list_plans(
    rt: RT,
    member_id: UUID | None = None,
    kind: Annotated[MemberKind | None, Query(description="the member's kind")] = None,
    region: Region = None,
    strand: Strand | None = None,
    state: PlanState | None = None,
    year: Year = None,
    cursor: Cursor = None,
    limit: Limit = queries.DEFAULT_LIMIT,
) -> Response:
    """Action plans in the order they were created."""
    page = await queries.list_plans(
        rt.pool,
        member_id=member_id,
        kind=kind,
        region=region,
        strand=strand,
        state=state,
        year=year,
        cursor=cursor,
        limit=limit,
    )
    return _page(page)


@router.get("/commitments", response_class=JSONText, responses={200: {"model": CommitmentPage}})
async def list_commitments(
    rt: RT,
    member_id: UUID | None = None,
    plan_id: UUID | None = None,
    kind: Annotated[MemberKind | None, Query(description="the member's kind")] = None,
    region: Region = None,
    strand: Annotated[Strand | None, Query(description="the plan's strand")] = None,
    state: CommitmentState | None = None,
    value: Annotated[OgpValue | None, Query(description="relevant to this OGP value")] = None,
    policy_area: Annotated[str | None, Query(max_length=100)] = None,
    year: Year = None,
    q: Annotated[
        str | None,
        Query(
            max_length=300,
            description="full-text search in English, French, Spanish and Arabic (web-search syntax: "
            '"a phrase", or, -word); results by relevance',
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = queries.DEFAULT_LIMIT,
) -> Response:
    """Commitments of every plan (without milestones): in creation order, or by relevance to
    ``q``."""
    page = await queries.list_commitments(
        rt.pool,
        member_id=member_id,
        plan_id=plan_id,
        kind=kind,
        region=region,
        strand=strand,
        state=state,
        value=value,
        policy_area=policy_area,
        year=year,
        q=(q or "").strip() or None,
        cursor=cursor,
        limit=limit,
    )
    return _page(page)
