"""Private contracts about personal data itself: erasure requests between services.

An erasure is asked for once (by the notifications service's erasure API) and carried out by
every service that holds contact data. The request names the person by SHA-256 digests of their
normalised e-mail (trimmed, lower-case) and phone (E.164), so the topic itself holds no address;
each service compares the digests with what it holds (:func:`digest`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from shared.events import topics
from shared.events.base import Event


def digest(value: str) -> str:
    """The hex SHA-256 of a normalised e-mail address or E.164 phone number."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


class ErasureRequested(Event):
    """PRIVATE: erase every contact detail held for the person these digests identify."""

    event_type: ClassVar[str] = "sharaka.privacy.erasure_requested.v1"
    topic: ClassVar[str] = topics.ERASURES
    public: ClassVar[bool] = False
    key_field: ClassVar[str] = "erasure_id"

    erasure_id: UUID
    email_sha256: str | None = None
    phone_sha256: str | None = None
    requested_at: datetime
