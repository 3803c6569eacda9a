"""Compliance in memory: facts kept once per event and per kind and subject (as the Postgres
unique keys do), decisions by review and requirement, the compliance published reviews fixed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.irm.domain.compliance import FORUM_KINDS, Compliance, Decision, Fact, Requirement
from tests.fakes.irm.assessments import FakeAssessments


class FakeComplianceStore:
    def __init__(self, assessments: FakeAssessments) -> None:
        self._assessments = assessments
        self.facts_kept: dict[UUID, Fact] = {}
        self.by_review: dict[UUID, dict[Requirement, Decision]] = {}
        self.fixed: dict[UUID, dict[str, Any]] = {}

    async def keep(self, fact: Fact) -> bool:
        if fact.event_id in self.facts_kept or any(
            (f.kind, f.subject_id) == (fact.kind, fact.subject_id) for f in self.facts_kept.values()
        ):
            return False
        self.facts_kept[fact.event_id] = fact
        return True

    async def facts(self, plan_id: UUID, member_id: UUID) -> list[Fact]:
        return sorted(
            (f for f in self.facts_kept.values()
             if f.plan_id == plan_id or (f.member_id == member_id and f.kind in FORUM_KINDS)),
            key=lambda f: (f.on, f.event_id),
        )  # fmt: skip

    async def decisions(self, review_id: UUID) -> dict[Requirement, Decision]:
        return dict(self.by_review.get(review_id, {}))

    async def decide(self, decision: Decision) -> None:
        self.by_review.setdefault(decision.review_id, {})[decision.requirement] = decision

    async def freeze(self, compliance: Compliance, *, assessed_at: datetime) -> None:
        self.fixed.setdefault(compliance.review_id, {**compliance.as_json(), "assessed_at": assessed_at})

    async def completions(self, review_id: UUID) -> list[str | None]:
        return [
            a.completion.value if a.completion else None
            for (rid, _), a in self._assessments.by_key.items()
            if rid == review_id
        ]
