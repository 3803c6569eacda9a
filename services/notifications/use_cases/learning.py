"""What the service learns from other services' events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.notifications.domain.deliveries import RECIPIENT_ERASED
from services.notifications.domain.recipients import LANGUAGES, PlanContact, Recipient, RecipientKind
from services.notifications.store import NotificationsUnitOfWork


@dataclass(frozen=True, slots=True)
class LearnRecipient:
    recipient: Recipient


async def learn_recipient(uow: NotificationsUnitOfWork, cmd: LearnRecipient) -> Recipient:
    """A point of contact or an input's author, as the service that holds them tells it. They hold
    an official role or asked to be told, so they need no confirmation."""
    r = cmd.recipient
    if r.language not in LANGUAGES:
        r.language = "en"
    if r.confirmed_at is None:
        r.confirmed_at = datetime.now(UTC)
    await uow.recipients.learn(r)
    return r


@dataclass(frozen=True, slots=True)
class RememberPlanContact:
    contact: PlanContact


async def remember_plan_contact(uow: NotificationsUnitOfWork, cmd: RememberPlanContact) -> PlanContact:
    await uow.lookups.save_plan_contact(cmd.contact)
    return cmd.contact


@dataclass(frozen=True, slots=True)
class ForgetRecipient:
    """The topic that brought a person's details was told to forget them (a tombstone)."""

    recipient_id: UUID
    kind: RecipientKind


async def forget_recipient(uow: NotificationsUnitOfWork, cmd: ForgetRecipient) -> int:
    """Delete the person and everything held for them; pending messages to them fail."""
    existing = await uow.recipients.get(cmd.recipient_id)
    if existing is None or existing.kind is not cmd.kind:
        return 0
    await uow.deliveries.cancel_for([cmd.recipient_id], RECIPIENT_ERASED.reason)
    erased = await uow.recipients.delete([cmd.recipient_id])
    await uow.consents.record(cmd.recipient_id, "erased", source="tombstone")
    return erased
