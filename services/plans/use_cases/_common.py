"""What several plans use cases share: finding the plan to change, locked, for someone who may."""

from __future__ import annotations

from uuid import UUID

from services.plans.domain.plans import Plan
from services.plans.store.protocols import PlansUnitOfWork
from shared.auth import Principal, Role
from shared.errors import NotFound


def staff(subject: str) -> Principal:
    """The principal of a staff job (the importer) acting under a recorded name."""
    return Principal(subject=subject, roles=frozenset({Role.STAFF.value}), member_ids=frozenset())


async def plan_for_edit(uow: PlansUnitOfWork, who: Principal, plan_id: UUID) -> Plan:
    """The plan, its row locked for the rest of the unit of work, if ``who`` may edit it.

    Every change to a plan or to what it holds goes through here first: the lock serialises a
    plan's changes (so its events stay in order on Kafka) and commitment and milestone numbers
    are allocated under it."""
    plan = await uow.plans.get(plan_id, for_update=True)
    if plan is None:
        raise NotFound(f"plan {plan_id}")
    plan.check_editor(who.acts_for(plan.member_id))
    return plan
