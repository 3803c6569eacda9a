"""Use cases on members and action plans: each runs in one unit of work, changes state and queues
the events that say so. Commitment use cases are in :mod:`services.plans.commitments`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.plans import commitments, domain, eligibility, store
from services.plans.errors import forbidden, problem_for
from shared.auth import Principal
from shared.events.plans import (
    ContactRegistered,
    EligibilityScored,
    MemberCreated,
    MemberKind,
    MemberStatus,
    MemberStatusChanged,
    PlanCreated,
    PlanEnded,
    PlanImplementationStarted,
    PlanState,
    PlanStateChanged,
    PlanSubmitted,
    Strand,
)
from shared.http import Conflict, NotFound, Problem
from shared.uow import UnitOfWork, unit_of_work

SERVICE = "plans"
Row = dict[str, Any]


async def create_member(
    pool: asyncpg.Pool, name: str, kind: MemberKind, country_code: str | None, region: str | None = None
) -> Row:
    row = {
        "id": uuid4(),
        "name": name,
        "kind": kind.value,
        "country_code": country_code,
        "created_at": datetime.now(UTC),
        "region": region,
    }
    async with unit_of_work(pool, SERVICE) as uow:
        await create_member_in(uow, row)
    return row


async def create_member_in(uow: UnitOfWork, row: Row) -> None:
    await store.insert_member(uow, row)
    uow.publish(
        MemberCreated(
            member_id=row["id"],
            name=row["name"],
            kind=MemberKind(row["kind"]),
            country_code=row["country_code"],
            created_at=row["created_at"],
        )
    )


async def create_plan(
    pool: asyncpg.Pool,
    who: Principal,
    *,
    member_id: UUID,
    title: str,
    start_date: date,
    end_date: date,
    contact: Row,
    strands: list[Strand] | None = None,
) -> Row:
    if not who.acts_for(member_id):
        raise forbidden(member_id)
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        member = await store.get_member(uow.conn, member_id)
        if member is None:
            raise Problem(
                422,
                "Unprocessable Content",
                f"member_id: member {member_id} does not exist",
                errors=[{"field": "member_id", "message": "unknown member"}],
            )
        try:
            length = domain.plan_length_years(MemberKind(member["kind"]), start_date, end_date)
        except domain.RuleViolation as rv:
            raise problem_for(rv) from None
        plan = await create_plan_in(
            uow,
            member,
            title=title,
            start_date=start_date,
            end_date=end_date,
            length=length,
            contact=contact,
            strands=strands,
            now=now,
        )
    return plan


async def create_plan_in(
    uow: UnitOfWork,
    member: Row,
    *,
    title: str,
    start_date: date,
    end_date: date,
    length: int,
    contact: Row,
    strands: list[Strand] | None,
    now: datetime,
    source_key: str | None = None,
) -> Row:
    contact_id = uuid4()
    default_strand = {"parliament": Strand.OPEN_PARLIAMENT, "local": Strand.LOCAL}.get(
        member["kind"], Strand.OPEN_GOVERNMENT
    )
    plan = {
        "id": uuid4(),
        "member_id": member["id"],
        "title": title,
        "start_date": start_date,
        "end_date": end_date,
        "point_of_contact_id": contact_id,
        "created_at": now,
    }
    await store.insert_contact(uow, {"id": contact_id, **contact})
    await store.insert_plan(uow, plan)
    number = await uow.conn.fetchval(
        """UPDATE plans SET length_years = $2, strands = $3, source_key = $4,
                  action_plan_number = (SELECT count(*) FROM plans WHERE member_id = $5)
           WHERE id = $1 RETURNING action_plan_number""",
        plan["id"],
        length,
        [s.value for s in (strands or [default_strand])],
        source_key,
        member["id"],
    )
    uow.publish(ContactRegistered(contact_id=contact_id, **contact))
    uow.publish(
        PlanCreated(
            plan_id=plan["id"],
            **{
                k: plan[k]
                for k in ("member_id", "title", "start_date", "end_date", "point_of_contact_id", "created_at")
            },
        )
    )
    created = await store.get_plan(uow.conn, plan["id"])
    assert created is not None
    created["action_plan_number"] = number
    return created


async def transition_plan(pool: asyncpg.Pool, who: Principal, plan_id: UUID, target: PlanState) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        plan = await store.get_plan(uow.conn, plan_id, for_update=True)
        if plan is None:
            raise NotFound(f"plan {plan_id}")
        if not who.acts_for(plan["member_id"]):
            raise forbidden(plan["member_id"])
        current = PlanState(plan["state"])
        try:
            domain.check_transition(
                current,
                target,
                commitment_count=plan["commitment_count"],
                length_years=plan["length_years"],
                refreshed=plan["refreshed_at"] is not None,
            )
        except domain.RuleViolation as rv:
            raise problem_for(rv) from None
        await uow.conn.execute(
            """UPDATE plans SET state = $2, updated_at = $3,
                   submitted_at = CASE WHEN $2 = 'submitted' THEN $3 ELSE submitted_at END,
                   implementation_started_at = CASE WHEN $2 = 'implementing'
                       THEN coalesce(implementation_started_at, $3) ELSE implementation_started_at END,
                   refreshed_at = CASE WHEN $2 = 'refreshing' THEN $3 ELSE refreshed_at END,
                   ended_at = CASE WHEN $2 = 'ended' THEN $3 ELSE ended_at END,
                   closed_at = CASE WHEN $2 = 'closed' THEN $3 ELSE closed_at END
               WHERE id = $1""",
            plan_id,
            target.value,
            now,
        )
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
        await commitments.cascade(uow, plan_id, target, who.subject, now)
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
        elif target is PlanState.IMPLEMENTING and current is PlanState.SUBMITTED:
            uow.publish(
                PlanImplementationStarted(plan_id=plan_id, member_id=plan["member_id"], started_at=now)
            )
        elif target is PlanState.ENDED:
            uow.publish(
                PlanEnded(
                    plan_id=plan_id, member_id=plan["member_id"], end_date=plan["end_date"], ended_at=now
                )
            )
        updated = await store.get_plan(uow.conn, plan_id)
    assert updated is not None
    return updated


# --- member standing and eligibility ---------------------------------------------------------


async def change_member_status(
    uow: UnitOfWork,
    member_id: UUID,
    target: MemberStatus,
    *,
    reason: str,
    source: str,
    by: str,
    plan_id: UUID | None = None,
    now: datetime | None = None,
) -> Row:
    """Move a member's standing, remember why, and say so. The member row is locked."""
    now = now or datetime.now(UTC)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1 FOR UPDATE", member_id)
    if row is None:
        raise NotFound(f"member {member_id}")
    current = MemberStatus(row["status"])
    domain.check_member_transition(current, target)
    await uow.conn.execute(
        "UPDATE members SET status = $2, status_reason = $3, status_changed_at = $4 WHERE id = $1",
        member_id,
        target.value,
        reason,
        now,
    )
    await uow.conn.execute(
        """INSERT INTO member_status_history
               (member_id, from_status, to_status, reason, plan_id, source, changed_at, changed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        member_id,
        current.value,
        target.value,
        reason,
        plan_id,
        source,
        now,
        by,
    )
    uow.publish(
        MemberStatusChanged(
            member_id=member_id,
            from_status=current,
            to_status=target,
            reason=reason,
            plan_id=plan_id,
            changed_at=now,
            source=source,
        )
    )
    return {
        "member_id": member_id,
        "from_status": current,
        "status": target,
        "reason": reason,
        "changed_at": now,
    }


async def set_member_status(
    pool: asyncpg.Pool,
    who: Principal,
    member_id: UUID,
    target: MemberStatus,
    reason: str,
    plan_id: UUID | None,
) -> Row:
    async with unit_of_work(pool, SERVICE) as uow:
        try:
            return await change_member_status(
                uow, member_id, target, reason=reason, source="staff", by=who.subject, plan_id=plan_id
            )
        except domain.RuleViolation as rv:
            raise Conflict(rv.message, rule=rv.rule) from None


async def score_eligibility(
    pool: asyncpg.Pool, who: Principal, member_id: UUID, inputs: eligibility.EligibilityInput
) -> eligibility.EligibilityResult:
    """Computed from the indicator values, never typed in; re-scoring a year replaces it."""
    inputs = inputs.model_copy(update={"member_id": member_id})
    result = eligibility.score(inputs)
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        if await store.get_member(uow.conn, member_id) is None:
            raise NotFound(f"member {member_id}")
        await uow.conn.execute(
            """INSERT INTO eligibility_scores (member_id, year, inputs, result, status, percentage,
                                               rules_version, computed_at, computed_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (member_id, year) DO UPDATE SET inputs = EXCLUDED.inputs,
                   result = EXCLUDED.result, status = EXCLUDED.status,
                   percentage = EXCLUDED.percentage, rules_version = EXCLUDED.rules_version,
                   computed_at = EXCLUDED.computed_at, computed_by = EXCLUDED.computed_by""",
            member_id,
            inputs.year,
            inputs.model_dump(mode="json"),
            result_json(result),
            result.status.value,
            result.percentage,
            result.rules_version,
            now,
            who.subject,
        )
        uow.publish(
            EligibilityScored(
                member_id=member_id,
                year=inputs.year,
                status=result.status.value,
                points=result.points_earned,
                possible=result.points_possible,
                percentage=result.percentage,
                values_check_applies=result.values_check.applies,
                values_check_passed=result.values_check.passed,
                rules_version=result.rules_version,
                scored_at=now,
            )
        )
    return result


def result_json(result: eligibility.EligibilityResult) -> Row:
    data = asdict(result)
    data["member_id"] = str(data["member_id"]) if data["member_id"] else None
    data["status"] = result.status.value
    data["reasons"] = list(result.reasons)
    return data
