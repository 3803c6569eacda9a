"""The delivery queue and the digest items, in Postgres.

The queue is shared by every replica through a lease: :meth:`PgDeliveries.claim_due` marks due rows
as taken (``claimed_until``, ``claim_token``) in a short transaction that commits before anything is
sent; :meth:`PgDeliveries.save_claimed` records outcomes (one statement for a whole batch) only
where the claim is still the worker's own. A worker that dies mid-batch leaves leases that run out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.notifications.domain.deliveries import DIGEST, Claim, Delivery, DeliveryStatus, DigestEntry
from services.notifications.domain.triggers import DigestItem
from services.notifications.store.people import RECIPIENT_COLUMNS, recipient_of
from shared.events.notifications import Channel
from shared.locks import NOTIFICATIONS_GATEWAY_MESSAGE
from shared.uow import UnitOfWork

_DELIVERY_COLUMNS = (
    "id, cause_event_id, template, channel, recipient_id, plan_id, params, status, attempts, "
    "next_attempt_at, last_error, sent_at, provider_id, provider_status"
)

# Hot path of every replica's poll: pick, lease and resolve the addressee in one round trip.
# SKIP LOCKED keeps two replicas claiming at the same instant from waiting on (or taking) the
# same rows; the lease (committed with this statement) keeps them apart afterwards.
_CLAIM = f"""
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
    RETURNING d.{_DELIVERY_COLUMNS.replace(", ", ", d.")}
)
SELECT c.*, coalesce(c.recipient_id, pc.contact_id) AS addressee_id, pc.title AS plan_title,
       {", ".join(f"r.{c} AS r_{c}" for c in RECIPIENT_COLUMNS.split(", "))}
FROM claimed c
LEFT JOIN plan_contacts pc ON pc.plan_id = c.plan_id
LEFT JOIN recipients r ON r.id = coalesce(c.recipient_id, pc.contact_id)
ORDER BY c.next_attempt_at
"""  # noqa: S608

_SAVE_CLAIMED = """
UPDATE deliveries d SET status = u.status, attempts = u.attempts,
    next_attempt_at = coalesce(u.next_attempt_at, d.next_attempt_at), last_error = u.last_error,
    sent_at = u.sent_at, channel = u.channel, provider_id = u.provider_id,
    claimed_until = NULL, claim_token = NULL
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[], $6::text[],
            $7::timestamptz[], $8::text[], $9::text[])
     AS u(id, token, status, attempts, next_attempt_at, last_error, sent_at, channel, provider_id)
WHERE d.id = u.id AND d.claim_token = u.token
RETURNING d.id
"""

_ADD_MANY = """
INSERT INTO deliveries (id, cause_event_id, template, channel, recipient_id, plan_id, params)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::jsonb[])
ON CONFLICT DO NOTHING
"""


class PgDeliveries:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def add(self, delivery: Delivery) -> bool:
        return await self.add_many([delivery]) == 1

    async def add_many(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        status = await self._conn.execute(
            _ADD_MANY,
            [d.id for d in deliveries], [d.cause_event_id for d in deliveries],
            [d.template for d in deliveries], [d.channel.value for d in deliveries],
            [d.recipient_id for d in deliveries], [d.plan_id for d in deliveries],
            [d.params for d in deliveries],
        )  # fmt: skip
        return int(status.split()[-1])

    async def add_digest_items(self, items: Sequence[DigestItem]) -> int:
        if not items:
            return 0
        status = await self._conn.execute(
            """INSERT INTO digest_items (recipient_id, cause_event_id, template, params, at)
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::timestamptz[])
               ON CONFLICT DO NOTHING""",
            [i.recipient_id for i in items], [i.cause_event_id for i in items], [i.template for i in items],
            [dict(i.params) for i in items], [i.at for i in items],
        )  # fmt: skip
        return int(status.split()[-1])

    async def close_digests(self, digests: Sequence[Delivery]) -> int:
        if not digests:
            return 0
        rows = await self._conn.fetch(
            """WITH made AS (
                   INSERT INTO deliveries
                       (id, cause_event_id, template, channel, recipient_id, plan_id, params)
                   SELECT u.* FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[],
                                          $6::uuid[], $7::jsonb[])
                        AS u(id, cause_event_id, template, channel, recipient_id, plan_id, params)
                   -- Only for people with something held: nobody gets an empty digest.
                   WHERE EXISTS (SELECT 1 FROM digest_items i
                                 WHERE i.recipient_id = u.recipient_id AND i.delivery_id IS NULL)
                   ON CONFLICT DO NOTHING
                   RETURNING id, recipient_id
               )
               UPDATE digest_items i SET delivery_id = made.id FROM made
               WHERE i.recipient_id = made.recipient_id AND i.delivery_id IS NULL
               RETURNING i.delivery_id""",
            [d.id for d in digests], [d.cause_event_id for d in digests], [d.template for d in digests],
            [d.channel.value for d in digests], [d.recipient_id for d in digests],
            [d.plan_id for d in digests], [d.params for d in digests],
        )  # fmt: skip
        return len({r["delivery_id"] for r in rows})

    async def claim_due(self, token: UUID, *, now: datetime, until: datetime, limit: int) -> list[Claim]:
        rows = await self._conn.fetch(_CLAIM, now, limit, until, token)
        claims = [_claim(r, token) for r in rows]
        digests = {c.delivery.id: c for c in claims if c.delivery.template == DIGEST}
        if digests:
            items = await self._conn.fetch(
                """SELECT delivery_id, template, params, at FROM digest_items
                   WHERE delivery_id = ANY($1::uuid[]) ORDER BY at""",
                list(digests),
            )
            for i in items:
                digests[i["delivery_id"]].items.append(
                    DigestEntry(
                        i["template"], {str(k): str(v) for k, v in _params(i["params"]).items()}, i["at"]
                    )
                )
        return claims

    async def save_claimed(self, claims: Sequence[Claim]) -> set[UUID]:
        if not claims:
            return set()
        ds = [c.delivery for c in claims]
        rows = await self._conn.fetch(
            _SAVE_CLAIMED,
            [d.id for d in ds], [c.token for c in claims], [d.status.value for d in ds],
            [d.attempts for d in ds], [d.next_attempt_at for d in ds], [d.last_error for d in ds],
            [d.sent_at for d in ds], [d.channel.value for d in ds], [d.provider_id for d in ds],
        )  # fmt: skip
        return {r["id"] for r in rows}

    async def release(self, token: UUID, delivery_ids: Sequence[UUID]) -> None:
        await self._conn.execute(
            "UPDATE deliveries SET claimed_until = NULL, claim_token = NULL "
            "WHERE claim_token = $1 AND id = ANY($2::uuid[])",
            token, list(delivery_ids),
        )  # fmt: skip

    async def lock_gateway_messages(self, provider_ids: Sequence[str]) -> None:
        if provider_ids:  # in one order (sorted), so two transactions never wait on each other
            await self._conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(p)) FROM unnest($2::text[]) AS p",
                NOTIFICATIONS_GATEWAY_MESSAGE, sorted(set(provider_ids)),
            )  # fmt: skip

    async def by_provider_id(self, provider_id: str) -> Delivery | None:
        row = await self._conn.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE provider_id = $1 FOR UPDATE",  # noqa: S608
            provider_id,
        )
        return _delivery(row) if row else None

    async def hold_report(self, provider_id: str, status: str, error: str | None, at: datetime) -> None:
        await self._conn.execute(
            """INSERT INTO gateway_reports (provider_id, status, error, at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (provider_id) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error,
                   at = EXCLUDED.at WHERE gateway_reports.at <= EXCLUDED.at""",
            provider_id, status, error, at,
        )  # fmt: skip

    async def take_reports(self, provider_ids: Sequence[str]) -> list[tuple[str, str, str | None, datetime]]:
        if not provider_ids:
            return []
        rows = await self._conn.fetch(
            """DELETE FROM gateway_reports WHERE provider_id = ANY($1::text[])
               RETURNING provider_id, status, error, at""",
            list(provider_ids),
        )
        return [(r["provider_id"], r["status"], r["error"], r["at"]) for r in rows]

    async def save(self, delivery: Delivery) -> None:
        await self._conn.execute(
            "UPDATE deliveries SET status = $2, last_error = $3, provider_status = $4 WHERE id = $1",
            delivery.id, delivery.status.value, delivery.last_error, delivery.provider_status,
        )  # fmt: skip

    async def cancel_for(self, recipient_ids: Sequence[UUID], reason: str) -> int:
        status = await self._conn.execute(
            """UPDATE deliveries SET status = 'failed', last_error = $2, claimed_until = NULL,
                   claim_token = NULL
               WHERE recipient_id = ANY($1::uuid[]) AND status = 'pending'""",
            list(recipient_ids), reason,
        )  # fmt: skip
        return int(status.split()[-1])


def _params(value: object) -> dict[str, object]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value) if isinstance(value, dict) else {}


def _delivery(r: asyncpg.Record) -> Delivery:
    return Delivery(
        id=r["id"],
        cause_event_id=r["cause_event_id"],
        template=r["template"],
        channel=Channel(r["channel"]),
        recipient_id=r["recipient_id"],
        plan_id=r["plan_id"],
        params={str(k): str(v) for k, v in _params(r["params"]).items()},
        status=DeliveryStatus(r["status"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"],
        sent_at=r["sent_at"],
        provider_id=r["provider_id"],
        provider_status=r["provider_status"],
    )


def _claim(r: asyncpg.Record, token: UUID) -> Claim:
    recipient = recipient_of(r, "r_") if r["r_id"] is not None else None
    return Claim(_delivery(r), token, r["addressee_id"], recipient, r["plan_title"])
