"""Reactions of the IRM service to other services' events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import uuid4

from services.irm import domain
from shared.consumer import Handler
from shared.events.base import Event
from shared.events.envelope import Received
from shared.events.irm import ReviewKind, ReviewScheduled
from shared.events.plans import PlanSubmitted
from shared.uow import UnitOfWork


def make_handlers(apr_due_months: int) -> Mapping[type[Event], Handler]:
    async def on_plan_submitted(uow: UnitOfWork, received: Received) -> None:
        """Submission starts the Action Plan Review clock."""
        event = received.event
        assert isinstance(event, PlanSubmitted)
        submitted_on = event.submitted_at.astimezone(UTC).date()
        due = domain.action_plan_review_due(submitted_on, apr_due_months)
        review_id = uuid4()
        now = datetime.now(UTC)
        # One statement (one round trip) for both rows: this runs for every submitted plan.
        await uow.conn.execute(
            """WITH seen AS (
                   INSERT INTO plans_seen (plan_id, member_id, title, start_date, end_date, submitted_at)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (plan_id) DO UPDATE SET submitted_at = EXCLUDED.submitted_at)
               INSERT INTO reviews (id, plan_id, member_id, kind, opened_on, due_date, scheduled_at)
               VALUES ($7, $1, $2, $8, $9, $10, $11)""",
            event.plan_id, event.member_id, event.title, event.start_date, event.end_date,
            event.submitted_at, review_id, ReviewKind.ACTION_PLAN_REVIEW.value, submitted_on, due, now,
        )  # fmt: skip
        uow.publish(
            ReviewScheduled(
                review_id=review_id,
                plan_id=event.plan_id,
                member_id=event.member_id,
                kind=ReviewKind.ACTION_PLAN_REVIEW,
                due_date=due,
                scheduled_at=now,
            )
        )

    return {PlanSubmitted: on_plan_submitted}
