"""Reactions of the consultation service to plans events.

All three events of a plan share its partition, so they arrive in order; the upserts still make
each reaction safe if a space was opened by hand or an event was replayed from the dead-letter
topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from shared.consumer import Handler
from shared.events.base import Event
from shared.events.consultation import CoCreationClosed
from shared.events.envelope import Received
from shared.events.plans import CommitmentAdded, PlanCreated, PlanSubmitted
from shared.uow import UnitOfWork


async def on_plan_created(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, PlanCreated)
    await uow.conn.execute(
        """INSERT INTO co_creation_spaces (plan_id, member_id, title, state, opened_at)
           VALUES ($1, $2, $3, 'open', $4)
           ON CONFLICT (plan_id) DO UPDATE SET title = EXCLUDED.title""",
        event.plan_id, event.member_id, event.title, event.created_at,
    )  # fmt: skip


async def on_commitment_added(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, CommitmentAdded)
    await uow.conn.execute(
        """INSERT INTO commitment_spaces (commitment_id, plan_id, number, title, opened_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (commitment_id) DO NOTHING""",
        event.commitment_id, event.plan_id, event.number, event.title, event.added_at,
    )  # fmt: skip


async def on_plan_submitted(uow: UnitOfWork, received: Received) -> None:
    """Submission closes co-creation: no more input on this plan's drafts."""
    event = received.event
    assert isinstance(event, PlanSubmitted)
    closed_at = datetime.now(UTC)
    opened_at = await uow.conn.fetchval(
        """INSERT INTO co_creation_spaces (plan_id, member_id, title, state, closed_at)
           VALUES ($1, $2, $3, 'closed', $4)
           ON CONFLICT (plan_id) DO UPDATE SET state = 'closed', closed_at = EXCLUDED.closed_at
           RETURNING opened_at""",
        event.plan_id, event.member_id, event.title, closed_at,
    )  # fmt: skip
    uow.publish(
        CoCreationClosed(
            plan_id=event.plan_id, member_id=event.member_id, opened_at=opened_at, closed_at=closed_at
        )
    )


HANDLERS: Mapping[type[Event], Handler] = {
    PlanCreated: on_plan_created,
    CommitmentAdded: on_commitment_added,
    PlanSubmitted: on_plan_submitted,
}
