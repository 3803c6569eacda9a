"""Co-creation spaces and consultation rounds (standard 3).

* A plan's co-creation space opens when the plan is created and closes when it is submitted; a
  closed space takes no new round.
* Rounds move ``scheduled → open → closed``, or ``scheduled → cancelled``; only an open round
  takes input.
* Notice is the time between announcing a round and opening it; less than ``required_days`` (two
  weeks) is allowed but recorded as short notice.
* An open round is announced as closing soon once, when at most ``closing_soon_days`` are left
  and while it still takes input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from services.consultation.domain.common import check_not_future
from shared.errors import Invalid, RuleViolation
from shared.events.base import Event
from shared.events.consultation import (
    CoCreationClosed,
    CoCreationOpened,
    ConsultationClosed,
    ConsultationClosingSoon,
    ConsultationOpened,
    ConsultationScheduled,
    OfflineEventRecorded,
    RoundKind,
    RoundState,
    Sector,
)

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


def days_left(left: timedelta) -> int:
    """Whole days left, counted up: 47 hours is "2 days", an hour is "1 day" (never 0 for a round
    that still takes input; ``closes_at`` in the event gives the exact time)."""
    return max(1, math.ceil(left / timedelta(days=1)))


def check_schedule(opens_at: datetime, closes_at: datetime, now: datetime) -> None:
    if closes_at <= opens_at:
        raise RuleViolation("round_window", "closes_at must be after opens_at", "closes_at")
    if closes_at <= now:
        raise RuleViolation("round_window", "closes_at must be in the future", "closes_at")


def check_round_request(
    kind: RoundKind, commitment_id: UUID | None, opens_at: datetime, closes_at: datetime, now: datetime
) -> None:
    """What a round must be before the plan is even looked at: a window ahead, and a commitment
    exactly when the round is about one."""
    check_schedule(opens_at, closes_at, now)
    if kind is RoundKind.COMMITMENT_DRAFT and commitment_id is None:
        raise RuleViolation(
            "commitment_required", "a commitment_draft round names its commitment", "commitment_id"
        )
    if kind is not RoundKind.COMMITMENT_DRAFT and commitment_id is not None:
        raise RuleViolation(
            "commitment_refused", f"a {kind.value} round is about the whole plan", "commitment_id"
        )


# --- co-creation spaces --------------------------------------------------------------------------


@dataclass(slots=True)
class CoCreationSpace:
    """A plan's space for consultation, known from the plans service's events."""

    plan_id: UUID
    member_id: UUID
    title: str | None
    state: str
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    submitted_at: datetime | None = None

    @classmethod
    def open(
        cls, plan_id: UUID, member_id: UUID, title: str, at: datetime
    ) -> tuple[CoCreationSpace, list[Event]]:
        space = cls(plan_id, member_id, title, "open", opened_at=at)
        return space, [CoCreationOpened(plan_id=plan_id, member_id=member_id, opened_at=at)]

    def check_takes_rounds(self) -> None:
        if self.state != "open":
            raise RuleViolation("co_creation_closed", f"the co-creation of plan {self.plan_id} is closed")

    def close(self, *, closed_at: datetime, submitted_at: datetime) -> list[Event]:
        """The plan was submitted: no more input on its drafts. Nothing to do when closed already
        (a plan resubmitted after a refresh, or a replay)."""
        if self.state == "closed":
            return []
        self.state, self.closed_at, self.submitted_at = "closed", closed_at, submitted_at
        event = CoCreationClosed(
            plan_id=self.plan_id, member_id=self.member_id, opened_at=self.opened_at, closed_at=closed_at
        )
        return [event]


# --- rounds --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Round:
    id: UUID
    plan_id: UUID
    member_id: UUID
    kind: RoundKind
    commitment_id: UUID | None
    title: str
    description: str | None
    opens_at: datetime
    closes_at: datetime
    scheduled_at: datetime
    notice_days: float
    short_notice: bool
    state: RoundState
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    created_by: str = ""
    #: When the round was announced as closing soon (it is announced once).
    closing_soon_at: datetime | None = None

    @classmethod
    def schedule(
        cls,
        space: CoCreationSpace,
        *,
        kind: RoundKind,
        commitment_id: UUID | None,
        title: str,
        description: str | None,
        opens_at: datetime,
        closes_at: datetime,
        notice_days_required: int,
        now: datetime,
        by: str,
    ) -> tuple[Round, list[Event]]:
        """Announce a round of an open co-creation; short notice is recorded, not refused."""
        check_round_request(kind, commitment_id, opens_at, closes_at, now)
        space.check_takes_rounds()
        given = notice(now, opens_at, notice_days_required)
        rnd = cls(
            uuid4(), space.plan_id, space.member_id, kind, commitment_id, title, description, opens_at,
            closes_at, now, given.days, given.short, RoundState.SCHEDULED, created_by=by,
        )  # fmt: skip
        event = ConsultationScheduled(
            round_id=rnd.id,
            plan_id=rnd.plan_id,
            member_id=rnd.member_id,
            kind=kind,
            commitment_id=commitment_id,
            title=title,
            opens_at=opens_at,
            closes_at=closes_at,
            scheduled_at=now,
            notice_days=given.days,
            notice_days_required=notice_days_required,
            short_notice=given.short,
        )
        return rnd, [event]

    def open(self, now: datetime) -> list[Event]:
        check_round_transition(self.state, RoundState.OPEN)
        self.state, self.opened_at = RoundState.OPEN, now
        return [
            ConsultationOpened(
                round_id=self.id,
                plan_id=self.plan_id,
                member_id=self.member_id,
                kind=self.kind,
                opened_at=now,
                closes_at=self.closes_at,
            )
        ]

    def closing_soon(self, now: datetime, within: timedelta) -> list[Event]:
        """Announce, once, that the round closes within ``within`` (so that people who follow it
        can still take part). Nothing for a round that is not open, or whose time is already up
        (it is closing, not closing soon), or that was announced before."""
        left = self.closes_at - now
        if self.state is not RoundState.OPEN or self.closing_soon_at is not None:
            return []
        if left <= timedelta(0) or left > within:
            return []
        self.closing_soon_at = now
        return [
            ConsultationClosingSoon(
                round_id=self.id,
                plan_id=self.plan_id,
                member_id=self.member_id,
                title=self.title,
                closes_at=self.closes_at,
                days_left=days_left(left),
                detected_at=now,
            )
        ]

    def check_cancel(self) -> None:
        """A round that has not opened yet may be called off; an open one runs to its end."""
        check_round_transition(self.state, RoundState.CANCELLED)

    def close(self, now: datetime, reason: str, *, submissions: int, comments: int) -> list[Event]:
        """An open round closes; a scheduled one is cancelled. ``submissions`` and ``comments``
        are the inputs it took, for the record."""
        to = RoundState.CANCELLED if self.state is RoundState.SCHEDULED else RoundState.CLOSED
        check_round_transition(self.state, to)
        self.state, self.closed_at, self.close_reason = to, now, reason
        return [
            ConsultationClosed(
                round_id=self.id,
                plan_id=self.plan_id,
                member_id=self.member_id,
                closed_at=now,
                reason=reason,
                submissions=submissions,
                comments=comments,
            )
        ]

    def record_offline_event(
        self,
        *,
        format: str,
        held_on: date,
        participants: int,
        by_sector: dict[Sector, int],
        report_url: str | None,
        now: datetime,
        by: str,
    ) -> tuple[OfflineEvent, list[Event]]:
        """A workshop or hearing held off the platform, with how many took part."""
        if self.state is RoundState.CANCELLED:
            raise RuleViolation("round_cancelled", "the round was cancelled")
        check_not_future(held_on, "held_on", now)
        if sum(by_sector.values()) > participants:
            raise Invalid("by_sector", "the sectors count more people than took part")
        offline = OfflineEvent(
            uuid4(), self.id, self.plan_id, format, held_on, participants, by_sector, report_url, by
        )
        event = OfflineEventRecorded(
            offline_event_id=offline.id,
            round_id=self.id,
            plan_id=self.plan_id,
            format=format,
            held_on=held_on,
            participants=participants,
            by_sector=by_sector,
            report_url=report_url,
        )
        return offline, [event]


@dataclass(frozen=True, slots=True)
class OfflineEvent:
    id: UUID
    round_id: UUID
    plan_id: UUID
    format: str
    held_on: date
    participants: int
    by_sector: dict[Sector, int]
    report_url: str | None
    created_by: str


@dataclass(frozen=True, slots=True)
class CommitmentSpace:
    """A space to comment on one commitment of a plan (learned from ``CommitmentAdded``)."""

    commitment_id: UUID
    plan_id: UUID
    number: int
    title: str
    opened_at: datetime
