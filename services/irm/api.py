"""Public read API of the IRM service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from shared.events.irm import ReviewKind
from shared.http import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["reviews"])
RT = Annotated[Runtime, Depends(runtime_of)]

_COLUMNS = "id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at"


class ReviewOut(BaseModel):
    id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind
    state: str
    opened_on: date
    due_date: date
    scheduled_at: datetime


@router.get("/reviews", response_model=list[ReviewOut])
async def list_reviews(
    rt: RT,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewOut]:
    rows = await rt.pool.fetch(
        f"""SELECT {_COLUMNS} FROM reviews
            WHERE ($1::uuid IS NULL OR plan_id = $1) AND ($2::uuid IS NULL OR member_id = $2)
            ORDER BY due_date, id LIMIT $3""",  # noqa: S608  (constant column list, values bound)
        plan_id,
        member_id,
        limit,
    )
    return [ReviewOut(**dict(r)) for r in rows]


@router.get("/reviews/{review_id}", response_model=ReviewOut)
async def get_review(review_id: UUID, rt: RT) -> ReviewOut:
    row = await rt.pool.fetchrow(f"SELECT {_COLUMNS} FROM reviews WHERE id = $1", review_id)  # noqa: S608
    if row is None:
        raise NotFound(f"review {review_id}")
    return ReviewOut(**dict(row))
