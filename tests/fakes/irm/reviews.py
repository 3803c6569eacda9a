"""Reviews in memory."""

from __future__ import annotations

from uuid import UUID

from services.irm.domain.reviews import Review, SubmittedPlan


class FakeReviews:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Review] = {}
        self.plans: dict[UUID, SubmittedPlan] = {}

    async def get(self, review_id: UUID, *, for_update: bool = False) -> Review | None:
        return self.by_id.get(review_id)

    async def add_with_plan(self, review: Review, plan: SubmittedPlan) -> None:
        if any(r.plan_id == review.plan_id and r.kind == review.kind for r in self.by_id.values()):
            raise AssertionError("one review of each kind per plan (a unique key in Postgres)")
        self.plans[plan.plan_id] = plan
        self.by_id[review.id] = review
