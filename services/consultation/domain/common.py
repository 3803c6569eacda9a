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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators people type inside phone numbers...
_PHONE_LIKE = re.compile(r"(?<![\w(+])[+(]?\d[\d\s().-]{6,}\d(?![\w])")
# ...that is not a span of years ("2024-2026") or a date.
_NOT_A_PHONE = re.compile(r"\d{4}\s*[-/]\s*\d{4}|\d{4}-\d\d-\d\d|\d\d?[./-]\d\d?[./-]\d{4}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    international = text.startswith(("+", "00", "("))
    # Eight bare digits ("20242026") are too often a number of something else.
    bare_eight = digits == 8 and not international and " " not in text
    if _NOT_A_PHONE.fullmatch(text.strip()) or digits < 8 or bare_eight:
        return text
    return "[phone removed]"


def redact_contacts(text: str) -> str:
    """Mask e-mail addresses and phone numbers that authors type into their own text.

    The text is stored as given (moderators see it whole); what the public API returns never
    carries a way to reach someone, even when its author pasted one in. Figures, years and dates
    are kept: a budget line is not a phone number."""
    return _PHONE_LIKE.sub(_phone, _EMAIL.sub("[e-mail removed]", text))


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
