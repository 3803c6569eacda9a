"""Contracts published by the notifications service on ``ogp.notifications.v1``.

They say that a message went out or failed, never to whom: recipients are opaque ids.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from shared.events import topics
from shared.events.base import Event


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class _DeliveryEvent(Event):
    topic: ClassVar[str] = topics.NOTIFICATIONS
    key_field: ClassVar[str] = "delivery_id"

    delivery_id: UUID
    recipient_id: UUID
    channel: Channel
    template: str
    cause_event_id: UUID
    attempts: int


class DeliverySent(_DeliveryEvent):
    """A message was handed to the e-mail or SMS gateway."""

    event_type: ClassVar[str] = "ogp.notifications.delivery_sent.v1"
    sent_at: datetime


class DeliveryFailed(_DeliveryEvent):
    """A message could not be delivered after every retry; ``reason`` says why."""

    event_type: ClassVar[str] = "ogp.notifications.delivery_failed.v1"
    failed_at: datetime
    reason: str
