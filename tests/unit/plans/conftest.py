"""Builders for the plans use-case tests: a member, a plan in a given state, commitments and
milestones, written through the use cases themselves into the in-memory unit of work."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.plans.domain.commitments import Commitment
from services.plans.domain.milestones import Milestone
from services.plans.domain.plans import Plan
from services.plans.use_cases import commitments, members, milestones, plans
from shared.auth import Principal
from shared.events.plans import MemberKind, PlanState
from tests.fakes.plans import FakePlansUnitOfWork

STAFF = Principal(subject="staff-1", roles=frozenset({"staff"}), member_ids=frozenset())


def government(member_id: UUID) -> Principal:
    return Principal(subject="gov-1", roles=frozenset({"government"}), member_ids=frozenset({member_id}))


async def member(uow: FakePlansUnitOfWork, kind: MemberKind = MemberKind.NATIONAL) -> UUID:
    m = await members.create_member(uow, members.CreateMember("Kenya", kind, "KE"))
    return m.id


async def plan(
    uow: FakePlansUnitOfWork, state: PlanState = PlanState.DRAFT, *, years: int = 2, commitments_n: int = 1
) -> Plan:
    """A plan walked to ``state`` (with ``commitments_n`` commitments added in co-creation)."""
    member_id = await member(uow)
    p = await plans.create_plan(uow, plans.CreatePlan(
        STAFF, member_id, "Open contracting", date(2025, 1, 1), date(2025 + years, 1, 1),
        plans.ContactDetails("A. Otieno", "poc@example.org"),
    ))  # fmt: skip
    path = [
        PlanState.CO_CREATION,
        PlanState.SUBMITTED,
        PlanState.IMPLEMENTING,
        PlanState.ENDED,
        PlanState.CLOSED,
    ]
    if state is PlanState.REFRESHING:
        path = [PlanState.CO_CREATION, PlanState.SUBMITTED, PlanState.IMPLEMENTING, PlanState.REFRESHING]
    for target in path[: path.index(state) + 1] if state is not PlanState.DRAFT else []:
        if target is PlanState.SUBMITTED:
            for i in range(commitments_n):
                await commitment(uow, p.id, f"Commitment {i + 1}")
        p = await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, target))
    uow.events.clear()
    return p


async def commitment(uow: FakePlansUnitOfWork, plan_id: UUID, title: str = "Publish contracts") -> Commitment:
    return await commitments.add_commitment(
        uow,
        commitments.AddCommitment(
            STAFF, plan_id, {"texts": {"title": {"en": title}}, "original_language": "en"}
        ),
    )


async def milestone(uow: FakePlansUnitOfWork, commitment_id: UUID, weight: float = 1.0) -> Milestone:
    return await milestones.add_milestone(
        uow, milestones.AddMilestone(STAFF, commitment_id, milestones.MilestoneText("Step"), weight=weight)
    )
