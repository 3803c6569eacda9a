"""The plans service's unit of work in memory."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from services.plans.domain.commitments import Changes, Commitment
from services.plans.domain.documents import Document
from services.plans.domain.eligibility import EligibilityInput, EligibilityResult
from services.plans.domain.members import Member, StatusChange
from services.plans.domain.milestones import Milestone, ProgressReport
from services.plans.domain.plans import Contact, Plan
from services.plans.store.protocols import Aggregate
from shared.db import Row
from shared.events.plans import CommitmentState
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


def _row(aggregate: Member | Plan | Commitment, names: Sequence[str] | None = None) -> Row:
    """The aggregate's columns as the database gives them (enums as their text)."""
    row: Row = {}
    for name in names or [f.name for f in fields(aggregate)]:
        value = getattr(aggregate, name)
        row[name] = value.value if isinstance(value, Enum) else value
    return row


class FakeImportLookups:
    """The imports' lookups over the other fake repositories. Locks are only counted."""

    def __init__(
        self, members: FakeMembers, plans: FakePlans, commitments: FakeCommitments, milestones: FakeMilestones
    ) -> None:
        self._members, self._plans = members, plans
        self._commitments, self._milestones = commitments, milestones
        self.locks = 0

    async def lock(self) -> None:
        self.locks += 1

    async def members_by_key(self, keys: Sequence[str]) -> list[Row]:
        names = ["id", "name", "kind", "country_code", "region", "source_key"]
        return [_row(m, names) for m in self._members.by_id.values() if m.source_key in keys]

    async def lock_plans_by_key(self, keys: Sequence[str]) -> list[Row]:
        names = ["id", "member_id", "state", "start_date", "source_key"]
        found = [p for p in self._plans.by_id.values() if p.source_key in keys]
        return [_row(p, names) for p in sorted(found, key=lambda p: p.id)]

    async def lock_commitments_by_key(self, keys: Sequence[str]) -> list[Row]:
        found = [c for c in self._commitments.by_id.values() if c.source_key in keys]
        return [_row(copy.deepcopy(c)) for c in sorted(found, key=lambda c: c.id)]

    async def lock_plan_state(self, plan_id: UUID) -> str:
        return self._plans.by_id[plan_id].state.value

    async def unkeyed_members_named(self, name: str) -> list[Row]:
        names = ["id", "name", "kind", "country_code", "region"]
        found = [m for m in self._members.by_id.values()
                 if m.source_key is None and m.name.lower() == name.lower()]  # fmt: skip
        return [_row(m, names) for m in found[:2]]

    async def adopt_member(self, member_id: UUID, source_key: str) -> bool:
        member = self._members.by_id.get(member_id)
        if member is None or member.source_key is not None:
            return False
        member.source_key = source_key
        return True

    async def set_action_plan_number(self, plan_id: UUID, number: int) -> None:
        self._plans.by_id[plan_id].action_plan_number = number

    async def set_irm(self, blocks: Mapping[str, Any]) -> None:
        for key, irm in blocks.items():
            if UUID(key) in self._commitments.by_id:
                self._commitments.by_id[UUID(key)].irm = copy.deepcopy(irm)

    async def milestones_named(self, ids: Sequence[UUID], keys: Sequence[tuple[str, int]]) -> list[Row]:
        rows: list[Row] = [{"id": i, "key": None, "number": None} for i in ids if i in self._milestones.by_id]
        for key, number in keys:
            rows += [
                {"id": m.id, "key": key, "number": number}
                for c in self._commitments.by_id.values() if c.source_key == key
                for m in self._milestones.by_id.values() if m.commitment_id == c.id and m.number == number
            ]  # fmt: skip
        return rows


class FakePlansUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.members = FakeMembers()
        self.commitments = FakeCommitments()
        self.plans = FakePlans(self.commitments)
        self.milestones = FakeMilestones()
        self.documents = FakeDocuments()
        self.timers = FakeTimerEmissions()
        self.imports = FakeImportLookups(self.members, self.plans, self.commitments, self.milestones)
