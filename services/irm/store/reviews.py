"""Reviews' repository: the reviews and the plans they review."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from services.irm.domain.reviews import Review, SubmittedPlan
from shared.events.irm import ReviewKind
from shared.uow import UnitOfWork

_COLUMNS = "id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at"


class Reviews(Protocol):
    async def get(self, review_id: UUID, *, for_update: bool = False) -> Review | None:
        """The review, locked for the rest of the unit of work with ``for_update``."""

    async def add_with_plan(self, review: Review, plan: SubmittedPlan) -> None:
        """Store a new review and what it reviews (the plan as last submitted)."""


class PgReviews:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def get(self, review_id: UUID, *, for_update: bool = False) -> Review | None:
        lock = " FOR UPDATE" if for_update else ""
        sql = f"SELECT {_COLUMNS} FROM reviews WHERE id = $1{lock}"  # noqa: S608  (constant text)
        row = await self._conn.fetchrow(sql, review_id)
        if row is None:
            return None
        return Review(**{**dict(row), "kind": ReviewKind(row["kind"])})

    async def add_with_plan(self, review: Review, plan: SubmittedPlan) -> None:
        # Hot path (every submitted plan): both rows in one statement, one round trip.
        await self._conn.execute(
            """WITH seen AS (
                   INSERT INTO plans_seen (plan_id, member_id, title, start_date, end_date, submitted_at)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (plan_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at)
               INSERT INTO reviews (id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at)
               VALUES ($7, $1, $2, $8, $9, $10, $11, $12)""",
            plan.plan_id, plan.member_id, plan.title, plan.start_date, plan.end_date, plan.submitted_at,
            review.id, review.kind.value, review.state, review.opened_on, review.due_date,
            review.scheduled_at,
        )  # fmt: skip
