"""The vocabulary of compliance: the standards' minimum requirements, which product assesses
which, the thresholds, and the facts and evidence the rules work on (see :mod:`.compliance`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from shared.events.irm import (
    ComplianceStatus,
    ReviewKind,
)
from shared.scales import Completion

MET, NOT_MET, NO_EVIDENCE = (
    ComplianceStatus.MET,
    ComplianceStatus.NOT_MET,
    ComplianceStatus.NOT_ENOUGH_EVIDENCE,
)

# --- thresholds (OGP's numbers; see the module's assumptions) ---------------------------------

#: Standard 1: the forum meets at least every six months.
FORUM_MEETING_INTERVAL_MONTHS = 6
#: Standard 2: the repository is updated at least twice a year (pro rata over the period).
REPOSITORY_UPDATES_PER_YEAR = 2
#: Standard 3: "about two weeks" of advance notice.
NOTICE_DAYS = 14
#: Standard 5: at least two meetings with civil society during implementation.
IMPLEMENTATION_MEETINGS_MIN = 2
#: Sectors whose presence makes a meeting multi-stakeholder (standard 1).
GOVERNMENT, CIVIL_SOCIETY = "government", "civil_society"


class Requirement(StrEnum):
    FORUM_MULTI_STAKEHOLDER = "forum_multi_stakeholder"
    FORUM_MEETS_EVERY_SIX_MONTHS = "forum_meets_every_six_months"
    FORUM_RULES_PUBLIC = "forum_rules_public"
    REPOSITORY_UPDATED = "repository_updated_twice_a_year"
    ADVANCE_NOTICE = "advance_notice"
    OPEN_INPUT = "open_opportunity_for_input"
    REASONED_RESPONSE = "reasoned_response"
    IMPLEMENTATION_MEETINGS = "implementation_meetings"


R = Requirement
#: The standard (1-5) each requirement belongs to.
STANDARD: Mapping[Requirement, int] = {
    R.FORUM_MULTI_STAKEHOLDER: 1,
    R.FORUM_MEETS_EVERY_SIX_MONTHS: 1,
    R.FORUM_RULES_PUBLIC: 1,
    R.REPOSITORY_UPDATED: 2,
    R.ADVANCE_NOTICE: 3,
    R.OPEN_INPUT: 3,
    R.REASONED_RESPONSE: 4,
    R.IMPLEMENTATION_MEETINGS: 5,
}
#: Co-creation (standards 1-4): what the action plan review assesses.
CO_CREATION: tuple[Requirement, ...] = (
    R.FORUM_MULTI_STAKEHOLDER,
    R.FORUM_MEETS_EVERY_SIX_MONTHS,
    R.FORUM_RULES_PUBLIC,
    R.REPOSITORY_UPDATED,
    R.ADVANCE_NOTICE,
    R.OPEN_INPUT,
    R.REASONED_RESPONSE,
)
#: Implementation (standard 5): what the results report assesses.
IMPLEMENTATION: tuple[Requirement, ...] = (R.IMPLEMENTATION_MEETINGS,)
PRODUCT_REQUIREMENTS: Mapping[ReviewKind, tuple[Requirement, ...]] = {
    ReviewKind.ACTION_PLAN_REVIEW: CO_CREATION,
    ReviewKind.RESULTS_REPORT: IMPLEMENTATION,
    ReviewKind.CO_CREATION_BRIEF: (),
    ReviewKind.MIDTERM_REVIEW: (),
}
#: Completions that are no progress (results report: every assessed commitment one of these).
NO_PROGRESS = frozenset({Completion.NOT_STARTED, Completion.NO_EVIDENCE})


# --- facts ------------------------------------------------------------------------------------


class FactKind(StrEnum):
    FORUM_ESTABLISHED = "forum_established"
    FORUM_MEETING = "forum_meeting"
    ROUND_SCHEDULED = "round_scheduled"
    ROUND_OPENED = "round_opened"
    ROUND_CLOSED = "round_closed"
    RESPONSE_TABLE = "response_table"
    PARTICIPATION = "participation"
    CO_CREATION_OPENED = "co_creation_opened"
    CO_CREATION_CLOSED = "co_creation_closed"
    DOCUMENT = "document"


#: Facts about a member's forum: they count for every plan of the member.
FORUM_KINDS = frozenset({FactKind.FORUM_ESTABLISHED, FactKind.FORUM_MEETING})


@dataclass(frozen=True, slots=True)
class Fact:
    """What one event said that a standard needs. ``subject_id`` is what the fact is about (the
    meeting, round, table, report, document or forum; the plan for co-creation), so the same thing
    told twice is one fact; ``figures`` are the event's numbers and labels."""

    event_id: UUID
    kind: FactKind
    subject_id: UUID
    on: date
    member_id: UUID | None = None
    plan_id: UUID | None = None
    figures: Mapping[str, Any] = field(default_factory=dict)

    def attendance(self, sector: str) -> int:
        value = (self.figures.get("attendance") or {}).get(sector, 0)
        return int(value)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence: an event (id and date) and what it shows, or a figure."""

    note: str
    event_id: UUID | None = None
    on: date | None = None

    def __str__(self) -> str:
        where = " ".join(x for x in (f"event {self.event_id}" if self.event_id else "",
                                      self.on.isoformat() if self.on else "") if x)  # fmt: skip
        return f"{where}: {self.note}" if where else self.note

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id) if self.event_id else None,
            "on": self.on.isoformat() if self.on else None,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Prefilled:
    """A requirement as the data show it."""

    requirement: Requirement
    status: ComplianceStatus
    summary: str
    evidence: tuple[Evidence, ...] = ()
