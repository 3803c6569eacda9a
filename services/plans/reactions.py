"""What the plans service learns from the IRM: assessments shown on each commitment, and
findings that change a member's standing."""

from __future__ import annotations

from collections.abc import Mapping

from services.plans import domain, handlers
from shared.consumer import Handler
from shared.events.base import Event
from shared.events.envelope import Received
from shared.events.irm import (
    ActedContraryToProcess,
    CommitmentAssessed,
    ProceduralReviewLifted,
    ProceduralReviewStarted,
)
from shared.events.plans import MemberStatus
from shared.uow import UnitOfWork


async def on_commitment_assessed(uow: UnitOfWork, received: Received) -> None:
    """The IRM block of the commitment, one entry per IRM product (APR, results report...)."""
    e = received.event
    assert isinstance(e, CommitmentAssessed)
    block = e.model_dump(mode="json", exclude={"plan_id", "commitment_id", "member_id"})
    await uow.conn.execute(
        """UPDATE commitments SET irm = irm || jsonb_build_object($2::text, $3::jsonb), updated_at = now()
           WHERE id = $1""",
        e.commitment_id,
        e.product.value,
        block,
    )


async def on_acted_contrary(uow: UnitOfWork, received: Received) -> None:
    """A second consecutive finding puts the member under procedural review (OGP's rule)."""
    e = received.event
    assert isinstance(e, ActedContraryToProcess)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1", e.member_id)
    if row is None:
        return  # a member this deployment does not know
    previous = await uow.conn.fetch(
        """SELECT to_status FROM member_status_history WHERE member_id = $1
           ORDER BY changed_at DESC, id DESC LIMIT 1""",
        e.member_id,
    )
    consecutive = 2 if previous and previous[0]["to_status"] == MemberStatus.ACTED_CONTRARY_TO_PROCESS else 1
    target = domain.status_after_contrary_finding(MemberStatus(row["status"]), consecutive)
    if target is MemberStatus(row["status"]) and target is MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return
    await handlers.change_member_status(
        uow,
        e.member_id,
        target,
        reason=e.reason,
        source=received.type,
        by="irm",
        plan_id=e.plan_id,
        now=e.found_at,
    )


async def on_review_started(uow: UnitOfWork, received: Received) -> None:
    e = received.event
    assert isinstance(e, ProceduralReviewStarted)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1", e.member_id)
    if row is None or row["status"] == MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return
    await handlers.change_member_status(
        uow,
        e.member_id,
        MemberStatus.UNDER_PROCEDURAL_REVIEW,
        reason=e.reason,
        source=received.type,
        by="irm",
        now=e.started_at,
    )


async def on_review_lifted(uow: UnitOfWork, received: Received) -> None:
    e = received.event
    assert isinstance(e, ProceduralReviewLifted)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1", e.member_id)
    if row is None or row["status"] != MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return
    await handlers.change_member_status(
        uow,
        e.member_id,
        MemberStatus.PARTICIPATING,
        reason="procedural review lifted",
        source=received.type,
        by="irm",
        now=e.lifted_at,
    )


HANDLERS: Mapping[type[Event], Handler] = {
    CommitmentAssessed: on_commitment_assessed,
    ActedContraryToProcess: on_acted_contrary,
    ProceduralReviewStarted: on_review_started,
    ProceduralReviewLifted: on_review_lifted,
}
