"""HTTP API of submissions, comments and moderation.

Posting needs a token (participants, government officials, staff); reading is public and never
shows who wrote an input beyond the display name its author chose, nor a hidden input's text.
Moderators (and staff) see everything, and every action they take is in the audit log.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.consultation import inputs
from services.consultation.api import settings_of
from services.consultation.schemas import CommentIn, FlagIn, HideIn, InputIn, RestoreIn
from shared.auth import Authenticated, Principal, Role, require
from shared.events.consultation import InputKind
from shared.http import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1")


RT = Annotated[Runtime, Depends(runtime_of)]
Author = Annotated[Principal, Depends(require(Role.PARTICIPANT, Role.GOVERNMENT, Role.STAFF))]
Moderator = Annotated[Principal, Depends(require(Role.MODERATOR, Role.STAFF))]

MAX_PAGE = 200

# One statement builds the page's JSON: keyset on the round's sequence, limit + 1 rows to know
# whether another page follows. The rows become JSON as ``json`` (text), not ``jsonb``: building
# jsonb and printing it again cost Postgres twice as much per page. The page comes back as UTF-8
# bytes (``bytea``), sent as they are: no decoding into a str and encoding back per request.
_PAGE_SQL = f"""
WITH page AS (
    SELECT {inputs.PUBLIC_COLUMNS},
           r.id AS response_id, r.decision, r.rationale, r.published_at AS responded_at
    FROM inputs i
    LEFT JOIN response_inputs ri ON ri.input_id = i.id
    LEFT JOIN responses r ON r.id = ri.response_id
    WHERE i.round_id = $1 AND i.seq > $2 AND ($4::text IS NULL OR i.kind = $4)
    ORDER BY i.round_id, i.seq  -- the order of the (round_id, seq) index, so the planner uses it
    LIMIT $3 + 1
), shown AS (
    SELECT * FROM page ORDER BY seq LIMIT $3
)
SELECT convert_to(json_build_object(
    'items', coalesce((SELECT json_agg(shown ORDER BY shown.seq) FROM shown), '[]'),
    'next_after', CASE WHEN (SELECT count(*) FROM page) > $3 THEN (SELECT max(seq) FROM shown) END
)::text, 'UTF8'), EXISTS (SELECT 1 FROM page)
"""  # noqa: S608 (constant SQL fragments; values are parameters)


def _created(row: dict[str, Any]) -> Response:
    """The 201 answer, encoded here: the same JSON FastAPI would make of the dict, without its
    generic validation and encoding pass (the posting path is the one under load)."""
    body = {
        "id": str(row["id"]),
        "seq": row["seq"],
        "kind": row["kind"],
        "round_id": str(row["round_id"]),
        "created_at": row["created_at"].isoformat(),
    }
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=201, media_type="application/json")


@router.post(
    "/rounds/{round_id}/submissions", status_code=201, response_model=dict[str, Any], tags=["inputs"]
)
async def submit(round_id: UUID, body: InputIn, rt: RT, who: Author) -> Response:
    """An idea for the plan. 409 when the round is not open or the same text was already posted
    by you; 429 with ``Retry-After`` when posting too fast."""
    return _created(
        await inputs.post_input(rt.pool, who, round_id, body, InputKind.SUBMISSION, settings_of(rt))
    )


@router.post("/rounds/{round_id}/comments", status_code=201, response_model=dict[str, Any], tags=["inputs"])
async def comment(round_id: UUID, body: CommentIn, rt: RT, who: Author) -> Response:
    """A comment, in reply to ``parent_id`` when given (threads)."""
    return _created(await inputs.post_input(rt.pool, who, round_id, body, InputKind.COMMENT, settings_of(rt)))


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
        row = await conn.fetchrow(_PAGE_SQL, round_id, after, limit, kind.value if kind else None)
        assert row is not None  # an aggregate: always one row
        body, any_row = row
        if not any_row and not await conn.fetchval("SELECT true FROM rounds WHERE id = $1", round_id):
            raise NotFound(f"round {round_id}")
    return Response(body, media_type="application/json")


@router.get("/inputs/{input_id}", tags=["inputs"])
async def get_input(input_id: UUID, rt: RT) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await inputs.public_input(conn, input_id)


@router.get("/inputs/{input_id}/replies", tags=["inputs"])
async def replies(
    input_id: UUID,
    rt: RT,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="`next_after` of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """The direct replies to an input, page by page in the order they came."""
    rows = await rt.pool.fetch(
        f"""SELECT {inputs.PUBLIC_COLUMNS} FROM inputs i WHERE i.parent_id = $1 AND i.seq > $2
            ORDER BY i.seq LIMIT $3 + 1""",  # noqa: S608 (constant SQL fragments; values are parameters)
        input_id,
        after,
        limit,
    )
    items = [dict(r) for r in rows[:limit]]
    if not items and not await rt.pool.fetchval("SELECT true FROM inputs WHERE id = $1", input_id):
        raise NotFound(f"submission or comment {input_id}")
    return {"items": items, "next_after": items[-1]["seq"] if len(rows) > limit else None}


@router.get("/inputs/{input_id}/moderation", tags=["moderation"])
async def public_moderation_log(input_id: UUID, rt: RT) -> list[dict[str, Any]]:
    """What was done to an input and the public reason; who did it is for moderators only."""
    rows = await rt.pool.fetch(
        """SELECT action, public_reason, at FROM moderation_log
           WHERE input_id = $1 AND action <> 'flagged' ORDER BY id""",
        input_id,
    )
    return [dict(r) for r in rows]


# --- moderation ----------------------------------------------------------------------------


@router.post("/inputs/{input_id}/flags", tags=["moderation"])
async def flag(input_id: UUID, body: FlagIn, rt: RT, who: Authenticated) -> dict[str, Any]:
    """Anyone signed in may ask moderators to look at an input (once per person)."""
    return await inputs.flag(rt.pool, who, input_id, body, settings_of(rt))


@router.post("/inputs/{input_id}/hide", tags=["moderation"])
async def hide(input_id: UUID, body: HideIn, rt: RT, who: Moderator) -> dict[str, Any]:
    """Hide the text; its existence and ``public_reason`` stay public."""
    return await inputs.hide(rt.pool, who, input_id, body)


@router.post("/inputs/{input_id}/restore", tags=["moderation"])
async def restore(input_id: UUID, body: RestoreIn, rt: RT, who: Moderator) -> dict[str, Any]:
    return await inputs.restore(rt.pool, who, input_id, body)


@router.get("/moderation/inputs/{input_id}", tags=["moderation"])
async def moderator_view(input_id: UUID, rt: RT, _: Moderator) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        return await inputs.moderator_view(conn, input_id)


@router.get("/moderation/queue", tags=["moderation"])
async def moderation_queue(
    rt: RT, _: Moderator, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50
) -> list[dict[str, Any]]:
    """Flagged inputs not hidden yet, most flagged first."""
    rows = await rt.pool.fetch(
        """SELECT id, kind, round_id, plan_id, title, body, flags, created_at FROM inputs
           WHERE flags > 0 AND NOT hidden ORDER BY flags DESC, seq LIMIT $1""",
        limit,
    )
    return [dict(r) for r in rows]
