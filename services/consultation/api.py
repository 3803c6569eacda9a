"""HTTP API of co-creation spaces, consultation rounds and participation reports.

Reads are public. Rounds are run by staff or the plan's own government point of contact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.consultation import reports, rounds
from services.consultation.schemas import OfflineEventIn, RoundIn, RoundOut
from services.consultation.settings import ConsultationSettings
from shared.auth import Principal, Role, require
from shared.http import NotFound
from shared.runtime import Runtime, runtime_of
from shared.uow import unit_of_work

router = APIRouter(prefix="/v1")
RT = Annotated[Runtime, Depends(runtime_of)]
Organiser = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]


def settings_of(rt: Runtime) -> ConsultationSettings:
    return ConsultationSettings.of(rt.settings)


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


@router.get("/plans/{plan_id}/co-creation", response_model=CoCreationOut, tags=["co-creation"])
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


# --- rounds ------------------------------------------------------------------------------------


@router.post("/plans/{plan_id}/rounds", status_code=201, response_model=RoundOut, tags=["rounds"])
async def schedule_round(plan_id: UUID, body: RoundIn, rt: RT, who: Organiser) -> RoundOut:
    """Announce a round. It opens and closes by itself at the set times. Less than two weeks'
    notice is accepted but recorded (``short_notice``), because the IRM assesses it."""
    row = await rounds.schedule_round(rt.pool, who, plan_id, body, settings_of(rt).notice_days_required)
    return RoundOut(**row)


@router.get("/plans/{plan_id}/rounds", response_model=list[RoundOut], tags=["rounds"])
async def list_rounds(plan_id: UUID, rt: RT) -> list[RoundOut]:
    rows = await rt.pool.fetch(
        f"SELECT {rounds.ROUND_COLUMNS} FROM rounds WHERE plan_id = $1 ORDER BY opens_at, id",  # noqa: S608
        plan_id,
    )
    if not rows and not await rt.pool.fetchval(
        "SELECT true FROM co_creation_spaces WHERE plan_id = $1", plan_id
    ):
        raise NotFound(f"plan {plan_id}")
    return [RoundOut(**dict(r)) for r in rows]


@router.get("/rounds/{round_id}", response_model=RoundOut, tags=["rounds"])
async def get_round(round_id: UUID, rt: RT) -> RoundOut:
    row = await rt.pool.fetchrow(f"SELECT {rounds.ROUND_COLUMNS} FROM rounds WHERE id = $1", round_id)  # noqa: S608 (constant SQL fragments; values are parameters)
    if row is None:
        raise NotFound(f"round {round_id}")
    return RoundOut(**dict(row))


@router.post("/rounds/{round_id}/cancel", response_model=RoundOut, tags=["rounds"])
async def cancel_round(round_id: UUID, rt: RT, who: Organiser) -> RoundOut:
    """Call off a round that has not opened yet (an open round runs to its end: 409)."""
    return RoundOut(**await rounds.cancel_round(rt.pool, who, round_id))


@router.post("/rounds/{round_id}/offline-events", status_code=201, tags=["rounds"])
async def record_offline_event(
    round_id: UUID, body: OfflineEventIn, rt: RT, who: Organiser
) -> dict[str, Any]:
    """A workshop or hearing held off the platform, with how many took part."""
    return await rounds.record_offline_event(rt.pool, who, round_id, body)


@router.get("/rounds/{round_id}/offline-events", tags=["rounds"])
async def list_offline_events(round_id: UUID, rt: RT) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        """SELECT id, format, held_on, participants, by_sector, report_url FROM offline_events
           WHERE round_id = $1 ORDER BY held_on, id""",
        round_id,
    )
    return [dict(r) for r in rows]


# --- participation --------------------------------------------------------------------------


@router.get("/rounds/{round_id}/participation", tags=["participation"])
async def round_participation(round_id: UUID, rt: RT) -> dict[str, Any]:
    """Live figures of one round (the published report is frozen when the round closes)."""
    async with rt.pool.acquire() as conn:
        figures = await reports.compute(
            conn, round_id=round_id, min_cell=settings_of(rt).participation_min_cell
        )
    return figures | {"by": figures["by"].model_dump()}


@router.get("/plans/{plan_id}/participation", tags=["participation"])
async def plan_participation(plan_id: UUID, rt: RT) -> dict[str, Any]:
    """Live figures of the plan's whole co-creation cycle, forum meetings included."""
    async with rt.pool.acquire() as conn:
        figures = await reports.compute(
            conn, plan_id=plan_id, min_cell=settings_of(rt).participation_min_cell
        )
    return figures | {"by": figures["by"].model_dump()}


@router.post("/plans/{plan_id}/participation-reports", status_code=201, tags=["participation"])
async def publish_participation_report(plan_id: UUID, rt: RT, who: Organiser) -> dict[str, Any]:
    """Publish the cycle's report now (it is also published when the plan is submitted), e.g.
    once the implementation-phase forum meetings have been held."""
    async with unit_of_work(rt.pool, rounds.SERVICE) as uow:
        await rounds.space_for_edit(uow.conn, who, plan_id)
        event = await reports.publish_cycle_report(uow, plan_id, settings_of(rt).participation_min_cell)
    return event.model_dump(mode="json")


@router.get("/plans/{plan_id}/participation-reports", tags=["participation"])
async def list_participation_reports(plan_id: UUID, rt: RT) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        "SELECT report FROM participation_reports WHERE plan_id = $1 ORDER BY reported_at, id", plan_id
    )
    return [r["report"] for r in rows]
