"""Assessments in memory: commitments as the IRM knows them (each fact replaced only by a newer
one, as the Postgres guards do) and the assessments by review and commitment."""

from __future__ import annotations

import copy
from datetime import datetime
from uuid import UUID

from services.irm.domain.assessments import Assessment, KnownCommitment
from services.irm.store.assessments import CommitmentFacts
from shared.scales import Completion


class FakeAssessments:
    def __init__(self) -> None:
        self.commitments: dict[UUID, KnownCommitment] = {}
        self.times: dict[tuple[UUID, str], datetime] = {}
        self.withdrawal_reasons: dict[UUID, str] = {}
        self.by_key: dict[tuple[UUID, UUID], Assessment] = {}

    def _known(self, commitment_id: UUID, plan_id: UUID, member_id: UUID) -> KnownCommitment:
        return self.commitments.setdefault(commitment_id, KnownCommitment(commitment_id, plan_id, member_id))

    def _newer(self, commitment_id: UUID, fact: str, at: datetime) -> bool:
        last = self.times.get((commitment_id, fact))
        if last is not None and last > at:
            return False
        self.times[(commitment_id, fact)] = at
        return True

    async def commitment(self, commitment_id: UUID) -> KnownCommitment | None:
        known = self.commitments.get(commitment_id)
        return copy.copy(known) if known else None

    async def learn_commitment(self, facts: CommitmentFacts) -> None:
        known = self._known(facts.commitment_id, facts.plan_id, facts.member_id)
        if self._newer(facts.commitment_id, "details", facts.at):
            known.number, known.title = facts.number, facts.title

    async def record_withdrawal(self, facts: CommitmentFacts, reason: str) -> None:
        await self.learn_commitment(facts)
        if self._newer(facts.commitment_id, "withdrawn", facts.at):
            self.commitments[facts.commitment_id].withdrawn = True
            self.withdrawal_reasons[facts.commitment_id] = reason

    async def record_self_assessment(
        self, commitment_id: UUID, plan_id: UUID, member_id: UUID, completion: Completion, at: datetime
    ) -> None:
        known = self._known(commitment_id, plan_id, member_id)
        if self._newer(commitment_id, "self_assessed", at):
            known.self_assessed = completion

    async def record_progress(
        self, commitment_id: UUID, plan_id: UUID, member_id: UUID, progress: float, at: datetime
    ) -> None:
        known = self._known(commitment_id, plan_id, member_id)
        if self._newer(commitment_id, "progress", at):
            known.progress = progress

    async def get(
        self, review_id: UUID, commitment_id: UUID, *, for_update: bool = False
    ) -> Assessment | None:
        found = self.by_key.get((review_id, commitment_id))
        return copy.deepcopy(found) if found else None

    async def save(self, assessment: Assessment) -> None:
        self.by_key[(assessment.review_id, assessment.commitment_id)] = copy.deepcopy(assessment)
