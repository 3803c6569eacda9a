"""Delivery log API. Staff only: it says who was told what, even if it shows no addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

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
    rows = await rt.pool.fetch(
        """SELECT d.id, d.cause_event_id, d.template, d.channel, d.plan_id,
                  coalesce(d.recipient_id, pc.contact_id) AS recipient_id, d.status, d.attempts,
                  d.last_error, d.created_at, d.sent_at
           FROM deliveries d LEFT JOIN plan_contacts pc ON pc.plan_id = d.plan_id
           WHERE ($1::uuid IS NULL OR d.plan_id = $1) AND ($2::text IS NULL OR d.status = $2)
           ORDER BY d.created_at DESC LIMIT $3""",
        plan_id,
        status,
        limit,
    )
    return [DeliveryOut(**dict(r)) for r in rows]
