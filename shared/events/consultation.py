"""Contracts published by the consultation service on ``ogp.consultation.v1`` (keyed by plan id)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from shared.events import topics
from shared.events.base import Event


class CoCreationClosed(Event):
    """The plan's co-creation space stopped taking input because the plan was submitted."""

    event_type: ClassVar[str] = "ogp.consultation.co_creation_closed.v1"
    topic: ClassVar[str] = topics.CONSULTATION
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    opened_at: datetime | None
    closed_at: datetime
