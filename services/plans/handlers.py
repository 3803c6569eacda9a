"""Use cases of the plans service: each runs in one unit of work, changes state and queues the
events that say so."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.plans import domain, store
from shared.auth import Principal
from shared.events.plans import (
    CommitmentAdded,
    ContactRegistered,
    MemberCreated,
    MemberKind,
    PlanCreated,
    PlanState,
    PlanStateChanged,
    PlanSubmitted,
)
from shared.http import Conflict, NotFound, Problem, Unprocessable
from shared.uow import unit_of_work

SERVICE = "plans"
Row = dict[str, Any]


def _forbidden(member_id: UUID) -> Problem:
    return Problem(403, "Forbidden", f"you may not edit the plans of member {member_id}")


async def create_member(pool: asyncpg.Pool, name: str, kind: MemberKind, country_code: str | None) -> Row:
    row = {
        "id": uuid4(),
        "name": name,
        "kind": kind.value,
        "country_code": country_code,
        "created_at": datetime.now(UTC),
    }
    async with unit_of_work(pool, SERVICE) as uow:
        await store.insert_member(uow, row)
        uow.publish(
            MemberCreated(
                member_id=row["id"],
                name=name,
                kind=kind,
                country_code=country_code,
                created_at=row["created_at"],
            )
        )
    return row


async def create_plan(
    pool: asyncpg.Pool,
    who: Principal,
    *,
    member_id: UUID,
    title: str,
    start_date: date,
    end_date: date,
    contact: Row,
) -> Row:
    if not who.acts_for(member_id):
        raise _forbidden(member_id)
    try:
        domain.check_dates(start_date, end_date)
    except domain.RuleViolation as rv:
        raise Unprocessable("end_date", rv.message) from None
    now = datetime.now(UTC)
    contact_id = uuid4()
    plan: Row = {
        "id": uuid4(),
        "member_id": member_id,
        "title": title,
        "start_date": start_date,
        "end_date": end_date,
        "point_of_contact_id": contact_id,
        "created_at": now,
    }
    async with unit_of_work(pool, SERVICE) as uow:
        if await store.get_member(uow.conn, member_id) is None:
            raise Problem(
                422,
                "Unprocessable Content",
                f"member_id: member {member_id} does not exist",
                errors=[{"field": "member_id", "message": "unknown member"}],
            )
        await store.insert_contact(uow, {"id": contact_id, **contact})
        await store.insert_plan(uow, plan)
        uow.publish(ContactRegistered(contact_id=contact_id, **contact))
        uow.publish(
            PlanCreated(
                plan_id=plan["id"],
                **{
                    k: plan[k]
                    for k in (
                        "member_id",
                        "title",
                        "start_date",
                        "end_date",
                        "point_of_contact_id",
                        "created_at",
                    )
                },
            )
        )
        created = await store.get_plan(uow.conn, plan["id"])
    assert created is not None
    return created


async def add_commitment(
    pool: asyncpg.Pool, who: Principal, plan_id: UUID, *, title: str, objective: str | None
) -> Row:
    now = datetime.now(UTC)
    row: Row = {
        "id": uuid4(),
        "plan_id": plan_id,
        "title": title,
        "objective": objective,
        "created_at": now,
    }
    async with unit_of_work(pool, SERVICE) as uow:
        plan = await store.get_plan(uow.conn, plan_id, for_update=True)
        if plan is None:
            raise NotFound(f"plan {plan_id}")
        if not who.acts_for(plan["member_id"]):
            raise _forbidden(plan["member_id"])
        if not domain.can_add_commitment(PlanState(plan["state"])):
            raise Conflict(
                f"commitments cannot be added to a plan in state {plan['state']}",
                rule="plan.commitments_frozen",
            )
        row["number"] = await store.insert_commitment(uow, row)
        uow.publish(
            CommitmentAdded(
                plan_id=plan_id,
                commitment_id=row["id"],
                member_id=plan["member_id"],
                number=row["number"],
                title=title,
                added_at=now,
            )
        )
    return row


async def transition_plan(pool: asyncpg.Pool, who: Principal, plan_id: UUID, target: PlanState) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        plan = await store.get_plan(uow.conn, plan_id, for_update=True)
        if plan is None:
            raise NotFound(f"plan {plan_id}")
        if not who.acts_for(plan["member_id"]):
            raise _forbidden(plan["member_id"])
        current = PlanState(plan["state"])
        try:
            domain.check_transition(current, target, commitment_count=plan["commitment_count"])
        except domain.RuleViolation as rv:
            raise Conflict(rv.message, rule=rv.rule) from None
        submitted = now if target is PlanState.SUBMITTED else None
        await store.set_plan_state(uow, plan_id, target.value, submitted)
        uow.publish(
            PlanStateChanged(
                plan_id=plan_id,
                member_id=plan["member_id"],
                from_state=current,
                to_state=target,
                changed_at=now,
                changed_by=who.subject,
            )
        )
        if target is PlanState.SUBMITTED:
            uow.publish(
                PlanSubmitted(
                    plan_id=plan_id,
                    member_id=plan["member_id"],
                    title=plan["title"],
                    start_date=plan["start_date"],
                    end_date=plan["end_date"],
                    commitment_count=plan["commitment_count"],
                    point_of_contact_id=plan["point_of_contact_id"],
                    submitted_at=now,
                )
            )
        updated = await store.get_plan(uow.conn, plan_id)
    assert updated is not None
    return updated
