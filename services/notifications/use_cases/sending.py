"""The delivery worker's three steps, each in its own short unit of work: claim due deliveries,
then (with no transaction open) send, then record the outcomes of a batch in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from services.notifications.domain.deliveries import Claim, Problem, RetryPolicy
from services.notifications.store import NotificationsUnitOfWork
from shared.events.base import Event


@dataclass(frozen=True, slots=True)
class ClaimDue:
    now: datetime
    limit: int
    #: How long the claim keeps other workers away; longer than sending the batch can take.
    lease: timedelta


async def claim_due(uow: NotificationsUnitOfWork, cmd: ClaimDue) -> list[Claim]:
    """Take due deliveries for a while, under one fresh claim token."""
    return await uow.deliveries.claim_due(uuid4(), now=cmd.now, until=cmd.now + cmd.lease, limit=cmd.limit)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed delivery: sent (``problem`` None), not sent and why, or held
    back until ``held_until`` (quiet hours)."""

    claim: Claim
    at: datetime
    problem: Problem | None = None
    provider_id: str | None = None
    held_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordOutcomes:
    outcomes: Sequence[Outcome]
    policy: RetryPolicy


async def record_outcomes(uow: NotificationsUnitOfWork, cmd: RecordOutcomes) -> set[UUID]:
    """Apply each outcome to its delivery and record them all; the ids recorded. A delivery whose
    claim was lost meanwhile is not recorded here (the worker that holds it now records it), so
    each outcome is recorded and announced once."""
    await uow.deliveries.lock_gateway_messages([o.provider_id for o in cmd.outcomes if o.provider_id])
    events: dict[UUID, list[Event]] = {}
    for o in cmd.outcomes:
        d = o.claim.delivery
        if o.held_until is not None:
            d.hold_until(o.held_until)
            events[d.id] = []
        elif o.problem is None:
            if o.claim.recipient_id is None:  # sent implies a known recipient; see problem_with
                raise ValueError("a delivery without a recipient cannot have been sent")
            events[d.id] = d.sent(recipient_id=o.claim.recipient_id, now=o.at, provider_id=o.provider_id)
        else:
            events[d.id] = d.attempt_failed(
                o.problem, recipient_id=o.claim.recipient_id, now=o.at, policy=cmd.policy
            )
    recorded = await uow.deliveries.save_claimed([o.claim for o in cmd.outcomes])
    for delivery_id in recorded:
        for event in events[delivery_id]:
            uow.publish(event)
    # Reports the gateway sent before this moment (a fast gateway) apply now.
    sent = {
        o.provider_id: o.claim.delivery
        for o in cmd.outcomes
        if o.provider_id and o.claim.delivery.id in recorded
    }
    for provider_id, status, error, at in await uow.deliveries.take_reports(sorted(sent)):
        delivery = sent[provider_id]
        for event in delivery.gateway_reported(status, error, now=at):
            uow.publish(event)
        await uow.deliveries.save(delivery)
    return recorded


@dataclass(frozen=True, slots=True)
class ReleaseClaims:
    claims: Sequence[Claim]


async def release_claims(uow: NotificationsUnitOfWork, cmd: ReleaseClaims) -> None:
    """Give back deliveries claimed but not tried (the worker is stopping)."""
    by_token: dict[UUID, list[UUID]] = {}
    for claim in cmd.claims:
        by_token.setdefault(claim.token, []).append(claim.delivery.id)
    for token, ids in by_token.items():
        await uow.deliveries.release(token, ids)


@dataclass(frozen=True, slots=True)
class RecordGatewayStatus:
    provider_id: str
    status: str
    error: str | None
    at: datetime


async def record_gateway_status(uow: NotificationsUnitOfWork, cmd: RecordGatewayStatus) -> bool:
    """The SMS gateway's delivery report; False when no delivery has that provider id."""
    await uow.deliveries.lock_gateway_messages([cmd.provider_id])
    delivery = await uow.deliveries.by_provider_id(cmd.provider_id)
    if delivery is None:  # not recorded as sent yet: applied when it is
        await uow.deliveries.hold_report(cmd.provider_id, cmd.status, cmd.error, cmd.at)
        return False
    for event in delivery.gateway_reported(cmd.status, cmd.error, now=cmd.at):
        uow.publish(event)
    await uow.deliveries.save(delivery)
    return True
