"""The notifications service's repositories: the only write-side SQL of the service.

``NotificationsUnitOfWork`` is the interface use cases see; :class:`PgNotificationsUnitOfWork` is
the Postgres one (the runtime builds it for reactions; the delivery worker opens one per claim and
per recorded outcome); unit tests use an in-memory one.

The queue is shared by every replica through a lease: :meth:`PgDeliveries.claim_due` marks due rows
as taken (``claimed_until``, ``claim_token``) in a short transaction that commits before anything is
sent; :meth:`PgDeliveries.save_claimed` records an outcome only while the claim is still the
worker's own. A worker that dies mid-batch leaves leases that simply run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from services.notifications.domain import Claim, Delivery, DeliveryStatus, PlanContact, Recipient
from shared.events.notifications import Channel
from shared.uow import EventSink, UnitOfWork


class Recipients(Protocol):
    async def save(self, recipient: Recipient) -> None:
        """Store the recipient, replacing what was known of them."""


class PlanContacts(Protocol):
    async def save(self, contact: PlanContact) -> None:
        """Store who speaks for the plan (the latest word wins)."""


class Deliveries(Protocol):
    async def add(self, delivery: Delivery) -> bool:
        """Queue a new delivery; False when this event already queued this template on this
        channel (the delivery is not added twice)."""

    async def claim_due(self, token: UUID, *, now: datetime, until: datetime, limit: int) -> list[Claim]:
        """Take up to ``limit`` pending deliveries due at ``now`` and not claimed by anyone else
        (or whose claim ran out), for ``token`` until ``until``; oldest due first."""

    async def save_claimed(self, delivery: Delivery, token: UUID) -> bool:
        """Record the delivery's new state and end the claim, if the claim ``token`` still holds
        it; False when the lease ran out and another worker took the delivery since."""

    async def release(self, token: UUID, delivery_ids: Sequence[UUID]) -> None:
        """Give back claimed deliveries untried (e.g. at shutdown), due again at once."""


class NotificationsUnitOfWork(EventSink, Protocol):
    # Read-only members, so any unit of work whose repositories fit (the Postgres one, the
    # in-memory one of the tests) is one of these for the type checker too.
    @property
    def recipients(self) -> Recipients: ...
    @property
    def plan_contacts(self) -> PlanContacts: ...
    @property
    def deliveries(self) -> Deliveries: ...


class PgRecipients:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def save(self, recipient: Recipient) -> None:
        await self._conn.execute(
            """INSERT INTO recipients (id, name, email, phone, language) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
                   phone = EXCLUDED.phone, language = EXCLUDED.language, updated_at = now()""",
            recipient.id, recipient.name, recipient.email, recipient.phone, recipient.language,
        )  # fmt: skip


class PgPlanContacts:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def save(self, contact: PlanContact) -> None:
        await self._conn.execute(
            """INSERT INTO plan_contacts (plan_id, member_id, contact_id, title) VALUES ($1, $2, $3, $4)
               ON CONFLICT (plan_id) DO UPDATE SET contact_id = EXCLUDED.contact_id,
                   title = EXCLUDED.title""",
            contact.plan_id, contact.member_id, contact.contact_id, contact.title,
        )  # fmt: skip


# Hot path of every replica's poll: pick, lease and resolve the addressee in one round trip.
# SKIP LOCKED keeps two replicas claiming at the same instant from waiting on (or taking) the
# same rows; the lease (committed with this statement) keeps them apart afterwards.
_CLAIM = """
WITH due AS (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= $1
      AND (claimed_until IS NULL OR claimed_until <= $1)
    ORDER BY next_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE deliveries d SET claimed_until = $3, claim_token = $4
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.cause_event_id, d.template, d.channel, d.recipient_id, d.plan_id, d.params,
              d.status, d.attempts, d.next_attempt_at, d.last_error, d.sent_at
)
SELECT c.*, coalesce(c.recipient_id, pc.contact_id) AS addressee_id, pc.title AS plan_title,
       r.id AS r_id, r.name AS r_name, r.email AS r_email, r.phone AS r_phone, r.language AS r_language
FROM claimed c
LEFT JOIN plan_contacts pc ON pc.plan_id = c.plan_id
LEFT JOIN recipients r ON r.id = coalesce(c.recipient_id, pc.contact_id)
ORDER BY c.next_attempt_at
"""


class PgDeliveries:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def add(self, delivery: Delivery) -> bool:
        status = await self._conn.execute(
            """INSERT INTO deliveries (id, cause_event_id, template, channel, recipient_id, plan_id, params)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            delivery.id, delivery.cause_event_id, delivery.template, delivery.channel.value,
            delivery.recipient_id, delivery.plan_id, delivery.params,
        )  # fmt: skip
        return bool(status == "INSERT 0 1")

    async def claim_due(self, token: UUID, *, now: datetime, until: datetime, limit: int) -> list[Claim]:
        rows = await self._conn.fetch(_CLAIM, now, limit, until, token)
        return [_claim(r, token) for r in rows]

    async def save_claimed(self, delivery: Delivery, token: UUID) -> bool:
        status = await self._conn.execute(
            """UPDATE deliveries SET status = $3, attempts = $4,
                   next_attempt_at = coalesce($5, next_attempt_at), last_error = $6, sent_at = $7,
                   claimed_until = NULL, claim_token = NULL
               WHERE id = $1 AND claim_token = $2""",
            delivery.id, token, delivery.status.value, delivery.attempts, delivery.next_attempt_at,
            delivery.last_error, delivery.sent_at,
        )  # fmt: skip
        return bool(status == "UPDATE 1")

    async def release(self, token: UUID, delivery_ids: Sequence[UUID]) -> None:
        await self._conn.execute(
            "UPDATE deliveries SET claimed_until = NULL, claim_token = NULL "
            "WHERE claim_token = $1 AND id = ANY($2::uuid[])",
            token, list(delivery_ids),
        )  # fmt: skip


def _claim(r: asyncpg.Record, token: UUID) -> Claim:
    delivery = Delivery(
        id=r["id"],
        cause_event_id=r["cause_event_id"],
        template=r["template"],
        channel=Channel(r["channel"]),
        recipient_id=r["recipient_id"],
        plan_id=r["plan_id"],
        params={str(k): str(v) for k, v in (r["params"] or {}).items()},
        status=DeliveryStatus(r["status"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"],
        sent_at=r["sent_at"],
    )
    recipient = None
    if r["r_id"] is not None:
        recipient = Recipient(
            id=r["r_id"], name=r["r_name"], email=r["r_email"], phone=r["r_phone"], language=r["r_language"]
        )
    return Claim(
        delivery=delivery,
        token=token,
        recipient_id=r["addressee_id"],
        recipient=recipient,
        plan_title=r["plan_title"],
    )


@dataclass
class PgNotificationsUnitOfWork(UnitOfWork):
    recipients: PgRecipients = field(init=False)
    plan_contacts: PgPlanContacts = field(init=False)
    deliveries: PgDeliveries = field(init=False)

    def __post_init__(self) -> None:
        self.recipients = PgRecipients(self)
        self.plan_contacts = PgPlanContacts(self)
        self.deliveries = PgDeliveries(self)
