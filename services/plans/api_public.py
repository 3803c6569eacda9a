"""Public, anonymous reads of the plans service."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from services.plans import queries, store
from services.plans.schemas import PlanOut
from shared.http import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["public"])
RT = Annotated[Runtime, Depends(runtime_of)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: UUID, rt: RT) -> PlanOut:
    row = await store.get_plan(rt.pool, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id}")
    return PlanOut(**row)


@router.get("/plans/{plan_id}/full")
async def get_plan_full(plan_id: UUID, rt: RT) -> dict[str, Any]:
    """The plan with every commitment and milestone, as the public page shows it."""
    async with rt.pool.acquire() as conn:
        plan = await queries.plan_with_commitments(conn, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id}")
    plan.pop("point_of_contact_id", None)
    return plan


@router.get("/plans/{plan_id}/commitments")
async def list_commitments(plan_id: UUID, rt: RT) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        plan = await queries.plan_with_commitments(conn, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id}")
    commitments: list[dict[str, Any]] = plan["commitments"]
    return commitments


@router.get("/commitments/{commitment_id}")
async def get_commitment(commitment_id: UUID, rt: RT) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        c = await store.get_commitment(conn, commitment_id)
        if c is None:
            raise NotFound(f"commitment {commitment_id}")
        milestones = await store.milestones_of(conn, commitment_id)
    return queries.public_commitment(c, milestones)


@router.get("/plans/{plan_id}/documents")
async def list_documents(plan_id: UUID, rt: RT) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        """SELECT id, type, title, url, language, published_on, created_at FROM documents
           WHERE plan_id = $1 ORDER BY published_on DESC, created_at DESC""",
        plan_id,
    )
    return [dict(r) for r in rows]
