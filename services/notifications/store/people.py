"""Recipients, their subscriptions and the consent log, in Postgres."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.notifications.domain.recipients import DigestMode, QuietHours, Recipient, RecipientKind
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import FOLLOWABLE, ScopeType, Trigger
from shared.events.notifications import Channel
from shared.uow import UnitOfWork

RECIPIENT_COLUMNS = (
    "id, name, email, phone, language, kind, roles, channels, digest, timezone, quiet_start, quiet_end, "
    "confirmed_at, email_opt_out_at, sms_opt_out_at, next_digest_at"
)


def recipient_of(r: asyncpg.Record, prefix: str = "") -> Recipient:
    """A recipient from a row whose recipient columns carry ``prefix``."""

    def col(name: str) -> object:
        return r[prefix + name]

    start, end = col("quiet_start"), col("quiet_end")
    return Recipient(
        id=r[prefix + "id"],
        name=r[prefix + "name"],
        email=r[prefix + "email"],
        phone=r[prefix + "phone"],
        language=r[prefix + "language"],
        kind=RecipientKind(r[prefix + "kind"]),
        roles=frozenset(r[prefix + "roles"]),
        channels=frozenset(Channel(c) for c in r[prefix + "channels"]),
        digest=DigestMode(r[prefix + "digest"]),
        timezone=r[prefix + "timezone"],
        quiet=QuietHours(start, end) if start is not None and end is not None else None,  # type: ignore[arg-type]
        confirmed_at=r[prefix + "confirmed_at"],
        email_opt_out_at=r[prefix + "email_opt_out_at"],
        sms_opt_out_at=r[prefix + "sms_opt_out_at"],
        next_digest_at=r[prefix + "next_digest_at"],
    )


def _values(x: Recipient) -> tuple[object, ...]:
    return (
        x.id, x.name, x.email, x.phone, x.language, x.kind.value, sorted(x.roles),
        sorted(c.value for c in x.channels), x.digest.value, x.timezone,
        x.quiet.start if x.quiet else None, x.quiet.end if x.quiet else None,
        x.confirmed_at, x.email_opt_out_at, x.sms_opt_out_at, x.next_digest_at,
    )  # fmt: skip


_UPSERT = f"""
INSERT INTO recipients ({RECIPIENT_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name, email = EXCLUDED.email, phone = EXCLUDED.phone, language = EXCLUDED.language,
    updated_at = now()
"""  # noqa: S608

_SAVE = (
    _UPSERT
    + """, kind = EXCLUDED.kind, roles = EXCLUDED.roles, channels = EXCLUDED.channels,
    digest = EXCLUDED.digest, timezone = EXCLUDED.timezone, quiet_start = EXCLUDED.quiet_start,
    quiet_end = EXCLUDED.quiet_end, confirmed_at = EXCLUDED.confirmed_at,
    email_opt_out_at = EXCLUDED.email_opt_out_at, sms_opt_out_at = EXCLUDED.sms_opt_out_at,
    next_digest_at = EXCLUDED.next_digest_at"""
)

# Followers of anything the trigger is about, people with its roles, and its direct addressees;
# each person once, with what is known of them.
_AUDIENCE = f"""
WITH ids AS (
    SELECT s.recipient_id AS id
    FROM subscriptions s
    JOIN unnest($1::text[], $2::uuid[]) AS sc(t, i) ON s.scope_type = sc.t AND s.scope_id = sc.i
    WHERE s.confirmed_at IS NOT NULL AND (cardinality(s.kinds) = 0 OR $3 = ANY (s.kinds))
    UNION
    SELECT r.id FROM recipients r WHERE r.roles && $4::text[]
    UNION
    SELECT unnest($5::uuid[])
)
SELECT ids.id AS addressee, r.{RECIPIENT_COLUMNS.replace(", ", ", r.")}
FROM ids LEFT JOIN recipients r ON r.id = ids.id
"""  # noqa: S608


class PgRecipients:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def learn(self, recipient: Recipient) -> None:
        await self._conn.execute(_UPSERT, *_values(recipient))

    async def save(self, recipient: Recipient) -> None:
        await self._conn.execute(_SAVE, *_values(recipient))

    async def get(self, recipient_id: UUID) -> Recipient | None:
        row = await self._conn.fetchrow(
            f"SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE id = $1",  # noqa: S608
            recipient_id,
        )
        return recipient_of(row) if row else None

    async def by_email(self, email: str) -> Recipient | None:
        row = await self._conn.fetchrow(
            f"SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE lower(email) = lower($1) "  # noqa: S608
            "ORDER BY created_at LIMIT 1",
            email,
        )
        return recipient_of(row) if row else None

    async def by_phone(self, phone: str) -> list[Recipient]:
        rows = await self._conn.fetch(f"SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE phone = $1", phone)  # noqa: S608
        return [recipient_of(r) for r in rows]

    async def audience(self, trigger: Trigger, direct: Sequence[UUID]) -> list[tuple[UUID, Recipient | None]]:
        # Only the scopes this kind can be followed in: a plan's follower does not hear of the
        # member's next plan being overdue.
        allowed = FOLLOWABLE.get(trigger.kind, frozenset())
        scopes = [(t, i) for t, i in trigger.scopes.items() if t in allowed]
        rows = await self._conn.fetch(
            _AUDIENCE,
            [t.value for t, _ in scopes], [i for _, i in scopes], trigger.kind, sorted(trigger.roles),
            list(dict.fromkeys([*direct, *trigger.recipient_ids])),
        )  # fmt: skip
        return [(r["addressee"], recipient_of(r) if r["id"] is not None else None) for r in rows]

    async def due_for_digest(self, now: datetime, limit: int) -> list[Recipient]:
        rows = await self._conn.fetch(
            f"""SELECT {RECIPIENT_COLUMNS} FROM recipients
                WHERE next_digest_at <= $1
                ORDER BY next_digest_at LIMIT $2 FOR UPDATE SKIP LOCKED""",  # noqa: S608
            now, limit,
        )  # fmt: skip
        return [recipient_of(r) for r in rows]

    async def set_next_digests(self, next_at: Sequence[tuple[UUID, datetime | None]]) -> None:
        await self._conn.execute(
            """UPDATE recipients r SET next_digest_at = u.at
               FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE r.id = u.id""",
            [i for i, _ in next_at], [at for _, at in next_at],
        )  # fmt: skip

    async def matching(self, email_sha256: str | None, phone_sha256: str | None) -> list[UUID]:
        rows = await self._conn.fetch(
            """SELECT id FROM recipients
               WHERE ($1::text IS NOT NULL AND email IS NOT NULL
                      AND encode(sha256(convert_to(lower(btrim(email)), 'UTF8')), 'hex') = $1)
                  OR ($2::text IS NOT NULL AND phone IS NOT NULL
                      AND encode(sha256(convert_to(lower(btrim(phone)), 'UTF8')), 'hex') = $2)""",
            email_sha256, phone_sha256,
        )  # fmt: skip
        return [r["id"] for r in rows]

    async def delete(self, recipient_ids: Sequence[UUID]) -> int:
        status = await self._conn.execute(
            "DELETE FROM recipients WHERE id = ANY($1::uuid[])", list(recipient_ids)
        )
        return int(status.split()[-1])


def _subscription(r: asyncpg.Record) -> Subscription:
    return Subscription(
        r["id"], r["recipient_id"], ScopeType(r["scope_type"]), r["scope_id"], frozenset(r["kinds"]),
        r["created_at"], r["confirmed_at"],
    )  # fmt: skip


class PgSubscriptions:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def get(self, subscription_id: UUID) -> Subscription | None:
        row = await self._conn.fetchrow("SELECT * FROM subscriptions WHERE id = $1", subscription_id)
        return _subscription(row) if row else None

    async def find(self, recipient_id: UUID, scope_type: ScopeType, scope_id: UUID) -> Subscription | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM subscriptions WHERE recipient_id = $1 AND scope_type = $2 AND scope_id = $3",
            recipient_id, scope_type.value, scope_id,
        )  # fmt: skip
        return _subscription(row) if row else None

    async def of(self, recipient_id: UUID) -> list[Subscription]:
        rows = await self._conn.fetch(
            "SELECT * FROM subscriptions WHERE recipient_id = $1 ORDER BY created_at", recipient_id
        )
        return [_subscription(r) for r in rows]

    async def save(self, subscription: Subscription) -> None:
        s = subscription
        await self._conn.execute(
            """INSERT INTO subscriptions
                   (id, recipient_id, scope_type, scope_id, kinds, created_at, confirmed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (recipient_id, scope_type, scope_id)
               DO UPDATE SET kinds = EXCLUDED.kinds, confirmed_at = EXCLUDED.confirmed_at""",
            s.id, s.recipient_id, s.scope_type.value, s.scope_id, sorted(s.kinds), s.created_at,
            s.confirmed_at,
        )  # fmt: skip

    async def delete(self, subscription_id: UUID) -> None:
        await self._conn.execute("DELETE FROM subscriptions WHERE id = $1", subscription_id)


class PgConsents:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def record(
        self,
        recipient_id: UUID,
        action: str,
        *,
        source: str,
        channel: str | None = None,
        scope: str | None = None,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO consents (recipient_id, action, channel, scope, source) VALUES ($1, $2, $3, $4, $5)",
            recipient_id, action, channel, scope, source,
        )  # fmt: skip

    async def erasure(self, erasure_id: UUID, *, source: str, requested_by: str, erased: int) -> bool:
        status = await self._conn.execute(
            """INSERT INTO erasures (id, source, requested_by, recipients_erased) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO NOTHING""",
            erasure_id, source, requested_by, erased,
        )  # fmt: skip
        return bool(status == "INSERT 0 1")
