"""Findings in memory."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from services.irm.domain.findings import Finding, KnownPlan, MemberRecord, ProceduralReview


class FakeFindings:
    def __init__(self) -> None:
        self.plans: dict[UUID, KnownPlan] = {}
        self.findings: dict[UUID, Finding] = {}
        self.recorded_by: dict[UUID, str] = {}
        self.reviews: dict[UUID, ProceduralReview] = {}

    async def learn_plans(self, plans: Sequence[KnownPlan]) -> list[KnownPlan]:
        for plan in plans:
            known = self.plans.get(plan.plan_id)
            if known is None:
                self.plans[plan.plan_id] = replace(plan)
            else:
                known.learn(plan)
        return [replace(self.plans[p.plan_id]) for p in plans]

    async def lock_members_under_review(self, member_ids: Sequence[UUID]) -> set[UUID]:
        return {
            r.member_id for r in self.reviews.values() if r.member_id in member_ids and r.lifted_at is None
        }

    async def plan(self, plan_id: UUID) -> KnownPlan | None:
        known = self.plans.get(plan_id)
        return replace(known) if known else None

    async def record_of(self, member_id: UUID) -> MemberRecord:
        return MemberRecord(
            member_id,
            [replace(p) for p in self.plans.values() if p.member_id == member_id],
            sorted(
                (f for f in self.findings.values() if f.member_id == member_id),
                key=lambda f: (f.found_at, f.id),
            ),
            [copy.copy(r) for r in self.reviews.values() if r.member_id == member_id],
        )

    async def member_of_review(self, review_id: UUID) -> UUID | None:
        review = self.reviews.get(review_id)
        return review.member_id if review else None

    async def add_finding(self, finding: Finding, *, recorded_by: str) -> None:
        if any(f.key == finding.key for f in self.findings.values()):
            raise AssertionError("one finding per member, cycle and reason (a unique key in Postgres)")
        self.findings[finding.id] = finding
        self.recorded_by[finding.id] = recorded_by

    async def add_review(self, review: ProceduralReview) -> None:
        if review.is_open and any(
            r.is_open and r.member_id == review.member_id for r in self.reviews.values()
        ):
            raise AssertionError("one open procedural review per member (a unique index in Postgres)")
        self.reviews[review.id] = copy.copy(review)

    async def save_review(self, review: ProceduralReview) -> None:
        self.reviews[review.id] = copy.copy(review)
