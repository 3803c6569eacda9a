"""One event to everyone who should hear of it, in the consuming transaction: the deliveries and
digest items are committed with the inbox row of the event, so a crash mid fan-out redoes the
whole fan-out and nobody is queued twice (deliveries are unique per event, template, channel and
recipient)."""

from __future__ import annotations

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


async def notify(uow: NotificationsUnitOfWork, trigger: Trigger) -> FannedOut:
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
    return FannedOut(await uow.deliveries.add_many(deliveries), await uow.deliveries.add_digest_items(held))


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
