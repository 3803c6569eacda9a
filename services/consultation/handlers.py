"""Reactions of the consultation service to plans events.

All events of a plan share its partition, so they arrive in order; the upserts still make each
reaction safe if an event is replayed from the dead-letter topic. A plan's submission ends its
co-creation: rounds still open close, rounds not yet open are cancelled, and the cycle's
participation report is published for the IRM.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial

from services.consultation import reports, rounds
from services.consultation.settings import ConsultationSettings
from shared.consumer import Handler
from shared.events.base import Event
from shared.events.consultation import CoCreationClosed, CoCreationOpened
from shared.events.envelope import Received
from shared.events.plans import CommitmentAdded, PlanCreated, PlanSubmitted
from shared.uow import UnitOfWork


async def on_plan_created(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, PlanCreated)
    created = await uow.conn.fetchval(
        """INSERT INTO co_creation_spaces (plan_id, member_id, title, state, opened_at)
           VALUES ($1, $2, $3, 'open', $4)
           ON CONFLICT (plan_id) DO UPDATE SET title = EXCLUDED.title
           RETURNING xmax = 0""",
        event.plan_id, event.member_id, event.title, event.created_at,
    )  # fmt: skip
    if created:
        uow.publish(
            CoCreationOpened(plan_id=event.plan_id, member_id=event.member_id, opened_at=event.created_at)
        )


async def on_commitment_added(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, CommitmentAdded)
    await uow.conn.execute(
        """INSERT INTO commitment_spaces (commitment_id, plan_id, number, title, opened_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (commitment_id) DO NOTHING""",
        event.commitment_id, event.plan_id, event.number, event.title, event.added_at,
    )  # fmt: skip


async def on_plan_submitted(uow: UnitOfWork, received: Received, *, min_cell: int) -> None:
    """Submission closes co-creation: no more input on this plan's drafts."""
    event = received.event
    assert isinstance(event, PlanSubmitted)
    closed_at = datetime.now(UTC)
    before = await uow.conn.fetchrow(
        "SELECT state, opened_at FROM co_creation_spaces WHERE plan_id = $1 FOR UPDATE", event.plan_id
    )
    if before is not None and before["state"] == "closed":
        return  # a plan resubmitted after a refresh, or a replay: co-creation closed already
    await uow.conn.execute(
        """INSERT INTO co_creation_spaces (plan_id, member_id, title, state, closed_at, submitted_at)
           VALUES ($1, $2, $3, 'closed', $4, $5)
           ON CONFLICT (plan_id) DO UPDATE SET state = 'closed', closed_at = EXCLUDED.closed_at,
                                               submitted_at = EXCLUDED.submitted_at""",
        event.plan_id, event.member_id, event.title, closed_at, event.submitted_at,
    )  # fmt: skip
    await rounds.close_for_submitted_plan(uow, event.plan_id, min_cell)
    uow.publish(
        CoCreationClosed(
            plan_id=event.plan_id,
            member_id=event.member_id,
            opened_at=before["opened_at"] if before else None,
            closed_at=closed_at,
        )
    )
    await reports.publish_cycle_report(uow, event.plan_id, min_cell)


def handlers(settings: ConsultationSettings) -> Mapping[type[Event], Handler]:
    return {
        PlanCreated: on_plan_created,
        CommitmentAdded: on_commitment_added,
        PlanSubmitted: partial(on_plan_submitted, min_cell=settings.participation_min_cell),
    }
