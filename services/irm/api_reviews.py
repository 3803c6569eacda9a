"""The reviews API: public reads; writes by IRM staff and the assigned researcher."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from services.irm.queries import reviews as queries
from shared.events.irm import ReviewKind
from shared.http import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["reviews"])
RT = Annotated[Runtime, Depends(runtime_of)]


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
    return [ReviewOut(**r) for r in await queries.reviews(rt.pool, plan_id, member_id, limit)]


@router.get("/reviews/{review_id}", response_model=ReviewOut)
async def get_review(review_id: UUID, rt: RT) -> ReviewOut:
    row = await queries.review(rt.pool, review_id)
    if row is None:
        raise NotFound(f"review {review_id}")
    return ReviewOut(**row)
