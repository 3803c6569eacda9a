"""Use cases on action plans: creation and the moves of the state machine (with the commitments
that follow the plan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from services.plans.domain.plans import Contact, Plan
from services.plans.store.protocols import PlansUnitOfWork
from services.plans.use_cases._common import actor_id, plan_for_edit
from shared.auth import Principal
from shared.errors import Forbidden, Invalid
from shared.events.plans import PlanState, Strand


@dataclass(frozen=True, slots=True)
class ContactDetails:
    name: str
    email: str | None = None
    phone: str | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class CreatePlan:
    who: Principal
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    contact: ContactDetails
    strands: list[Strand] | None = None
    source_key: str | None = None
    #: A plan of OGP's history (the import): 1 to 4 years allowed, not only today's 2 or 4.
    historic: bool = False


async def create_plan(uow: PlansUnitOfWork, cmd: CreatePlan) -> Plan:
    if not cmd.who.acts_for(cmd.member_id):
        raise Forbidden(f"you may not edit the plans of member {cmd.member_id}")
    member = await uow.members.get(cmd.member_id)
    if member is None:
        raise Invalid.many(
            f"member_id: member {cmd.member_id} does not exist", [("member_id", "unknown member")]
        )
    c = cmd.contact
    contact = Contact(uuid4(), c.name, c.email, c.phone, c.language)
    plan, events = Plan.create(
        member_id=member.id,
        member_kind=member.kind,
        title=cmd.title,
        start_date=cmd.start_date,
        end_date=cmd.end_date,
        contact=contact,
        strands=cmd.strands,
        now=datetime.now(UTC),
        source_key=cmd.source_key,
        historic=cmd.historic,
    )
    await uow.plans.add(plan, contact)
    for event in events:
        uow.publish(event)
    return plan


@dataclass(frozen=True, slots=True)
class TransitionPlan:
    who: Principal
    plan_id: UUID
    to: PlanState


async def transition_plan(uow: PlansUnitOfWork, cmd: TransitionPlan) -> Plan:
    """Move the plan; its commitments follow (submitted → adopted, implementing → implementing,
    ended → ended), their events between the plan's ``PlanStateChanged`` and what it announces."""
    plan = await plan_for_edit(uow, cmd.who, cmd.plan_id)
    now = datetime.now(UTC)
    changed, *announced = plan.transition(cmd.to, by=actor_id(cmd.who), now=now)
    await uow.plans.save_state(plan)
    uow.publish(changed)
    cascade = plan.cascade()
    if cascade is not None:
        sources, target = cascade
        for commitment in await uow.commitments.of_plan(plan.id, sources):
            history, events = commitment.transition(target, by=actor_id(cmd.who), now=now)
            await uow.commitments.save_state(commitment, history, by=actor_id(cmd.who))
            for event in events:
                uow.publish(event)
    for event in announced:
        uow.publish(event)
    return plan
