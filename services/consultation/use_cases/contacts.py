"""Erasing a person's contact details (``ErasureRequested``, from the notifications service).

The person is named by digests only. Every author contact that matches is deleted, the private
topic is told to forget each one (a tombstone per input, so compaction removes the published
copy too), and the erasure is recorded by id and count, never by what it erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.consultation.domain.contacts import Erasure, normalised_digest
from services.consultation.store import ConsultationUnitOfWork
from shared.events import topics


@dataclass(frozen=True, slots=True)
class EraseContacts:
    erasure_id: UUID
    email_sha256: str | None
    phone_sha256: str | None


async def erase_contacts(uow: ConsultationUnitOfWork, cmd: EraseContacts) -> Erasure:
    """Apply an erasure once: the same ``erasure_id`` again (a replay, or the request published
    twice) changes nothing and publishes nothing. A person who opts in again afterwards gave a
    new consent; a later erasure request covers it."""
    now = datetime.now(UTC)
    if not await uow.erasures.claim(cmd.erasure_id, now):
        return Erasure(cmd.erasure_id, 0, now, already_applied=True)
    erased = await uow.author_contacts.erase(
        normalised_digest(cmd.email_sha256), normalised_digest(cmd.phone_sha256)
    )
    for input_id in erased:
        uow.forget(topics.CONSULTATION_CONTACTS, str(input_id))
    await uow.erasures.record(cmd.erasure_id, len(erased))
    return Erasure(cmd.erasure_id, len(erased), now)
