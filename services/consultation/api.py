"""HTTP API of co-creation spaces, consultation rounds and participation reports.

Reads are public. Rounds are run by staff or the plan's own government point of contact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.consultation.domain.rounds import Round
from services.consultation.queries import reports as report_queries
from services.consultation.queries import rounds as round_queries
from services.consultation.schemas import OfflineEventIn, RoundIn, RoundOut
from services.consultation.settings import ConsultationSettings
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases import reports, rounds
from shared.auth import Principal, Role, require
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1")
RT = Annotated[Runtime, Depends(runtime_of)]
Organiser = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]


def settings_of(rt: Runtime) -> ConsultationSettings:
    return ConsultationSettings.of(rt.settings)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def round_out(rnd: Round) -> RoundOut:
    """A round as the API shows it (times in UTC, as stored)."""
    return RoundOut(
        id=rnd.id, plan_id=rnd.plan_id, member_id=rnd.member_id, kind=rnd.kind,
        commitment_id=rnd.commitment_id, title=rnd.title, description=rnd.description,
        opens_at=rnd.opens_at.astimezone(UTC), closes_at=rnd.closes_at.astimezone(UTC),
        scheduled_at=rnd.scheduled_at.astimezone(UTC), notice_days=rnd.notice_days,
        short_notice=rnd.short_notice, state=rnd.state.value, opened_at=_utc(rnd.opened_at),
        closed_at=_utc(rnd.closed_at), close_reason=rnd.close_reason,
    )  # fmt: skip


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
        return CoCreationOut(**await round_queries.co_creation(conn, plan_id))


# --- rounds ------------------------------------------------------------------------------------


@router.post("/plans/{plan_id}/rounds", status_code=201, response_model=RoundOut, tags=["rounds"])
async def schedule_round(plan_id: UUID, body: RoundIn, rt: RT, who: Organiser) -> RoundOut:
    """Announce a round. It opens and closes by itself at the set times. Less than two weeks'
    notice is accepted but recorded (``short_notice``), because the IRM assesses it."""
    cmd = rounds.ScheduleRound(
        who, plan_id, body.kind, body.title, body.opens_at, body.closes_at,
        settings_of(rt).notice_days_required, body.description, body.commitment_id,
    )  # fmt: skip
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        rnd = await rounds.schedule_round(uow, cmd)
    return round_out(rnd)


@router.get("/plans/{plan_id}/rounds", response_model=list[RoundOut], tags=["rounds"])
async def list_rounds(plan_id: UUID, rt: RT) -> list[RoundOut]:
    return [RoundOut(**r) for r in await round_queries.rounds_of_plan(rt.pool, plan_id)]


@router.get("/rounds/{round_id}", response_model=RoundOut, tags=["rounds"])
async def get_round(round_id: UUID, rt: RT) -> RoundOut:
    return RoundOut(**await round_queries.round_(rt.pool, round_id))


@router.post("/rounds/{round_id}/cancel", response_model=RoundOut, tags=["rounds"])
async def cancel_round(round_id: UUID, rt: RT, who: Organiser) -> RoundOut:
    """Call off a round that has not opened yet (an open round runs to its end: 409)."""
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        rnd = await rounds.cancel_round(uow, rounds.CancelRound(who, round_id))
    return round_out(rnd)


@router.post("/rounds/{round_id}/offline-events", status_code=201, tags=["rounds"])
async def record_offline_event(
    round_id: UUID, body: OfflineEventIn, rt: RT, who: Organiser
) -> dict[str, Any]:
    """A workshop or hearing held off the platform, with how many took part."""
    cmd = rounds.RecordOfflineEvent(
        who, round_id, body.format, body.held_on, body.participants, dict(body.by_sector),
        str(body.report_url) if body.report_url else None,
    )  # fmt: skip
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        offline = await rounds.record_offline_event(uow, cmd)
    return {"id": offline.id, "round_id": round_id, **body.model_dump(mode="json")}


@router.get("/rounds/{round_id}/offline-events", tags=["rounds"])
async def list_offline_events(round_id: UUID, rt: RT) -> list[dict[str, Any]]:
    return await round_queries.offline_events(rt.pool, round_id)


# --- participation --------------------------------------------------------------------------


@router.get("/rounds/{round_id}/participation", tags=["participation"])
async def round_participation(round_id: UUID, rt: RT) -> dict[str, Any]:
    """Live figures of one round (the published report is frozen when the round closes)."""
    async with rt.pool.acquire() as conn:
        figures = await report_queries.participation(
            conn, round_id=round_id, min_cell=settings_of(rt).participation_min_cell
        )
    return figures | {"by": figures["by"].model_dump()}


@router.get("/plans/{plan_id}/participation", tags=["participation"])
async def plan_participation(plan_id: UUID, rt: RT) -> dict[str, Any]:
    """Live figures of the plan's whole co-creation cycle, forum meetings included."""
    async with rt.pool.acquire() as conn:
        figures = await report_queries.participation(
            conn, plan_id=plan_id, min_cell=settings_of(rt).participation_min_cell
        )
    return figures | {"by": figures["by"].model_dump()}


@router.post("/plans/{plan_id}/participation-reports", status_code=201, tags=["participation"])
async def publish_participation_report(plan_id: UUID, rt: RT, who: Organiser) -> dict[str, Any]:
    """Publish the cycle's report now (it is also published when the plan is submitted), e.g.
    once the implementation-phase forum meetings have been held."""
    cmd = reports.PublishCycleReport(who, plan_id, settings_of(rt).participation_min_cell)
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        event = await reports.publish_cycle_report(uow, cmd)
    return event.model_dump(mode="json")


@router.get("/plans/{plan_id}/participation-reports", tags=["participation"])
async def list_participation_reports(plan_id: UUID, rt: RT) -> list[dict[str, Any]]:
    return await report_queries.published_reports(rt.pool, plan_id)
