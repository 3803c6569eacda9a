"""HTTP API of submissions, comments and moderation.

Posting needs a token (participants, government officials, staff); reading is public and never
shows who wrote an input beyond the display name its author chose, nor a hidden input's text.
Moderators (and staff) see everything, and every action they take is in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from services.consultation.api import settings_of
from services.consultation.domain.contacts import ContactRequest
from services.consultation.domain.inputs import Anchor, Input, Text
from services.consultation.queries import inputs as input_queries
from services.consultation.schemas import CommentIn, FlagIn, HideIn, InputIn, RestoreIn
from services.consultation.settings import ConsultationSettings
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases import inputs
from shared.auth import Authenticated, Principal, Role, require
from shared.events.consultation import InputKind
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1")


RT = Annotated[Runtime, Depends(runtime_of)]
Author = Annotated[Principal, Depends(require(Role.PARTICIPANT, Role.GOVERNMENT, Role.STAFF))]
Moderator = Annotated[Principal, Depends(require(Role.MODERATOR, Role.STAFF))]

MAX_PAGE = 200


class InputCreated(BaseModel):
    """The documented shape of the 201 that :func:`_created` encodes by hand."""

    id: UUID
    seq: int
    kind: InputKind
    round_id: UUID
    created_at: datetime


class FlagOut(BaseModel):
    id: UUID
    #: Flags no moderator has acted on yet.
    flags: int
    already_flagged: bool


def _limit(settings: ConsultationSettings) -> inputs.RateLimit:
    return _rate_limit(settings.rate_limit_inputs, settings.rate_limit_window_s)


@cache
def _rate_limit(per_window: int, window_s: float) -> inputs.RateLimit:
    """One value per setting (there is one setting): not rebuilt for every post."""
    return inputs.RateLimit(per_window, timedelta(seconds=window_s))


def _post(
    who: Principal, round_id: UUID, body: InputIn, kind: InputKind, settings: ConsultationSettings
) -> inputs.PostInput:
    anchor = body.anchor
    notify = body.notify
    return inputs.PostInput(
        who=who,
        round_id=round_id,
        kind=kind,
        text=Text(
            title=body.title,
            body=body.body,
            alignment=body.alignment,
            language=body.language,
            links=[str(u) for u in body.links],
            display_name=body.display_name,
            stakeholder_type=body.stakeholder_type,
            region=body.region,
            gender=body.gender.value if body.gender else None,
        ),
        limit=_limit(settings),
        max_chars=settings.input_max_chars,
        anchor=Anchor(anchor.type, anchor.commitment_id, anchor.section, anchor.quote) if anchor else None,
        parent_id=body.parent_id if isinstance(body, CommentIn) else None,
        notify=ContactRequest(notify.name, notify.email, notify.phone, notify.language) if notify else None,
    )


def _created(item: Input) -> Response:
    """The 201 answer, encoded here: the same JSON FastAPI would make of the dict, without its
    generic validation and encoding pass (the posting path is the one under load). Every value is
    a UUID, an integer, an enum's value or an ISO 8601 time: nothing in them needs escaping, so
    they are written as they are (a fifth of the cost of ``json.dumps``)."""
    assert item.seq is not None  # stored: a duplicate is refused before
    content = (
        f'{{"id":"{item.id}","seq":{item.seq:d},"kind":"{item.kind.value}",'
        f'"round_id":"{item.round_id}","created_at":"{item.created_at.isoformat()}"}}'
    )
    return Response(content.encode(), status_code=201, media_type="application/json")


@router.post("/rounds/{round_id}/submissions", status_code=201, response_model=InputCreated, tags=["inputs"])
async def submit(round_id: UUID, body: InputIn, rt: RT, who: Author) -> Response:
    """An idea for the plan. 409 when the round is not open or the same text was already posted
    by you; 429 with ``Retry-After`` when posting too fast. With ``notify``, the author is told
    of the reasoned response (422 naming ``notify.*`` when the contact is not usable)."""
    cmd = _post(who, round_id, body, InputKind.SUBMISSION, settings_of(rt))
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        item = await inputs.post_input(uow, cmd)
    return _created(item)


@router.post("/rounds/{round_id}/comments", status_code=201, response_model=InputCreated, tags=["inputs"])
async def comment(round_id: UUID, body: CommentIn, rt: RT, who: Author) -> Response:
    """A comment, in reply to ``parent_id`` when given (threads)."""
    cmd = _post(who, round_id, body, InputKind.COMMENT, settings_of(rt))
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        item = await inputs.post_input(uow, cmd)
    return _created(item)


@router.get("/rounds/{round_id}/inputs", tags=["inputs"])
async def list_inputs(
    round_id: UUID,
    rt: RT,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="`next_after` of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    kind: InputKind | None = None,
) -> Response:
    """The round's submissions and comments in the order they came, page by page. Threads are
    rebuilt from ``parent_id``; a hidden input keeps its place, its reason, and loses its text."""
    async with rt.pool.acquire() as conn:
        body = await input_queries.page_of_round(conn, round_id, after, limit, kind)
    return Response(body, media_type="application/json")


@router.get("/inputs/{input_id}", tags=["inputs"])
async def get_input(input_id: UUID, rt: RT) -> dict[str, Any]:
    return await input_queries.public_input(rt.pool, input_id)


@router.get("/inputs/{input_id}/replies", tags=["inputs"])
async def replies(
    input_id: UUID,
    rt: RT,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="`next_after` of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """The direct replies to an input, page by page in the order they came."""
    return await input_queries.replies(rt.pool, input_id, after, limit)


@router.get("/inputs/{input_id}/moderation", tags=["moderation"])
async def public_moderation_log(input_id: UUID, rt: RT) -> list[dict[str, Any]]:
    """What was done to an input and the public reason; who did it is for moderators only."""
    return await input_queries.public_moderation_log(rt.pool, input_id)


# --- moderation ----------------------------------------------------------------------------


@router.post("/inputs/{input_id}/flags", tags=["moderation"], responses={200: {"model": FlagOut}})
async def flag(input_id: UUID, body: FlagIn, rt: RT, who: Authenticated) -> dict[str, Any]:
    """Anyone signed in may ask moderators to look at an input (once per person)."""
    cmd = inputs.FlagInput(who, input_id, body.reason, _limit(settings_of(rt)))
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        done = await inputs.flag_input(uow, cmd)
    return {"id": done.input_id, "flags": done.flags, "already_flagged": done.already_flagged}


@router.post("/inputs/{input_id}/hide", tags=["moderation"])
async def hide(input_id: UUID, body: HideIn, rt: RT, who: Moderator) -> dict[str, Any]:
    """Hide the text; its existence and ``public_reason`` stay public."""
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        await inputs.hide_input(uow, inputs.HideInput(who, input_id, body.public_reason, body.note))
    return await input_queries.public_input(rt.pool, input_id)


@router.post("/inputs/{input_id}/restore", tags=["moderation"])
async def restore(input_id: UUID, body: RestoreIn, rt: RT, who: Moderator) -> dict[str, Any]:
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        await inputs.restore_input(uow, inputs.RestoreInput(who, input_id, body.note))
    return await input_queries.public_input(rt.pool, input_id)


@router.get("/moderation/inputs/{input_id}", tags=["moderation"])
async def moderator_view(input_id: UUID, rt: RT, _: Moderator) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await input_queries.moderator_view(conn, input_id)


@router.get("/moderation/queue", tags=["moderation"])
async def moderation_queue(
    rt: RT, _: Moderator, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50
) -> list[dict[str, Any]]:
    """Flagged inputs not hidden yet, most flagged first."""
    return await input_queries.moderation_queue(rt.pool, limit)
