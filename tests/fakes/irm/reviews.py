"""Reviews in memory: the same answers as ``PgReviews`` (one review of each kind per plan, claims
made once), for the use-case tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from uuid import UUID

from services.irm.domain.reviews import FINAL, Comment, Researcher, Review, SubmittedPlan
from shared.events.irm import ReviewState


class FakeReviews:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Review] = {}
        self.plans: dict[UUID, SubmittedPlan] = {}
        #: Plans learned from events that say less than PlanSubmitted: plan id → (member, end date).
        self.seen: dict[UUID, tuple[UUID, date | None]] = {}
        self.researchers: dict[UUID, Researcher] = {}
        self.comments: dict[UUID, Comment] = {}
        self.emissions: set[tuple[str, str]] = set()

    def _taken(self, review: Review) -> bool:
        return any(r.plan_id == review.plan_id and r.kind == review.kind for r in self.by_id.values())

    async def get(self, review_id: UUID, *, for_update: bool = False) -> Review | None:
        return self.by_id.get(review_id)

    async def add_many_with_plans(
        self, reviews: Sequence[Review], plans: Sequence[SubmittedPlan]
    ) -> set[UUID]:
        for plan in plans:
            self.plans[plan.plan_id] = plan
        return {r.id for r in reviews if await self.add(r)}

    async def add(self, review: Review) -> bool:
        if self._taken(review):
            return False
        self.by_id[review.id] = review
        return True

    async def remember_plan(self, plan_id: UUID, member_id: UUID, end_date: date | None) -> None:
        _, known = self.seen.get(plan_id, (member_id, None))
        self.seen[plan_id] = (member_id, end_date or known)

    async def save(self, review: Review) -> None:
        self.by_id[review.id] = review

    async def windows_ended(self, today: date, limit: int) -> list[Review]:
        found = [
            r
            for r in self.by_id.values()
            if r.state is ReviewState.PRE_PUBLICATION
            and r.comments_until is not None
            and r.comments_until < today
        ]
        return sorted(found, key=lambda r: (r.comments_until or today, r.id))[:limit]

    async def unreported(self, kind: str, today: date, reminder_days: int, limit: int) -> list[Review]:
        def due(r: Review) -> bool:
            if kind == "review_due_soon":
                return r.due_date >= today and (r.due_date - today).days <= reminder_days
            return r.due_date < today

        found = [
            r
            for r in self.by_id.values()
            if r.state not in FINAL and due(r) and (kind, r.occurrence()) not in self.emissions
        ]
        return sorted(found, key=lambda r: (r.due_date, r.id))[:limit]

    async def claim(self, kind: str, occurrences: Sequence[str]) -> set[str]:
        new = {o for o in occurrences if (kind, o) not in self.emissions}
        self.emissions |= {(kind, o) for o in new}
        return new

    async def researcher(self, researcher_id: UUID) -> Researcher | None:
        return self.researchers.get(researcher_id)

    async def researcher_by_subject(self, subject: str) -> Researcher | None:
        return next((r for r in self.researchers.values() if r.subject == subject), None)

    async def save_researcher(self, researcher: Researcher) -> Researcher:
        known = await self.researcher_by_subject(researcher.subject)
        if known is not None:
            researcher = replace(known, name=researcher.name, ties=researcher.ties)
        self.researchers[researcher.id] = researcher
        return researcher

    async def add_comment(self, comment: Comment) -> None:
        self.comments[comment.id] = comment

    async def comment(self, comment_id: UUID, *, for_update: bool = False) -> Comment | None:
        return self.comments.get(comment_id)

    async def save_considered(self, comment: Comment) -> None:
        self.comments[comment.id] = comment

    async def comment_counts(self, review_id: UUID) -> tuple[int, int]:
        mine = [c for c in self.comments.values() if c.review_id == review_id]
        return len(mine), sum(1 for c in mine if c.considered_at is None)
