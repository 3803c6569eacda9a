"""The notifications service's unit of work in memory.

The repositories share one :class:`Tables` (what the database holds) and keep the Postgres rules
the use cases rely on: one delivery per (cause event, template, channel, recipient or plan); one
subscription per (person, scope), whose id stays the first one; only confirmed subscriptions in
the scopes a kind can be followed in reach an ``audience``; a claimed delivery is hidden until
its lease runs out and its outcome is saved only under the claim's token; erasing a person takes
their subscriptions and digest items with them. Loads return copies, as rows read from Postgres
are: an object changed but not saved leaves the tables alone.

:class:`FakeNotificationsUnitOfWork` is one unit of work (use-case tests). The delivery worker opens
many in a row, so :class:`FakeNotificationsDatabase` hands out units over the same tables, keeps
the events of each unit that ends cleanly in ``outbox``, restores the tables of one that fails,
and counts the units open at any moment (``open_units``).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from services.notifications.domain.deliveries import Claim, Delivery, DeliveryStatus, DigestEntry
from services.notifications.domain.recipients import PlanContact, Recipient
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import FOLLOWABLE, DigestItem, ScopeType, Trigger
from services.notifications.store import Context, NotificationsUnitOfWork
from shared.events.base import Event
from shared.events.privacy import digest
from tests.fakes.uow import FakeUnitOfWork

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Consent:
    recipient_id: UUID
    action: str
    source: str
    channel: str | None = None
    scope: str | None = None


@dataclass(slots=True)
class HeldItem:
    item: DigestItem
    delivery_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class ReviewSeen:
    plan_id: UUID
    kind: str
    due_date: date | None = None
    researcher_id: UUID | None = None


@dataclass
class Tables:
    recipients: dict[UUID, Recipient] = field(default_factory=dict)
    subscriptions: dict[UUID, Subscription] = field(default_factory=dict)
    consents: list[Consent] = field(default_factory=list)
    #: erasure id → (source, requested_by, recipients erased)
    erasures: dict[UUID, tuple[str, str, int]] = field(default_factory=dict)
    #: plan id → (its contact, when seen: a sequence number standing for ``seen_at``)
    plan_contacts: dict[UUID, tuple[PlanContact, int]] = field(default_factory=dict)
    members: dict[UUID, str] = field(default_factory=dict)
    #: round id → (plan id, title)
    rounds: dict[UUID, tuple[UUID, str]] = field(default_factory=dict)
    reviews: dict[UUID, ReviewSeen] = field(default_factory=dict)
    #: in insertion order (what ``next_attempt_at DEFAULT now()`` orders when nothing else does)
    deliveries: dict[UUID, Delivery] = field(default_factory=dict)
    #: delivery id → (claim token, claimed until)
    claims: dict[UUID, tuple[UUID, datetime]] = field(default_factory=dict)
    #: (recipient, cause event, template) → the item and the digest that carries it
    digest_items: dict[tuple[UUID, UUID, str], HeldItem] = field(default_factory=dict)
    #: provider id → (status, error, at)
    reports: dict[str, tuple[str, str | None, datetime]] = field(default_factory=dict)
    seen: itertools.count[int] = field(default_factory=itertools.count)

    def consents_of(self, recipient_id: UUID) -> list[Consent]:
        return [c for c in self.consents if c.recipient_id == recipient_id]

    def held_for(self, recipient_id: UUID) -> list[HeldItem]:
        return [h for h in self.digest_items.values() if h.item.recipient_id == recipient_id]


class _Repo:
    def __init__(self, tables: Tables) -> None:
        self.t = tables


def _copy_delivery(d: Delivery) -> Delivery:
    return dataclasses.replace(d, params=dict(d.params))


def _once_key(d: Delivery) -> tuple[UUID, str, str, UUID | None]:
    """``deliveries_once``: (cause_event_id, template, channel, coalesce(recipient_id, plan_id))."""
    return (d.cause_event_id, d.template, d.channel.value, d.recipient_id or d.plan_id)


class FakeRecipients(_Repo):
    async def learn(self, recipient: Recipient) -> None:
        known = self.t.recipients.get(recipient.id)
        if known is None:
            self.t.recipients[recipient.id] = dataclasses.replace(recipient)
            return
        known.name, known.email = recipient.name, recipient.email
        known.phone, known.language = recipient.phone, recipient.language

    async def save(self, recipient: Recipient) -> None:
        self.t.recipients[recipient.id] = dataclasses.replace(recipient)

    async def get(self, recipient_id: UUID) -> Recipient | None:
        r = self.t.recipients.get(recipient_id)
        return dataclasses.replace(r) if r is not None else None

    async def by_email(self, email: str) -> Recipient | None:
        found = (r for r in self.t.recipients.values() if r.email and r.email.lower() == email.lower())
        first = next(found, None)
        return dataclasses.replace(first) if first is not None else None

    async def by_phone(self, phone: str) -> list[Recipient]:
        return [dataclasses.replace(r) for r in self.t.recipients.values() if r.phone == phone]

    async def audience(self, trigger: Trigger, direct: Sequence[UUID]) -> list[tuple[UUID, Recipient | None]]:
        allowed = FOLLOWABLE.get(trigger.kind, frozenset())
        scopes = {(t, i) for t, i in trigger.scopes.items() if t in allowed}
        followers = [
            s.recipient_id
            for s in self.t.subscriptions.values()
            if (s.scope_type, s.scope_id) in scopes
            and s.confirmed_at is not None
            and (not s.kinds or trigger.kind in s.kinds)
        ]
        by_role = [r.id for r in self.t.recipients.values() if r.roles & trigger.roles]
        ids = dict.fromkeys([*followers, *by_role, *direct, *trigger.recipient_ids])
        return [(i, await self.get(i)) for i in ids]

    async def due_for_digest(self, now: datetime, limit: int) -> list[Recipient]:
        due = [
            r for r in self.t.recipients.values() if r.next_digest_at is not None and r.next_digest_at <= now
        ]
        due.sort(key=lambda r: r.next_digest_at or _EARLIEST)
        return [dataclasses.replace(r) for r in due[:limit]]

    async def set_next_digests(self, next_at: Sequence[tuple[UUID, datetime | None]]) -> None:
        for recipient_id, at in next_at:
            if recipient_id in self.t.recipients:
                self.t.recipients[recipient_id].next_digest_at = at

    async def matching(self, email_sha256: str | None, phone_sha256: str | None) -> list[UUID]:
        return [
            r.id
            for r in self.t.recipients.values()
            if (email_sha256 is not None and r.email is not None and digest(r.email) == email_sha256)
            or (phone_sha256 is not None and r.phone is not None and digest(r.phone) == phone_sha256)
        ]

    async def delete(self, recipient_ids: Sequence[UUID]) -> int:
        gone = {i for i in recipient_ids if i in self.t.recipients}
        for i in gone:  # ON DELETE CASCADE
            del self.t.recipients[i]
        self.t.subscriptions = {k: s for k, s in self.t.subscriptions.items() if s.recipient_id not in gone}
        self.t.digest_items = {k: h for k, h in self.t.digest_items.items() if k[0] not in gone}
        return len(gone)


class FakeSubscriptions(_Repo):
    async def get(self, subscription_id: UUID) -> Subscription | None:
        s = self.t.subscriptions.get(subscription_id)
        return dataclasses.replace(s) if s is not None else None

    async def find(self, recipient_id: UUID, scope_type: ScopeType, scope_id: UUID) -> Subscription | None:
        for s in self.t.subscriptions.values():
            if (s.recipient_id, s.scope_type, s.scope_id) == (recipient_id, scope_type, scope_id):
                return dataclasses.replace(s)
        return None

    async def of(self, recipient_id: UUID) -> list[Subscription]:
        mine = [
            dataclasses.replace(s) for s in self.t.subscriptions.values() if s.recipient_id == recipient_id
        ]
        return sorted(mine, key=lambda s: s.created_at)

    async def save(self, subscription: Subscription) -> None:
        s = subscription
        if s.recipient_id not in self.t.recipients:
            raise LookupError(f"subscriptions.recipient_id: no recipient {s.recipient_id} (foreign key)")
        known = await self.find(s.recipient_id, s.scope_type, s.scope_id)
        if known is not None:  # ON CONFLICT (recipient_id, scope_type, scope_id): the first id stays
            stored = self.t.subscriptions[known.id]
            stored.kinds, stored.confirmed_at = s.kinds, s.confirmed_at
            return
        self.t.subscriptions[s.id] = dataclasses.replace(s)

    async def delete(self, subscription_id: UUID) -> None:
        self.t.subscriptions.pop(subscription_id, None)


class FakeConsents(_Repo):
    async def record(
        self,
        recipient_id: UUID,
        action: str,
        *,
        source: str,
        channel: str | None = None,
        scope: str | None = None,
    ) -> None:
        self.t.consents.append(Consent(recipient_id, action, source, channel, scope))

    async def erasure(self, erasure_id: UUID, *, source: str, requested_by: str, erased: int) -> bool:
        if erasure_id in self.t.erasures:
            return False
        self.t.erasures[erasure_id] = (source, requested_by, erased)
        return True


class FakeLookups(_Repo):
    async def save_plan_contact(self, contact: PlanContact) -> None:
        known = self.t.plan_contacts.get(contact.plan_id)
        if known is not None:  # the member stays the first one seen, as in the upsert
            contact = dataclasses.replace(contact, member_id=known[0].member_id)
        self.t.plan_contacts[contact.plan_id] = (contact, next(self.t.seen))

    async def save_member(self, member_id: UUID, name: str) -> None:
        self.t.members[member_id] = name

    async def save_round(self, round_id: UUID, plan_id: UUID, title: str) -> None:
        known = self.t.rounds.get(round_id)
        self.t.rounds[round_id] = (known[0] if known else plan_id, title)

    async def save_review(
        self,
        review_id: UUID,
        plan_id: UUID,
        kind: str,
        *,
        due_date: date | None = None,
        researcher_id: UUID | None = None,
    ) -> None:
        known = self.t.reviews.get(review_id)
        if known is None:
            self.t.reviews[review_id] = ReviewSeen(plan_id, kind, due_date, researcher_id)
            return
        self.t.reviews[review_id] = ReviewSeen(
            known.plan_id, kind, due_date or known.due_date, researcher_id or known.researcher_id
        )

    async def context(self, trigger: Trigger) -> Context:
        s = trigger.scopes
        plan = self.t.plan_contacts.get(s[ScopeType.PLAN]) if ScopeType.PLAN in s else None
        member = s.get(ScopeType.MEMBER)
        latest = max(
            (seen for seen in self.t.plan_contacts.values() if seen[0].member_id == member),
            key=lambda seen: seen[1],
            default=None,
        )
        round_ = self.t.rounds.get(s[ScopeType.ROUND]) if ScopeType.ROUND in s else None
        review = self.t.reviews.get(s[ScopeType.REVIEW]) if ScopeType.REVIEW in s else None
        return Context(
            plan_title=plan[0].title if plan else None,
            plan_contact_id=plan[0].contact_id if plan else None,
            member_name=self.t.members.get(member) if member else None,
            member_contact_id=latest[0].contact_id if latest else None,
            round_title=round_[1] if round_ else None,
            review_kind=review.kind if review else None,
            review_due_date=review.due_date.isoformat() if review and review.due_date else None,
            researcher_id=review.researcher_id if review else None,
        )


class FakeDeliveries(_Repo):
    async def add(self, delivery: Delivery) -> bool:
        return await self.add_many([delivery]) == 1

    async def add_many(self, deliveries: Sequence[Delivery]) -> int:
        added = 0
        for d in deliveries:
            taken = {_once_key(x) for x in self.t.deliveries.values()}
            if d.id in self.t.deliveries or _once_key(d) in taken:  # ON CONFLICT DO NOTHING
                continue
            self.t.deliveries[d.id] = _copy_delivery(d)
            added += 1
        return added

    async def add_digest_items(self, items: Sequence[DigestItem]) -> int:
        added = 0
        for i in items:
            if i.recipient_id not in self.t.recipients:
                raise LookupError(f"digest_items.recipient_id: no recipient {i.recipient_id} (foreign key)")
            key = (i.recipient_id, i.cause_event_id, i.template)
            if key not in self.t.digest_items:
                self.t.digest_items[key] = HeldItem(i)
                added += 1
        return added

    async def close_digests(self, digests: Sequence[Delivery]) -> int:
        made = 0
        for delivery in digests:
            assert delivery.recipient_id is not None
            open_ = [h for h in self.t.held_for(delivery.recipient_id) if h.delivery_id is None]
            if not open_ or not await self.add(delivery):
                continue  # nothing held, or this period's digest exists
            for h in open_:
                h.delivery_id = delivery.id
            made += 1
        return made

    async def claim_due(self, token: UUID, *, now: datetime, until: datetime, limit: int) -> list[Claim]:
        due = [
            d
            for d in self.t.deliveries.values()
            if d.status is DeliveryStatus.PENDING
            and (d.next_attempt_at is None or d.next_attempt_at <= now)
            and (d.id not in self.t.claims or self.t.claims[d.id][1] <= now)
        ]
        due.sort(key=lambda d: d.next_attempt_at or _EARLIEST)  # stable: insertion order otherwise
        claims = []
        for d in due[:limit]:
            self.t.claims[d.id] = (token, until)
            seen = self.t.plan_contacts.get(d.plan_id) if d.plan_id is not None else None
            addressee = d.recipient_id or (seen[0].contact_id if seen else None)
            recipient = self.t.recipients.get(addressee) if addressee is not None else None
            items = sorted(
                (h.item for h in self.t.digest_items.values() if h.delivery_id == d.id), key=lambda i: i.at
            )
            claims.append(
                Claim(
                    delivery=_copy_delivery(d),
                    token=token,
                    recipient_id=addressee,
                    recipient=dataclasses.replace(recipient) if recipient is not None else None,
                    plan_title=seen[0].title if seen else None,
                    items=[DigestEntry(i.template, dict(i.params), i.at) for i in items],
                )
            )
        return claims

    async def save_claimed(self, claims: Sequence[Claim]) -> set[UUID]:
        recorded = set()
        for c in claims:
            held = self.t.claims.get(c.delivery.id)
            if held is None or held[0] != c.token:
                continue
            d, stored = c.delivery, self.t.deliveries[c.delivery.id]
            stored.status, stored.attempts, stored.last_error = d.status, d.attempts, d.last_error
            stored.next_attempt_at = d.next_attempt_at or stored.next_attempt_at
            stored.sent_at, stored.channel, stored.provider_id = d.sent_at, d.channel, d.provider_id
            del self.t.claims[d.id]
            recorded.add(d.id)
        return recorded

    async def release(self, token: UUID, delivery_ids: Sequence[UUID]) -> None:
        for i in delivery_ids:
            if i in self.t.claims and self.t.claims[i][0] == token:
                del self.t.claims[i]

    async def lock_gateway_messages(self, provider_ids: Sequence[str]) -> None:
        return None  # one task at a time in memory

    async def by_provider_id(self, provider_id: str) -> Delivery | None:
        found = next((d for d in self.t.deliveries.values() if d.provider_id == provider_id), None)
        return _copy_delivery(found) if found is not None else None

    async def hold_report(self, provider_id: str, status: str, error: str | None, at: datetime) -> None:
        known = self.t.reports.get(provider_id)
        if known is None or known[2] <= at:
            self.t.reports[provider_id] = (status, error, at)

    async def take_reports(self, provider_ids: Sequence[str]) -> list[tuple[str, str, str | None, datetime]]:
        taken = {p: self.t.reports.pop(p) for p in provider_ids if p in self.t.reports}
        return [(p, *report) for p, report in taken.items()]

    async def save(self, delivery: Delivery) -> None:
        stored = self.t.deliveries[delivery.id]
        stored.status, stored.last_error = delivery.status, delivery.last_error
        stored.provider_status = delivery.provider_status

    async def cancel_for(self, recipient_ids: Sequence[UUID], reason: str) -> int:
        cancelled = 0
        for d in self.t.deliveries.values():
            if d.recipient_id in recipient_ids and d.status is DeliveryStatus.PENDING:
                d.status, d.last_error = DeliveryStatus.FAILED, reason
                self.t.claims.pop(d.id, None)
                cancelled += 1
        return cancelled


class FakeNotificationsUnitOfWork(FakeUnitOfWork):
    service = "notifications"

    def __init__(self, tables: Tables | None = None) -> None:
        super().__init__()
        self.tables = t = tables if tables is not None else Tables()
        self.recipients = FakeRecipients(t)
        self.subscriptions = FakeSubscriptions(t)
        self.consents = FakeConsents(t)
        self.lookups = FakeLookups(t)
        self.deliveries = FakeDeliveries(t)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = _snapshot(self.tables)
        mark = len(self.events)
        try:
            yield
        except BaseException:
            vars(self.tables).update(saved)
            del self.events[mark:]
            raise


def _snapshot(tables: Tables) -> dict[str, Any]:
    return {k: v if k == "seen" else copy.deepcopy(v) for k, v in vars(tables).items()}


class FakeNotificationsDatabase:
    """What several units of work share: the tables and the outbox."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.outbox: list[Event] = []
        self.open_units = 0
        self.units_opened = 0

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[FakeNotificationsUnitOfWork]:
        """One unit of work: its events reach ``outbox`` and its changes stay only when it ends
        cleanly (the tables are restored otherwise, as a rollback would)."""
        saved = _snapshot(self.tables)
        unit = FakeNotificationsUnitOfWork(self.tables)
        self.open_units += 1
        self.units_opened += 1
        try:
            yield unit
        except BaseException:
            vars(self.tables).update(saved)
            raise
        finally:
            self.open_units -= 1
        self.outbox.extend(unit.events)

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.outbox if isinstance(e, kind)]


def _is_a_unit_of_work(uow: FakeNotificationsUnitOfWork) -> NotificationsUnitOfWork:
    return uow  # mypy: the fake has the shape of the Postgres one
