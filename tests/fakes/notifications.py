"""The notifications service's unit of work in memory.

:class:`FakeNotificationsUnitOfWork` is one unit of work for use-case tests. The delivery worker
opens many in a row (claim, then one per outcome), so :class:`FakeNotificationsDatabase` keeps the
repositories they share, commits the events of each unit that ends cleanly to its ``outbox``, and
counts the units open at any moment (``open_units``): a test can see that none is open while a
message is being sent.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from services.notifications.domain import Claim, Delivery, DeliveryStatus, PlanContact, Recipient
from shared.events.base import Event
from tests.fakes.uow import FakeUnitOfWork


class FakeRecipients:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Recipient] = {}

    async def save(self, recipient: Recipient) -> None:
        self.by_id[recipient.id] = dataclasses.replace(recipient)


class FakePlanContacts:
    def __init__(self) -> None:
        self.by_plan: dict[UUID, PlanContact] = {}

    async def save(self, contact: PlanContact) -> None:
        self.by_plan[contact.plan_id] = contact


class FakeDeliveries:
    """Deliveries and their claims (``claims[id] = (token, until)``), with the Postgres rules: one
    delivery per (cause event, template, channel); a claim hides a row until it runs out; an
    outcome is saved only under the claim that holds the row."""

    def __init__(self, recipients: FakeRecipients, plan_contacts: FakePlanContacts) -> None:
        self._recipients = recipients
        self._plan_contacts = plan_contacts
        self.by_id: dict[UUID, Delivery] = {}
        self.claims: dict[UUID, tuple[UUID, datetime]] = {}

    async def add(self, delivery: Delivery) -> bool:
        key = (delivery.cause_event_id, delivery.template, delivery.channel)
        if any((d.cause_event_id, d.template, d.channel) == key for d in self.by_id.values()):
            return False
        self.by_id[delivery.id] = _copy(delivery)
        return True

    async def claim_due(self, token: UUID, *, now: datetime, until: datetime, limit: int) -> list[Claim]:
        due = [
            d
            for d in self.by_id.values()
            if d.status is DeliveryStatus.PENDING
            and (d.next_attempt_at is None or d.next_attempt_at <= now)
            and (d.id not in self.claims or self.claims[d.id][1] <= now)
        ]
        due.sort(key=lambda d: d.next_attempt_at or datetime.min.replace(tzinfo=now.tzinfo))
        claims = []
        for d in due[:limit]:
            self.claims[d.id] = (token, until)
            contact = self._plan_contacts.by_plan.get(d.plan_id) if d.plan_id is not None else None
            addressee = d.recipient_id or (contact.contact_id if contact is not None else None)
            recipient = self._recipients.by_id.get(addressee) if addressee is not None else None
            claims.append(
                Claim(
                    delivery=_copy(d),  # what the worker holds is its own copy, as read from a row
                    token=token,
                    recipient_id=addressee,
                    recipient=dataclasses.replace(recipient) if recipient is not None else None,
                    plan_title=contact.title if contact is not None else None,
                )
            )
        return claims

    async def save_claimed(self, delivery: Delivery, token: UUID) -> bool:
        held = self.claims.get(delivery.id)
        if held is None or held[0] != token:
            return False
        self.by_id[delivery.id] = _copy(delivery)
        del self.claims[delivery.id]
        return True

    async def release(self, token: UUID, delivery_ids: Sequence[UUID]) -> None:
        for delivery_id in delivery_ids:
            if self.claims.get(delivery_id, (None,))[0] == token:
                del self.claims[delivery_id]


def _copy(delivery: Delivery) -> Delivery:
    return dataclasses.replace(delivery, params=dict(delivery.params))


class FakeNotificationsUnitOfWork(FakeUnitOfWork):
    def __init__(
        self,
        recipients: FakeRecipients | None = None,
        plan_contacts: FakePlanContacts | None = None,
        deliveries: FakeDeliveries | None = None,
    ) -> None:
        super().__init__()
        self.recipients = recipients or FakeRecipients()
        self.plan_contacts = plan_contacts or FakePlanContacts()
        self.deliveries = deliveries or FakeDeliveries(self.recipients, self.plan_contacts)


class FakeNotificationsDatabase:
    """What several units of work share: the repositories and the outbox."""

    def __init__(self) -> None:
        self.recipients = FakeRecipients()
        self.plan_contacts = FakePlanContacts()
        self.deliveries = FakeDeliveries(self.recipients, self.plan_contacts)
        self.outbox: list[Event] = []
        self.open_units = 0
        self.units_opened = 0

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[FakeNotificationsUnitOfWork]:
        """One unit of work: its events reach ``outbox`` and its changes stay only when it ends
        cleanly (the repositories are restored otherwise, as a rollback would)."""
        saved = copy.deepcopy((self.recipients.by_id, self.plan_contacts.by_plan,
                               self.deliveries.by_id, self.deliveries.claims))  # fmt: skip
        unit = FakeNotificationsUnitOfWork(self.recipients, self.plan_contacts, self.deliveries)
        self.open_units += 1
        self.units_opened += 1
        try:
            yield unit
        except BaseException:
            (self.recipients.by_id, self.plan_contacts.by_plan,
             self.deliveries.by_id, self.deliveries.claims) = saved  # fmt: skip
            raise
        finally:
            self.open_units -= 1
        self.outbox.extend(unit.events)

    def of_type(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.outbox if isinstance(e, kind)]
