"""Participation reports: the counting rules.

* Response coverage (standard 4) counts the inputs that need an answer: visible submissions and
  comments written by participants. Officials' own comments (a government reply in a thread) and
  hidden inputs need none.
* The breakdowns count unique participants by self-declared attribute, folding categories too
  small to publish without singling someone out.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from shared.events.consultation import Breakdown, ParticipationReported


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


NOT_DECLARED = "not_declared"
SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class Profile:
    """One participant's latest self-declaration in the scope of a report."""

    stakeholder_type: str | None
    region: str | None
    gender: str | None


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


def participation_report(figures: Mapping[str, Any], now: datetime) -> ParticipationReported:
    """The report of a round or a cycle, from the figures gathered at ``now``."""
    return ParticipationReported(report_id=uuid4(), reported_at=now, **figures)
