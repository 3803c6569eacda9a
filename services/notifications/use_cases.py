"""What the notifications service does, one function per use case. Reactions and the delivery
worker call these; each takes the unit of work and a command and returns what it made.

The worker's three steps are three use cases, each in its own short unit of work: claim due
deliveries (:func:`claim_due`), then, with no transaction open, send; then record the outcome
(:func:`record_sent` or :func:`record_failure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from services.notifications.domain import Claim, Delivery, PlanContact, Problem, Recipient, RetryPolicy
from services.notifications.store import NotificationsUnitOfWork
from shared.events.base import Event
from shared.events.notifications import Channel


# --- what the service learns from other services ------------------------------------------------
@dataclass(frozen=True, slots=True)
class LearnRecipient:
    recipient: Recipient


async def learn_recipient(uow: NotificationsUnitOfWork, cmd: LearnRecipient) -> Recipient:
    await uow.recipients.save(cmd.recipient)
    return cmd.recipient


@dataclass(frozen=True, slots=True)
class RememberPlanContact:
    contact: PlanContact


async def remember_plan_contact(uow: NotificationsUnitOfWork, cmd: RememberPlanContact) -> PlanContact:
    await uow.plan_contacts.save(cmd.contact)
    return cmd.contact


@dataclass(frozen=True, slots=True)
class QueueDelivery:
    cause_event_id: UUID
    template: str
    plan_id: UUID | None = None
    recipient_id: UUID | None = None
    params: dict[str, str] = field(default_factory=dict)
    channel: Channel = Channel.EMAIL


async def queue_delivery(uow: NotificationsUnitOfWork, cmd: QueueDelivery) -> Delivery | None:
    """Queue one message caused by an event; None when that event already queued it."""
    delivery = Delivery.queue(
        cause_event_id=cmd.cause_event_id,
        template=cmd.template,
        channel=cmd.channel,
        recipient_id=cmd.recipient_id,
        plan_id=cmd.plan_id,
        params=cmd.params,
    )
    return delivery if await uow.deliveries.add(delivery) else None


# --- the delivery worker -----------------------------------------------------------------------
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
class RecordSent:
    claim: Claim
    at: datetime


async def record_sent(uow: NotificationsUnitOfWork, cmd: RecordSent) -> bool:
    """The gateway took the message. False when the claim was lost meanwhile (the worker that
    holds it now records instead, so the outcome is recorded and announced once)."""
    claim = cmd.claim
    if claim.recipient_id is None:  # sent implies a known recipient; see Delivery.problem_with
        raise ValueError("a delivery without a recipient cannot have been sent")
    events = claim.delivery.sent(recipient_id=claim.recipient_id, now=cmd.at)
    return await _save(uow, claim, events)


@dataclass(frozen=True, slots=True)
class RecordFailure:
    claim: Claim
    problem: Problem
    at: datetime
    policy: RetryPolicy


async def record_failure(uow: NotificationsUnitOfWork, cmd: RecordFailure) -> bool:
    """An attempt did not deliver: retry later, or give up (the delivery says which). False when
    the claim was lost meanwhile."""
    claim = cmd.claim
    events = claim.delivery.attempt_failed(
        cmd.problem, recipient_id=claim.recipient_id, now=cmd.at, policy=cmd.policy
    )
    return await _save(uow, claim, events)


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


async def _save(uow: NotificationsUnitOfWork, claim: Claim, events: list[Event]) -> bool:
    if not await uow.deliveries.save_claimed(claim.delivery, claim.token):
        return False
    for event in events:
        uow.publish(event)
    return True
