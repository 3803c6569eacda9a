"""One-transaction calls of the member and plan use cases for callers that hold a pool or a
plain unit of work and work with rows (scripts, the integration tests, the importer). No rules
here: each opens (or wraps) the plans unit of work and calls :mod:`services.plans.use_cases`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.plans.store import PgPlansUnitOfWork
from services.plans.use_cases import members, plans
from services.plans.use_cases._common import staff
from shared.auth import Principal
from shared.events.plans import MemberKind, PlanState, Strand
from shared.uow import UnitOfWork, unit_of_work

SERVICE = "plans"


def plans_uow(uow: UnitOfWork) -> PgPlansUnitOfWork:
    """The plans unit of work on ``uow``'s transaction, queueing into the same outbox."""
    if isinstance(uow, PgPlansUnitOfWork):
        return uow
    return PgPlansUnitOfWork(uow.conn, uow.service, uow._pending)


def _row(obj: Any) -> dict[str, Any]:
    row: dict[str, Any] = asdict(obj)
    return {k: (v.value if isinstance(v, PlanState | MemberKind) else v) for k, v in row.items()}


async def create_member(
    pool: asyncpg.Pool, name: str, kind: MemberKind, country_code: str | None, region: str | None = None
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        member = await members.create_member(uow, members.CreateMember(name, kind, country_code, region))
    return _row(member)


async def create_member_in(uow: UnitOfWork, row: dict[str, Any]) -> None:
    await members.create_member(
        plans_uow(uow),
        members.CreateMember(
            row["name"], MemberKind(row["kind"]), row["country_code"], row.get("region"),
            source_key=row.get("source_key"), member_id=row["id"], now=row["created_at"],
        ),
    )  # fmt: skip


async def create_plan(
    pool: asyncpg.Pool,
    who: Principal,
    *,
    member_id: UUID,
    title: str,
    start_date: date,
    end_date: date,
    contact: dict[str, Any],
    strands: list[Strand] | None = None,
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        plan = await plans.create_plan(
            uow,
            plans.CreatePlan(
                who, member_id, title, start_date, end_date, plans.ContactDetails(**contact), strands
            ),
        )
    return _row(plan)


async def create_plan_in(
    uow: UnitOfWork,
    member: dict[str, Any],
    *,
    title: str,
    start_date: date,
    end_date: date,
    length: int,
    contact: dict[str, Any],
    strands: list[Strand] | None,
    now: datetime,
    source_key: str | None = None,
) -> dict[str, Any]:
    """The importer's plan (``length`` and ``now`` are the use case's own)."""
    plan = await plans.create_plan(
        plans_uow(uow),
        plans.CreatePlan(
            staff(SERVICE), member["id"], title, start_date, end_date, plans.ContactDetails(**contact),
            strands, source_key,
        ),
    )  # fmt: skip
    return _row(plan)


async def transition_plan(
    pool: asyncpg.Pool, who: Principal, plan_id: UUID, target: PlanState
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        plan = await plans.transition_plan(uow, plans.TransitionPlan(who, plan_id, target))
    return _row(plan)
