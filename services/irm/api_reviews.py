"""The reviews API: public reads; writes by IRM staff, the assigned researcher and, for comments,
the member's government (pre-publication) or anyone signed in (public comment)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.irm.queries import reviews as queries
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import reviews as use_cases
from shared.auth import Authenticated, Authenticator, Principal, Role, require
from shared.errors import NotFound
from shared.events.irm import ReviewKind, ReviewState
from shared.http import Problem
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["reviews"])
RT = Annotated[Runtime, Depends(runtime_of)]
IrmStaff = Annotated[Principal, Depends(require(Role.IRM))]
Drafter = Annotated[Principal, Depends(require(Role.IRM, Role.RESEARCHER))]
StaffReader = Annotated[Principal, Depends(require(Role.IRM, Role.STAFF))]


Responses = dict[int | str, dict[str, Any]]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


_401: Responses = {401: _problem("no valid bearer token")}
_404: Responses = {404: _problem("the review (or comment, or researcher) does not exist")}
_422: Responses = {422: _problem("a field is missing or malformed (names the field)")}
_403_IRM: Responses = {403: _problem("the caller is not IRM staff (role irm)")}
_403_DRAFTER: Responses = {
    403: _problem(
        "the caller is neither IRM staff nor the researcher assigned to this review (role researcher)"
    )
}
_409_STEP: Responses = {
    409: _problem("`review.transition_not_allowed`: the review is not in a state that allows this step")
}


def settings_of(rt: Runtime) -> IrmSettings:
    return IrmSettings.of(rt.settings)


async def _maybe_principal(request: Request) -> Principal | None:
    """Reads are public; a valid token of IRM or OGP staff sees more. A missing or bad token is
    simply the public view."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    auth: Authenticator = request.app.state.authenticator
    try:
        return await auth.verify(token.strip())
    except Problem:
        return None


Viewer = Annotated[Principal | None, Depends(_maybe_principal)]


def _is_staff(who: Principal | None) -> bool:
    return who is not None and who.has(Role.IRM, Role.STAFF)


# --- reads ----------------------------------------------------------------------------------------


class ReviewOut(BaseModel):
    id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind
    state: ReviewState
    opened_on: date
    due_date: date
    scheduled_at: datetime
    state_changed_at: datetime | None = None
    comments_until: date | None = None
    published_on: date | None = None
    report_title: str | None = None
    report_url: str | None = None
    withdrawn_reason: str | None = None


class ReviewDetail(ReviewOut):
    #: The draft, once it is out for public comment (IRM and OGP staff: always).
    draft_url: str | None = None
    #: IRM and OGP staff only.
    researcher_id: UUID | None = None
    researcher_name: str | None = None
    assigned_at: datetime | None = None


class CommentOut(BaseModel):
    id: UUID
    phase: ReviewState
    author_role: str
    text: str
    received_at: datetime
    considered_note: str | None = None
    considered_at: datetime | None = None
    #: IRM and OGP staff only.
    author: str | None = None
    considered_by: str | None = None


class ResearcherOut(BaseModel):
    id: UUID
    subject: str
    name: str
    ties: list[UUID]
    registered_at: datetime


#: The year a review belongs to: the year of its ``opened_on`` (the day it started: the plan's
#: submission for an action plan review, the plan's end for a results report), as a finding's
#: year is the year it was found and a procedural review's the year it started.
Year = Annotated[
    int | None,
    Query(ge=2011, le=2100, description="the year the review was opened (`opened_on`), not its due date"),
]


@router.get("/reviews", response_model=list[ReviewOut])
async def list_reviews(
    rt: RT,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    state: ReviewState | None = None,
    year: Year = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewOut]:
    """Reviews by plan, member, state and year opened (the year of ``opened_on``, the day the
    review started; not the due date, which may fall in the next year), soonest due first
    (public)."""
    rows = await queries.reviews(rt.pool, plan_id, member_id, limit, state.value if state else None, year)
    return [ReviewOut(**r) for r in rows]


@router.get("/reviews/{review_id}", response_model=ReviewDetail, responses={**_404})
async def get_review(review_id: UUID, rt: RT, who: Viewer) -> ReviewDetail:
    """A review with its dates; the draft once public; the researcher for IRM and OGP staff."""
    row = await queries.review(rt.pool, review_id, staff=_is_staff(who))
    if row is None:
        raise NotFound(f"review {review_id}")
    return ReviewDetail(**row)


@router.get("/reviews/{review_id}/comments", response_model=list[CommentOut], responses={**_404})
async def list_comments(review_id: UUID, rt: RT, who: Viewer) -> list[CommentOut]:
    """The public sees the comments made in public comment, once the draft is public (404 before:
    there is nothing public to show); IRM and OGP staff see every comment, author and note."""
    rows = await queries.comments(rt.pool, review_id, staff=_is_staff(who))
    if rows is None:
        raise NotFound(f"public comments of review {review_id}")
    return [CommentOut(**r) for r in rows]


@router.get(
    "/researchers",
    response_model=list[ResearcherOut],
    responses={**_401, 403: _problem("not IRM or OGP staff")},
)
async def list_researchers(
    rt: RT, _: StaffReader, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[ResearcherOut]:
    return [ResearcherOut(**r) for r in await queries.researchers(rt.pool, limit)]


# --- writes ---------------------------------------------------------------------------------------


class ResearcherIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200, description="the researcher's token subject")
    name: str = Field(min_length=1, max_length=200)
    ties: list[UUID] = Field(default_factory=list, description="members whose government they have ties with")


class AssignmentIn(BaseModel):
    researcher_id: UUID


class DraftIn(BaseModel):
    draft_url: str = Field(min_length=1, max_length=2000, description="https URL of the draft")


class StepIn(BaseModel):
    to: Literal["pre_publication", "public_comment"]


class CommentIn(BaseModel):
    text: str = Field(min_length=1)


class ConsideredIn(BaseModel):
    note: str = Field(min_length=1, max_length=10_000)


class PublishIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    url: str = Field(min_length=1, max_length=2000, description="https URL of the report")


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def _detail(rt: Runtime, review_id: UUID) -> ReviewDetail:
    row = await queries.review(rt.pool, review_id, staff=True)
    assert row is not None  # just written
    return ReviewDetail(**row)


@router.post(
    "/researchers", status_code=201, response_model=ResearcherOut,
    responses={**_401, **_403_IRM, **_422},
)  # fmt: skip
async def register_researcher(body: ResearcherIn, rt: RT, who: IrmStaff) -> ResearcherOut:
    """IRM staff register a researcher (or update their name and declared ties)."""
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        r = await use_cases.register_researcher(
            uow, use_cases.RegisterResearcher(who, body.subject, body.name, frozenset(body.ties))
        )
    return ResearcherOut(
        id=r.id, subject=r.subject, name=r.name, ties=sorted(r.ties), registered_at=r.registered_at
    )


@router.post(
    "/reviews/{review_id}/assignment", response_model=ReviewDetail,
    responses={
        **_401, **_403_IRM, **_404, **_422,
        409: _problem(
            "`review.researcher_not_independent`: the researcher declared a tie with the member; "
            "`review.assignment_closed`: the review is past research"
        ),
    },
)  # fmt: skip
async def assign_researcher(review_id: UUID, body: AssignmentIn, rt: RT, who: IrmStaff) -> ReviewDetail:
    """IRM staff assign an independent researcher: research starts."""
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        await use_cases.assign_researcher(uow, use_cases.AssignResearcher(who, review_id, body.researcher_id))
    return await _detail(rt, review_id)


@router.post(
    "/reviews/{review_id}/draft", response_model=ReviewDetail,
    responses={**_401, **_403_DRAFTER, **_404, **_422, **_409_STEP},
)  # fmt: skip
async def submit_draft(review_id: UUID, body: DraftIn, rt: RT, who: Drafter) -> ReviewDetail:
    """The assigned researcher (or IRM staff) submits the draft (https URL): researching → draft."""
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        await use_cases.submit_draft(uow, use_cases.SubmitDraft(who, review_id, body.draft_url))
    return await _detail(rt, review_id)


@router.post(
    "/reviews/{review_id}/steps", response_model=ReviewDetail,
    responses={**_401, **_403_DRAFTER, **_404, **_422, **_409_STEP},
)  # fmt: skip
async def move_step(review_id: UUID, body: StepIn, rt: RT, who: Drafter) -> ReviewDetail:
    """draft → pre_publication (the government and the forum comment for ``pre_publication_days``)
    → public_comment (anyone signed in, ``public_comment_days``; the timer moves it when the
    pre-publication window ends)."""
    s = settings_of(rt)
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        await use_cases.move_step(uow, use_cases.MoveStep(
            who, review_id, body.to, s.today(), s.pre_publication_days, s.public_comment_days,
        ))  # fmt: skip
    return await _detail(rt, review_id)


@router.post(
    "/reviews/{review_id}/comments", status_code=201, response_model=CommentOut,
    responses={
        **_401, **_404, **_422,
        403: _problem("pre-publication: only the member's government and IRM or OGP staff comment"),
        409: _problem("`review.comment_window_closed`: the draft takes no comments now"),
    },
)  # fmt: skip
async def comment(review_id: UUID, body: CommentIn, rt: RT, who: Authenticated) -> CommentOut:
    """Comment on a draft: the text stays in the IRM's database; the event carries ids only."""
    s = settings_of(rt)
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        c = await use_cases.comment_on_draft(
            uow, use_cases.CommentOnDraft(who, review_id, body.text, s.today(), s.comment_max_chars)
        )
    return CommentOut(
        id=c.id,
        phase=c.phase,
        author_role=c.author_role,
        text=c.text,
        received_at=c.received_at,
        author=c.author,
    )


@router.post(
    "/reviews/{review_id}/comments/{comment_id}/considered", response_model=CommentOut,
    responses={
        **_401, **_403_DRAFTER, **_404, **_422,
        409: _problem("`review.closed`: the review is published or withdrawn"),
    },
)  # fmt: skip
async def consider(review_id: UUID, comment_id: UUID, body: ConsideredIn, rt: RT, who: Drafter) -> CommentOut:
    """Mark a comment considered, with a note saying how."""
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        c = await use_cases.consider_comment(
            uow, use_cases.ConsiderComment(who, review_id, comment_id, body.note)
        )
    return CommentOut(
        id=c.id, phase=c.phase, author_role=c.author_role, text=c.text, received_at=c.received_at,
        considered_note=c.considered_note, considered_at=c.considered_at, author=c.author,
        considered_by=c.considered_by,
    )  # fmt: skip


@router.post(
    "/reviews/{review_id}/publish", response_model=ReviewDetail,
    responses={
        **_401, **_403_DRAFTER, **_404, **_422,
        409: _problem(
            "`review.comments_not_considered`: a comment is not marked considered; "
            "`review.transition_not_allowed`: the review is not in public comment"
        ),
    },
)  # fmt: skip
async def publish(review_id: UUID, body: PublishIn, rt: RT, who: Drafter) -> ReviewDetail:
    """Publish the final report (title and https URL); the plans service files it in the plan's
    repository."""
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        await use_cases.publish_review(
            uow, use_cases.PublishReview(who, review_id, body.title, body.url, settings_of(rt).today())
        )
    return await _detail(rt, review_id)


@router.post(
    "/reviews/{review_id}/withdraw", response_model=ReviewDetail,
    responses={**_401, **_403_IRM, **_404, **_422, **_409_STEP},
)  # fmt: skip
async def withdraw(review_id: UUID, body: WithdrawIn, rt: RT, who: IrmStaff) -> ReviewDetail:
    """IRM staff withdraw a review, with a reason, at any step before publication."""
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        await use_cases.withdraw_review(uow, use_cases.WithdrawReview(who, review_id, body.reason))
    return await _detail(rt, review_id)
