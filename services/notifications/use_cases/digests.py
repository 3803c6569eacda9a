"""One digest per person and period, at their local morning.

The digest's delivery id and cause are derived from the person and the period, and deliveries are
unique per cause, template, channel and recipient: whatever crashes or restarts happen, and
however many replicas run the timer, a period has at most one digest. The items it carries are
marked in the same transaction, so an item goes out in exactly one digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from services.notifications.domain.deliveries import DIGEST, Delivery
from services.notifications.domain.recipients import DigestMode, digest_period, next_digest_at
from services.notifications.store import NotificationsUnitOfWork
from shared.events.notifications import Channel

_DIGESTS = UUID("9b0f1d3e-6a2c-4e8b-b7d5-3c1a9e2f4d60")


@dataclass(frozen=True, slots=True)
class MakeDigests:
    now: datetime
    limit: int = 500


@dataclass(frozen=True, slots=True)
class DigestsMade:
    people: int
    digests: int


async def make_digests(uow: NotificationsUnitOfWork, cmd: MakeDigests) -> DigestsMade:
    """Queue the digests due now (up to ``limit`` people) and set each person's next one."""
    due = await uow.recipients.due_for_digest(cmd.now, cmd.limit)
    digests: list[Delivery] = []
    next_at: list[tuple[UUID, datetime | None]] = []
    for person in due:
        assert person.next_digest_at is not None  # due_for_digest selects on it
        if person.digest is DigestMode.IMMEDIATE:
            # Back to immediate messages: one last digest of what was held, whenever that is.
            mode, period = DigestMode.DAILY, f"until {person.next_digest_at.isoformat()}"
            next_at.append((person.id, None))
        else:
            mode, period = person.digest, digest_period(person.digest, person.timezone, person.next_digest_at)
            next_at.append((person.id, next_digest_at(person.digest, person.timezone, cmd.now)))
        cause = uuid5(_DIGESTS, f"{person.id}/{mode.value}/{period}")
        # On a channel the person chose; with none left, by e-mail (it fails as opted out, visibly).
        channel = next((c for c in (Channel.EMAIL, Channel.SMS) if person.reachable_on(c)), Channel.EMAIL)
        digests.append(Delivery(
            id=uuid5(cause, channel.value), cause_event_id=cause, template=DIGEST, channel=channel,
            recipient_id=person.id, plan_id=None, params={"period": mode.value, "period_name": period},
        ))  # fmt: skip
    made = await uow.deliveries.close_digests(digests)
    await uow.recipients.set_next_digests(next_at)
    return DigestsMade(len(due), made)
