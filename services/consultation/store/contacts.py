"""Repositories of authors' contacts and of the erasures applied to them.

No read-side query touches ``author_contacts``: the contacts leave this service only on the
private topic, for the notifications service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from services.consultation.domain.contacts import AuthorContact
from shared.events.base import Event
from shared.uow import OUTBOX_COLUMNS, UnitOfWork, outbox_row


class AuthorContacts(Protocol):
    async def add_with_event(self, contact: AuthorContact, event: Event) -> None:
        """Store the contact and its private event's outbox row (one round trip: posting is the
        hot path)."""

    async def erase(self, email_sha256: str | None, phone_sha256: str | None) -> list[UUID]:
        """Delete every contact whose normalised e-mail or phone has one of these digests; the
        inputs whose contacts were deleted."""
        ...


class Erasures(Protocol):
    async def claim(self, erasure_id: UUID, at: datetime) -> bool:
        """Record that this erasure is being applied; False when it was applied before (a
        concurrent claim of the same erasure waits for the first, then gets False)."""
        ...

    async def record(self, erasure_id: UUID, contacts_erased: int) -> None:
        """The count of contacts the claimed erasure deleted."""


#: The contact and its outbox row in one statement.
_INSERT_WITH_EVENT = f"""
WITH c AS (
    INSERT INTO author_contacts (input_id, round_id, plan_id, name, email, phone, language, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
)
INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($9, $10, $11, $12, $13, $14, $15, $16, $17)
"""  # noqa: S608 (constant SQL fragments; values are parameters)


def _digest_of(column: str) -> str:
    """SQL for :func:`shared.events.privacy.digest` of a column: hex SHA-256 of the trimmed,
    lower-cased value. (An expression index cannot hold it, ``convert_to`` being only stable;
    erasures are rare and the table is scanned once per request.)"""
    return f"encode(sha256(convert_to(lower(btrim({column})), 'UTF8')), 'hex')"


_ERASE = f"""
DELETE FROM author_contacts
WHERE ($1::text IS NOT NULL AND email IS NOT NULL AND {_digest_of("email")} = $1)
   OR ($2::text IS NOT NULL AND phone IS NOT NULL AND {_digest_of("phone")} = $2)
RETURNING input_id
"""  # noqa: S608 (constant SQL fragments; values are parameters)


class PgAuthorContacts:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn
        self._service = uow.service

    async def add_with_event(self, contact: AuthorContact, event: Event) -> None:
        d = contact.details
        await self._conn.execute(
            _INSERT_WITH_EVENT,
            contact.input_id, contact.round_id, contact.plan_id, d.name, d.email, d.phone, d.language,
            contact.created_at, *outbox_row(event, self._service),
        )  # fmt: skip

    async def erase(self, email_sha256: str | None, phone_sha256: str | None) -> list[UUID]:
        if email_sha256 is None and phone_sha256 is None:
            return []
        rows = await self._conn.fetch(_ERASE, email_sha256, phone_sha256)
        return sorted(r["input_id"] for r in rows)


class PgErasures:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def claim(self, erasure_id: UUID, at: datetime) -> bool:
        status = await self._conn.execute(
            """INSERT INTO erasures (erasure_id, contacts_erased, applied_at) VALUES ($1, 0, $2)
               ON CONFLICT (erasure_id) DO NOTHING""",
            erasure_id,
            at,
        )
        return bool(status == "INSERT 0 1")

    async def record(self, erasure_id: UUID, contacts_erased: int) -> None:
        await self._conn.execute(
            "UPDATE erasures SET contacts_erased = $2 WHERE erasure_id = $1", erasure_id, contacts_erased
        )
