"""HTTP API of the plans service: parse, authorise, call a use case, shape the answer.

Reads are public; writes need a token (staff, or the member's own government point of contact).
Contact details are never returned: the public sees only the contact's opaque id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.plans import handlers, store
from shared.auth import Principal, Role, require
from shared.events.plans import MemberKind, PlanState
from shared.http import NotFound
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1")
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Editor = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MemberIn(_In):
    name: str = Field(min_length=1, max_length=300)
    kind: MemberKind
    country_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class MemberOut(BaseModel):
    id: UUID
    name: str
    kind: MemberKind
    country_code: str | None
    created_at: datetime


class ContactIn(_In):
    name: str = Field(min_length=1, max_length=300)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    language: str = Field(default="en", pattern=r"^(ar|en|es|fr)$")


class PlanIn(_In):
    member_id: UUID
    title: str = Field(min_length=1, max_length=500)
    start_date: date
    end_date: date
    point_of_contact: ContactIn


class PlanOut(BaseModel):
    id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    state: PlanState
    point_of_contact_id: UUID
    commitment_count: int
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime


class TransitionIn(_In):
    to: PlanState


class CommitmentIn(_In):
    title: str = Field(min_length=1, max_length=500)
    objective: str | None = Field(default=None, max_length=20_000)


class CommitmentOut(BaseModel):
    id: UUID
    plan_id: UUID
    number: int
    title: str
    objective: str | None
    created_at: datetime


@router.post("/members", status_code=201, response_model=MemberOut, tags=["members"])
async def create_member(body: MemberIn, rt: RT, _: Staff) -> MemberOut:
    row = await handlers.create_member(rt.pool, body.name, body.kind, body.country_code)
    return MemberOut(**row)


@router.get("/members/{member_id}", response_model=MemberOut, tags=["members"])
async def get_member(member_id: UUID, rt: RT) -> MemberOut:
    row = await store.get_member(rt.pool, member_id)
    if row is None:
        raise NotFound(f"member {member_id}")
    return MemberOut(**row)


@router.post("/plans", status_code=201, response_model=PlanOut, tags=["plans"])
async def create_plan(body: PlanIn, rt: RT, who: Editor) -> PlanOut:
    row = await handlers.create_plan(
        rt.pool,
        who,
        member_id=body.member_id,
        title=body.title,
        start_date=body.start_date,
        end_date=body.end_date,
        contact=body.point_of_contact.model_dump(),
    )
    return PlanOut(**row)


@router.get("/plans/{plan_id}", response_model=PlanOut, tags=["plans"])
async def get_plan(plan_id: UUID, rt: RT) -> PlanOut:
    row = await store.get_plan(rt.pool, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id}")
    return PlanOut(**row)


@router.post("/plans/{plan_id}/transitions", response_model=PlanOut, tags=["plans"])
async def transition(plan_id: UUID, body: TransitionIn, rt: RT, who: Editor) -> PlanOut:
    """Move the plan along its state machine; a move the rules forbid is a 409 naming the rule."""
    return PlanOut(**await handlers.transition_plan(rt.pool, who, plan_id, body.to))


@router.post(
    "/plans/{plan_id}/commitments", status_code=201, response_model=CommitmentOut,
    tags=["commitments"],
)  # fmt: skip
async def add_commitment(plan_id: UUID, body: CommitmentIn, rt: RT, who: Editor) -> CommitmentOut:
    row = await handlers.add_commitment(rt.pool, who, plan_id, title=body.title, objective=body.objective)
    return CommitmentOut(**row)


@router.get("/plans/{plan_id}/commitments", response_model=list[CommitmentOut], tags=["commitments"])
async def list_commitments(plan_id: UUID, rt: RT) -> list[CommitmentOut]:
    if await store.get_plan(rt.pool, plan_id) is None:
        raise NotFound(f"plan {plan_id}")
    return [CommitmentOut(**r) for r in await store.list_commitments(rt.pool, plan_id)]
