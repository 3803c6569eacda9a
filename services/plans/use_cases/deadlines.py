"""The timers' use case: occurrences found past their deadline become events, each once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from services.plans.store.protocols import PlansUnitOfWork
from shared.events.base import Event


@dataclass(frozen=True, slots=True)
class Occurrence:
    subject: UUID
    occurrence: str
    event: Event


async def record_occurrences(uow: PlansUnitOfWork, kind: str, found: Sequence[Occurrence]) -> int:
    """Claim the occurrences in ``timer_emissions`` and publish an event for each one claimed
    now (an occurrence claimed before, by this runner or another, is not emitted again)."""
    if not found:
        return 0
    claimed = await uow.timers.claim(kind, [(o.subject, o.occurrence) for o in found])
    emitted = 0
    for o in found:
        if (o.subject, o.occurrence) in claimed:
            uow.publish(o.event)
            emitted += 1
    return emitted
