"""Public read API of the consultation service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shared.http import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["co-creation"])
RT = Annotated[Runtime, Depends(runtime_of)]


class CommitmentSpaceOut(BaseModel):
    commitment_id: UUID
    number: int
    title: str
    opened_at: datetime


class CoCreationOut(BaseModel):
    plan_id: UUID
    member_id: UUID
    title: str | None
    state: str
    opened_at: datetime | None
    closed_at: datetime | None
    commitments: list[CommitmentSpaceOut]


@router.get("/plans/{plan_id}/co-creation", response_model=CoCreationOut)
async def get_co_creation(plan_id: UUID, rt: RT) -> CoCreationOut:
    async with rt.pool.acquire() as conn:
        space = await conn.fetchrow(
            """SELECT plan_id, member_id, title, state, opened_at, closed_at
               FROM co_creation_spaces WHERE plan_id = $1""",
            plan_id,
        )
        if space is None:
            raise NotFound(f"co-creation space of plan {plan_id}")
        commitments = await conn.fetch(
            """SELECT commitment_id, number, title, opened_at FROM commitment_spaces
               WHERE plan_id = $1 ORDER BY number""",
            plan_id,
        )
    return CoCreationOut(**dict(space), commitments=[CommitmentSpaceOut(**dict(c)) for c in commitments])
