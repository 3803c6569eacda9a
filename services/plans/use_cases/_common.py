"""What several plans use cases share: finding the plan to change, locked, for someone who may."""

from __future__ import annotations

from uuid import UUID

from services.plans.domain.plans import Plan
from services.plans.store.protocols import PlansUnitOfWork
from shared.auth import Principal, Role, person_id
from shared.errors import NotFound

#: Marks the principal of a job acting under a recorded name (not a token's subject).
_RECORDED = "recorded_name"


def staff(name: str) -> Principal:
    """The principal of a staff job (the importer) acting under a recorded name: the name of the
    job, or the person id of the staff member who started it (see :func:`actor_id`)."""
    return Principal(subject=name, roles=frozenset({Role.STAFF.value, _RECORDED}), member_ids=frozenset())


def actor_id(who: Principal) -> str:
    """Who made a change, as the public history and the events name them: the person's opaque
    id (:func:`shared.auth.person_id`, the one every service uses), never the token's subject,
    which may be an e-mail address or a login name. A job's recorded name is kept as it is."""
    if _RECORDED in who.roles:
        return who.subject
    return str(person_id(who.subject))


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
