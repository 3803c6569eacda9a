"""The notifications service's repositories: the only write-side SQL of the service.

``NotificationsUnitOfWork`` is the interface use cases see; :class:`PgNotificationsUnitOfWork` is
the Postgres one (the runtime builds it for reactions and routes; the delivery worker opens one per
claim and per recorded batch); unit tests use an in-memory one (``tests/fakes/notifications``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from services.notifications.domain.deliveries import Claim, Delivery
from services.notifications.domain.recipients import PlanContact, Recipient
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import DigestItem, ScopeType, Trigger
from services.notifications.store.deliveries import PgDeliveries
from services.notifications.store.lookups import Context, PgLookups
from services.notifications.store.people import PgConsents, PgRecipients, PgSubscriptions
from shared.uow import EventSink, UnitOfWork


class Recipients(Protocol):
    async def learn(self, recipient: Recipient) -> None:
        """Store a contact or author as another service told it: their details change, their
        choices (channels, digest, quiet hours, opt-outs) stay."""

    async def save(self, recipient: Recipient) -> None:
        """Store the recipient whole, choices included."""

    async def get(self, recipient_id: UUID) -> Recipient | None: ...

    async def by_email(self, email: str) -> Recipient | None: ...

    async def by_phone(self, phone: str) -> list[Recipient]: ...

    async def audience(self, trigger: Trigger, direct: Sequence[UUID]) -> list[tuple[UUID, Recipient | None]]:
        """Everyone who should hear of ``trigger``: its followers, people with its roles and the
        ``direct`` addressees, once each, with what is known of them (None: not yet)."""

    async def due_for_digest(self, now: datetime, limit: int) -> list[Recipient]:
        """People whose digest is due, locked for this transaction (others skip them)."""

    async def set_next_digests(self, next_at: Sequence[tuple[UUID, datetime | None]]) -> None:
        """When each person's next digest is due (None: no more)."""

    async def matching(self, email_sha256: str | None, phone_sha256: str | None) -> list[UUID]:
        """Who the digests of an e-mail address or phone number name."""

    async def delete(self, recipient_ids: Sequence[UUID]) -> int: ...


class Subscriptions(Protocol):
    async def get(self, subscription_id: UUID) -> Subscription | None: ...

    async def find(
        self, recipient_id: UUID, scope_type: ScopeType, scope_id: UUID
    ) -> Subscription | None: ...

    async def of(self, recipient_id: UUID) -> list[Subscription]: ...

    async def save(self, subscription: Subscription) -> None: ...

    async def delete(self, subscription_id: UUID) -> None: ...


class Consents(Protocol):
    async def record(
        self,
        recipient_id: UUID,
        action: str,
        *,
        source: str,
        channel: str | None = None,
        scope: str | None = None,
    ) -> None: ...

    async def erasure(self, erasure_id: UUID, *, source: str, requested_by: str, erased: int) -> bool:
        """Record an erasure carried out; False when this one was recorded before."""


class Lookups(Protocol):
    async def save_plan_contact(self, contact: PlanContact) -> None: ...

    async def save_member(self, member_id: UUID, name: str) -> None: ...

    async def save_round(self, round_id: UUID, plan_id: UUID, title: str) -> None: ...

    async def save_review(
        self,
        review_id: UUID,
        plan_id: UUID,
        kind: str,
        *,
        due_date: date | None = None,
        researcher_id: UUID | None = None,
    ) -> None: ...

    async def context(self, trigger: Trigger) -> Context:
        """Names and addressees the service learnt for what the trigger is about."""


class Deliveries(Protocol):
    async def add(self, delivery: Delivery) -> bool:
        """Queue a new delivery; False when this event already queued this template on this
        channel for this recipient (the delivery is not added twice)."""

    async def add_many(self, deliveries: Sequence[Delivery]) -> int:
        """:meth:`add` for many in one statement; how many were new."""

    async def add_digest_items(self, items: Sequence[DigestItem]) -> int: ...

    async def close_digests(self, digests: Sequence[Delivery]) -> int:
        """Queue each digest (its ``recipient_id`` says whose) carrying that person's held items;
        how many were queued (none for a person with nothing held, or whose digest for that
        period exists already)."""

    async def claim_due(self, token: UUID, *, now: datetime, until: datetime, limit: int) -> list[Claim]:
        """Take up to ``limit`` pending deliveries due at ``now`` and not claimed by anyone else
        (or whose claim ran out), for ``token`` until ``until``; oldest due first."""

    async def save_claimed(self, claims: Sequence[Claim]) -> set[UUID]:
        """Record the deliveries' new state and end their claims, where each claim's token
        still holds its row; the ids recorded (a lease that ran out is not)."""

    async def release(self, token: UUID, delivery_ids: Sequence[UUID]) -> None:
        """Give back claimed deliveries untried (e.g. at shutdown), due again at once."""

    async def lock_gateway_messages(self, provider_ids: Sequence[str]) -> None:
        """Hold these gateway message ids until the transaction ends. Taken first by both the
        report and the record of a send: otherwise each can miss the other's uncommitted row and
        a report stays held for ever."""

    async def by_provider_id(self, provider_id: str) -> Delivery | None: ...

    async def hold_report(self, provider_id: str, status: str, error: str | None, at: datetime) -> None:
        """Keep a gateway report that came before the delivery was recorded as sent."""

    async def take_reports(self, provider_ids: Sequence[str]) -> list[tuple[str, str, str | None, datetime]]:
        """The held reports for these ids (removed from the holding table)."""

    async def save(self, delivery: Delivery) -> None:
        """Record a settled delivery's later state (a gateway's status callback)."""

    async def cancel_for(self, recipient_ids: Sequence[UUID], reason: str) -> int:
        """Fail every pending delivery to these recipients (they were erased)."""


class NotificationsUnitOfWork(EventSink, Protocol):
    # Read-only members, so any unit of work whose repositories fit (the Postgres one, the
    # in-memory one of the tests) is one of these for the type checker too.
    @property
    def recipients(self) -> Recipients: ...
    @property
    def subscriptions(self) -> Subscriptions: ...
    @property
    def consents(self) -> Consents: ...
    @property
    def lookups(self) -> Lookups: ...
    @property
    def deliveries(self) -> Deliveries: ...


@dataclass
class PgNotificationsUnitOfWork(UnitOfWork):
    recipients: PgRecipients = field(init=False)
    subscriptions: PgSubscriptions = field(init=False)
    consents: PgConsents = field(init=False)
    lookups: PgLookups = field(init=False)
    deliveries: PgDeliveries = field(init=False)

    def __post_init__(self) -> None:
        self.recipients = PgRecipients(self)
        self.subscriptions = PgSubscriptions(self)
        self.consents = PgConsents(self)
        self.lookups = PgLookups(self)
        self.deliveries = PgDeliveries(self)


__all__ = ["Context", "NotificationsUnitOfWork", "PgNotificationsUnitOfWork"]
