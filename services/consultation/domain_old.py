"""The consultation rules as pure functions: no I/O, so each is tested on its own.

* Rounds move ``scheduled → open → closed``, or ``scheduled → cancelled``; only an open round
  takes input.
* Notice (standard 3) is the time between announcing a round and opening it; less than
  ``required_days`` (two weeks) is allowed but recorded as short notice.
* Response coverage (standard 4) counts the inputs that need an answer: visible submissions and
  comments written by participants. Officials' own comments (a government reply in a thread) and
  hidden inputs need none.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from shared.events.consultation import Breakdown, RoundState
from shared.errors import RuleViolation as RuleViolation  # re-exported: the rules raise it

# --- rounds ------------------------------------------------------------------------------------

ROUND_TRANSITIONS: dict[RoundState, frozenset[RoundState]] = {
    RoundState.SCHEDULED: frozenset({RoundState.OPEN, RoundState.CANCELLED}),
    RoundState.OPEN: frozenset({RoundState.CLOSED}),
    RoundState.CLOSED: frozenset(),
    RoundState.CANCELLED: frozenset(),
}


def check_round_transition(current: RoundState, to: RoundState) -> None:
    if to not in ROUND_TRANSITIONS[current]:
        raise RuleViolation("round_transition", f"a {current.value} round cannot become {to.value}")


def check_takes_input(state: RoundState) -> None:
    if state is not RoundState.OPEN:
        raise RuleViolation("round_not_open", f"the round is {state.value}; it takes no input")


@dataclass(frozen=True, slots=True)
class Notice:
    days: float
    required_days: int

    @property
    def short(self) -> bool:
        return self.days < self.required_days


def notice(scheduled_at: datetime, opens_at: datetime, required_days: int) -> Notice:
    """How much warning participants got. Opening at once (or in the past) is zero notice."""
    seconds = max(0.0, (opens_at - scheduled_at).total_seconds())
    return Notice(round(seconds / 86400, 3), required_days)


def check_schedule(opens_at: datetime, closes_at: datetime, now: datetime) -> None:
    if closes_at <= opens_at:
        raise RuleViolation("round_window", "closes_at must be after opens_at", "closes_at")
    if closes_at <= now:
        raise RuleViolation("round_window", "closes_at must be in the future", "closes_at")


# --- inputs ------------------------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class RateWindow:
    start: datetime
    count: int


def next_window(current: RateWindow | None, now: datetime, window: timedelta) -> RateWindow:
    """A fixed window: a new one starts when the old has run out."""
    if current is None or now - current.start >= window:
        return RateWindow(now, 1)
    return RateWindow(current.start, current.count + 1)


def retry_after(window_start: datetime, now: datetime, window: timedelta) -> int:
    """Seconds until the window ends, for the 429's ``Retry-After`` (at least 1)."""
    return max(1, int((window_start + window - now).total_seconds() + 0.999))


# --- response coverage -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputFacts:
    created_at: datetime
    hidden: bool
    official: bool
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Coverage:
    needing: int
    answered: int
    ratio: float | None
    median_hours: float | None


def needs_response(item: InputFacts) -> bool:
    return not item.hidden and not item.official


def coverage(items: Iterable[InputFacts]) -> Coverage:
    """Share of the inputs needing an answer that got one, and the median time it took."""
    needing = [i for i in items if needs_response(i)]
    delays = [
        (i.answered_at - i.created_at).total_seconds() / 3600 for i in needing if i.answered_at is not None
    ]
    ratio = round(len(delays) / len(needing), 4) if needing else None
    median = round(statistics.median(delays), 2) if delays else None
    return Coverage(len(needing), len(delays), ratio, median)


# --- participation ---------------------------------------------------------------------------

NOT_DECLARED = "not_declared"


@dataclass(frozen=True, slots=True)
class Profile:
    """One participant's latest self-declaration in the scope of a report."""

    stakeholder_type: str | None
    region: str | None
    gender: str | None


SUPPRESSED = "suppressed"


def breakdown(profiles: Sequence[Profile], min_cell: int = 1) -> Breakdown:
    """Unique participants counted by each self-declared attribute.

    A category with fewer than ``min_cell`` people is folded into ``suppressed``: in a small round,
    "1 woman from TN-53" next to a public display name would say who she is."""

    def count(values: Iterable[str | None]) -> dict[str, int]:
        counts = Counter(v or NOT_DECLARED for v in values)
        small = {k: n for k, n in counts.items() if n < min_cell}
        shown = {k: n for k, n in counts.items() if k not in small}
        if small:
            shown[SUPPRESSED] = sum(small.values())
        return dict(sorted(shown.items()))

    return Breakdown(
        stakeholder_type=count(p.stakeholder_type for p in profiles),
        region=count(p.region for p in profiles),
        gender=count(p.gender for p in profiles),
    )


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
    """Forums, seats and meetings are recorded as facts, after they happened."""
    if day > latest_local_date(now):
        raise RuleViolation("date_in_future", f"{field} must not be in the future", field)


# --- the forum -------------------------------------------------------------------------------

FORUM_MAX_GAP_MONTHS = 6
IMPLEMENTATION_MEETINGS_REQUIRED = 2


def forum_meeting_due(
    last_meeting: date | None, established: date, months: int = FORUM_MAX_GAP_MONTHS
) -> date:
    """The last day the forum may go without meeting: six calendar months after the last meeting,
    or after its establishment when it never met. Overdue is ``today > due``."""
    since = last_meeting or established
    return since + relativedelta(months=months)


def forum_overdue(last_meeting: date | None, established: date, today: date) -> bool:
    return today > forum_meeting_due(last_meeting, established)
