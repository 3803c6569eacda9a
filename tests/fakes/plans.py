"""The plans service's unit of work in memory."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from services.plans.domain.commitments import Changes, Commitment, Milestone, ProgressReport
from services.plans.domain.documents import Document
from services.plans.domain.eligibility import EligibilityInput, EligibilityResult
from services.plans.domain.members import Member, StatusChange
from services.plans.domain.plans import Contact, Plan
from services.plans.store.protocols import Aggregate
from shared.events.plans import CommitmentState, MemberStatus
from tests.fakes.uow import FakeUnitOfWork


class FakeMembers:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Member] = {}
        self.history: list[StatusChange] = []
        self.scores: dict[tuple[UUID, int], tuple[EligibilityInput, EligibilityResult, str]] = {}

    async def get(self, member_id: UUID, *, for_update: bool = False) -> Member | None:
        return copy.deepcopy(self.by_id.get(member_id))

    async def add(self, member: Member) -> None:
        self.by_id[member.id] = copy.deepcopy(member)

    async def save_status(self, member: Member, change: StatusChange) -> None:
        self.by_id[member.id] = copy.deepcopy(member)
        self.history.append(change)

    async def last_status(self, member_id: UUID) -> MemberStatus | None:
        mine = [c for c in self.history if c.member_id == member_id]
        return mine[-1].to_status if mine else None

    async def save_eligibility(
        self, member_id: UUID, inputs: EligibilityInput, result: EligibilityResult, *, at: datetime, by: str
    ) -> None:
        self.scores[(member_id, inputs.year)] = (inputs, result, by)


class FakePlans:
    def __init__(self, store: FakeCommitments) -> None:
        self.by_id: dict[UUID, Plan] = {}
        self.contacts: dict[UUID, Contact] = {}
        self._commitments = store

    async def get(self, plan_id: UUID, *, for_update: bool = False) -> Plan | None:
        plan = copy.deepcopy(self.by_id.get(plan_id))
        if plan is not None:
            counted = [c for c in self._commitments.by_id.values()
                       if c.plan_id == plan_id and c.state is not CommitmentState.WITHDRAWN]  # fmt: skip
            plan.commitment_count = len(counted)
            plan.progress = round(sum(c.progress for c in counted) / len(counted), 1) if counted else 0.0
        return plan

    async def add(self, plan: Plan, contact: Contact) -> None:
        plan.action_plan_number = 1 + sum(p.member_id == plan.member_id for p in self.by_id.values())
        self.contacts[contact.id] = contact
        self.by_id[plan.id] = copy.deepcopy(plan)

    async def save_state(self, plan: Plan) -> None:
        self.by_id[plan.id] = copy.deepcopy(plan)

    async def member_of(self, plan_id: UUID) -> UUID | None:
        plan = self.by_id.get(plan_id)
        return plan.member_id if plan else None

    async def progress(self, plan_id: UUID) -> float:
        plan = await self.get(plan_id)
        return plan.progress if plan else 0.0


class FakeCommitments:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Commitment] = {}
        #: (commitment id, action, changes, version, by), in order.
        self.history: list[tuple[UUID, str, Changes, int, str]] = []

    async def get(self, commitment_id: UUID, *, for_update: bool = False) -> Commitment | None:
        return copy.deepcopy(self.by_id.get(commitment_id))

    async def of_plan(self, plan_id: UUID, states: Collection[CommitmentState]) -> list[Commitment]:
        found = [c for c in self.by_id.values() if c.plan_id == plan_id and c.state in states]
        return [copy.deepcopy(c) for c in sorted(found, key=lambda c: c.number)]

    async def add(self, commitment: Commitment, *, by: str) -> None:
        commitment.number = 1 + sum(c.plan_id == commitment.plan_id for c in self.by_id.values())
        self.by_id[commitment.id] = copy.deepcopy(commitment)
        self.history.append((commitment.id, "created", commitment.created_history(), commitment.version, by))

    async def save_changes(self, commitment: Commitment, changes: Changes, *, by: str, action: str) -> None:
        self.by_id[commitment.id] = copy.deepcopy(commitment)
        self.history.append((commitment.id, action, changes, commitment.version, by))

    async def save_state(self, commitment: Commitment, history: Changes, *, by: str) -> None:
        self.by_id[commitment.id] = copy.deepcopy(commitment)
        self.history.append((commitment.id, "state_changed", history, commitment.version, by))

    async def set_progress(self, commitment_id: UUID, progress: float) -> None:
        self.by_id[commitment_id].progress = progress

    async def save_self_assessment(self, commitment: Commitment, value: dict[str, Any], *, by: str) -> None:
        self.by_id[commitment.id].self_assessment = value
        self.history.append(
            (commitment.id, "self_assessed", {"self_assessment": value}, commitment.version, by)
        )

    async def add_irm_assessment(self, commitment_id: UUID, product: str, block: dict[str, Any]) -> None:
        if commitment_id in self.by_id:
            self.by_id[commitment_id].irm[product] = block


class FakeMilestones:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Milestone] = {}
        self.reports: list[ProgressReport] = []

    async def get(self, milestone_id: UUID) -> Milestone | None:
        return copy.deepcopy(self.by_id.get(milestone_id))

    async def add(self, milestone: Milestone) -> None:
        milestone.number = 1 + sum(m.commitment_id == milestone.commitment_id for m in self.by_id.values())
        self.by_id[milestone.id] = copy.deepcopy(milestone)

    async def of_commitment(self, commitment_id: UUID) -> list[Milestone]:
        found = [m for m in self.by_id.values() if m.commitment_id == commitment_id]
        return [copy.deepcopy(m) for m in sorted(found, key=lambda m: m.number)]

    async def save_report(self, milestone: Milestone, report: ProgressReport) -> None:
        self.by_id[milestone.id] = copy.deepcopy(milestone)
        self.reports.append(report)


class FakeDocuments:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Document] = {}

    async def add(self, document: Document, *, once: bool = False) -> bool:
        if document.id in self.by_id:
            if once:
                return False
            raise AssertionError("documents.id is a primary key")
        self.by_id[document.id] = document
        return True


class FakeTimerEmissions:
    def __init__(self) -> None:
        self.emitted: set[tuple[str, UUID, str]] = set()
        self.locked: list[tuple[Aggregate, list[UUID]]] = []

    async def lock(self, aggregate: Aggregate, ids: Sequence[UUID]) -> None:
        self.locked.append((aggregate, sorted(ids)))

    async def claim(self, kind: str, keys: Sequence[tuple[UUID, str]]) -> set[tuple[UUID, str]]:
        new = {k for k in keys if (kind, *k) not in self.emitted}
        self.emitted |= {(kind, *k) for k in new}
        return new


class FakePlansUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.members = FakeMembers()
        self.commitments = FakeCommitments()
        self.plans = FakePlans(self.commitments)
        self.milestones = FakeMilestones()
        self.documents = FakeDocuments()
        self.timers = FakeTimerEmissions()
