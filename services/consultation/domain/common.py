"""What every part of the consultation shares: who acts, how texts are compared and masked, and
what "not in the future" means for facts recorded after they happened."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from uuid import UUID

from shared.errors import Forbidden, RuleViolation

# One masking rule for every service (see shared.privacy), re-exported for the consultation.
from shared.privacy import redact_contacts as redact_contacts
from shared.privacy import redact_link as redact_link


class Actor(Protocol):
    """Who asks for a change (a verified token's principal)."""

    @property
    def subject(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...

    def acts_for(self, member_id: UUID) -> bool:
        """Staff, or the member's own government point of contact."""
        ...


#: Roles whose flags are not rate-limited: they work the moderation queue.
MODERATING_ROLES = frozenset({"staff", "moderator"})


def check_acts_for(who: Actor, member_id: UUID, what: str) -> None:
    """A change of a member's record is made by staff or that member's own government."""
    if not who.acts_for(member_id):
        raise Forbidden(f"you may not {what}")


# --- texts ---------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The form two texts are compared in: NFKC, case-folded, whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_hash(title: str | None, body: str) -> bytes:
    """Duplicate detection: the same person posting the same text twice in a round."""
    return hashlib.sha256(f"{normalise(title or '')}\x1f{normalise(body)}".encode()).digest()


# --- facts recorded after they happened ---------------------------------------------------------

#: The earliest time zone (Line Islands, Kiribati) is UTC+14: no calendar anywhere is further ahead.
_EARLIEST_ZONE = timedelta(hours=14)


def latest_local_date(now: datetime) -> date:
    """The latest calendar date anywhere on Earth at ``now``.

    A government records a meeting on its own local date; in Samoa or Kiribati that date is a day
    ahead of UTC's for part of the day. "Not in the future" therefore means not after this date,
    or a forum there could not record today's meeting until the evening."""
    return (now.astimezone(UTC) + _EARLIEST_ZONE).date()


def check_not_future(day: date, field: str, now: datetime) -> None:
    """Forums, seats, meetings and offline events are recorded as facts, after they happened."""
    if day > latest_local_date(now):
        raise RuleViolation("date_in_future", f"{field} must not be in the future", field)
