"""Delivery log API. Staff only: it says who was told what, even if it shows no addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from services.notifications import queries
from shared.auth import Principal, Role, require
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["deliveries"])
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]


class DeliveryOut(BaseModel):
    id: UUID
    cause_event_id: UUID
    template: str
    channel: str
    plan_id: UUID | None
    recipient_id: UUID | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    rt: RT,
    _: Staff,
    plan_id: UUID | None = None,
    status: str | None = Query(default=None, pattern="^(pending|sent|failed)$"),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    return [DeliveryOut(**r) for r in await queries.deliveries(rt.pool, plan_id, status, limit)]
