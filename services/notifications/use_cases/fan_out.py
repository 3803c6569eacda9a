"""One event to everyone who should hear of it, in the consuming transaction: the deliveries and
digest items are committed with the inbox row of the event, so a crash mid fan-out redoes the
whole fan-out and nobody is queued twice (deliveries are unique per event, template, channel and
recipient)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

from services.notifications.domain.deliveries import Delivery
from services.notifications.domain.triggers import DigestItem, Direct, Trigger, route
from services.notifications.messages import TEMPLATES
from services.notifications.store import Context, NotificationsUnitOfWork


@dataclass(frozen=True, slots=True)
class FannedOut:
    deliveries: int
    held_for_digest: int


@dataclass(frozen=True, slots=True)
class FanOut:
    """What one trigger queues: deliveries now, items held for digests."""

    deliveries: list[Delivery]
    held: list[DigestItem]


#: Fan-outs waiting for the end of a run of events (see :func:`collected`); None outside one.
_collecting: ContextVar[list[FanOut] | None] = ContextVar("sharaka_fan_outs", default=None)


@asynccontextmanager
async def collected(uow: NotificationsUnitOfWork) -> AsyncIterator[None]:
    """Within it, :func:`notify` only decides who hears of what; the deliveries and digest items
    of every trigger are queued together on a clean exit, one statement per table for a run of
    events instead of two per event. Nothing a fan-out reads is written by another's queueing
    (deliveries are unique per event, template, channel and recipient), so the result is the
    same as queueing each at once."""
    pending: list[FanOut] = []
    token = _collecting.set(pending)
    try:
        yield
    finally:
        _collecting.reset(token)
    await queue(uow, pending)


async def notify(uow: NotificationsUnitOfWork, trigger: Trigger) -> FannedOut:
    """Queue ``trigger`` for everyone who should hear of it (inside :func:`collected`: at its end,
    and the counts are before de-duplication)."""
    made = await who_hears(uow, trigger)
    pending = _collecting.get()
    if pending is None:
        return await queue(uow, [made])
    pending.append(made)
    return FannedOut(len(made.deliveries), len(made.held))


async def queue(uow: NotificationsUnitOfWork, fan_outs: Sequence[FanOut]) -> FannedOut:
    deliveries = [d for f in fan_outs for d in f.deliveries]
    held = [i for f in fan_outs for i in f.held]
    return FannedOut(await uow.deliveries.add_many(deliveries), await uow.deliveries.add_digest_items(held))


async def who_hears(uow: NotificationsUnitOfWork, trigger: Trigger) -> FanOut:
    """Who hears of ``trigger`` and how (reads only)."""
    context = await uow.lookups.context(trigger)
    trigger = Trigger(
        kind=trigger.kind,
        cause_event_id=trigger.cause_event_id,
        at=trigger.at,
        scopes=trigger.scopes,
        params=message_params(trigger, context),
        recipient_ids=trigger.recipient_ids,
    )
    audience = await uow.recipients.audience(trigger, direct_addressees(trigger, context))
    deliveries: list[Delivery] = []
    held: list[DigestItem] = []
    named = set(trigger.recipient_ids)
    for recipient_id, recipient in audience:
        if recipient is None and recipient_id in named:
            continue  # e.g. an input whose author left no contact: nobody to wait for
        for item in route(trigger, recipient_id, recipient):
            if isinstance(item, DigestItem):
                held.append(item)
            else:
                deliveries.append(item)
    if Direct.PLAN_CONTACT in trigger.direct and context.plan_contact_id is None and trigger.plan_id:
        # The plan is not known yet (its events come on another topic): the message waits for
        # the plan's point of contact, found when it is sent.
        deliveries.append(Delivery.queue(cause_event_id=trigger.cause_event_id, template=trigger.kind,
                                         plan_id=trigger.plan_id, params=dict(trigger.params)))  # fmt: skip
    return FanOut(deliveries, held)


def direct_addressees(trigger: Trigger, context: Context) -> list[UUID]:
    found = {
        Direct.PLAN_CONTACT: context.plan_contact_id,
        Direct.MEMBER_CONTACT: context.member_contact_id,
        Direct.RESEARCHER: context.researcher_id,
    }
    return [who for rule in sorted(trigger.direct) if (who := found[rule]) is not None]


def message_params(trigger: Trigger, context: Context) -> dict[str, str]:
    """The template's values: the event's own, then the names the service learnt. A name not
    learnt yet shows empty rather than holding the message back."""
    known = {
        "plan_title": context.plan_title,
        "member_name": context.member_name,
        "round_title": context.round_title,
        "review_kind": context.review_kind,
        "due_date": context.review_due_date,
    }
    wanted = TEMPLATES.get(trigger.kind, frozenset())
    params = {k: v for k, v in trigger.params.items() if k in wanted}
    for name in wanted - params.keys():
        params[name] = known.get(name) or ""
    return params
