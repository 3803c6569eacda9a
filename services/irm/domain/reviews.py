"""Reviews: the IRM products' deadlines and the Review aggregate with its life cycle.

scheduled → researching (a researcher assigned) → draft → pre_publication (the government and the
forum comment) → public_comment (anyone signed in) → published; withdrawn, with a reason, from any
state before published. Every move publishes ``ReviewStateChanged`` and, where there is one, its
own event. The rules are named (``review.<rule>``) so clients and tests can tell them apart.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from shared.errors import Invalid, RuleViolation
from shared.events.base import Event
from shared.events.irm import (
    ResearcherAssigned,
    ReviewDraftPublished,
    ReviewDueSoon,
    ReviewKind,
    ReviewOverdue,
    ReviewPublished,
    ReviewScheduled,
    ReviewState,
    ReviewStateChanged,
    ReviewWithdrawn,
)

S = ReviewState

#: The moves of the life cycle; anything else is ``review.transition_not_allowed``.
TRANSITIONS: dict[ReviewState, frozenset[ReviewState]] = {
    S.SCHEDULED: frozenset({S.RESEARCHING, S.WITHDRAWN}),
    S.RESEARCHING: frozenset({S.DRAFT, S.WITHDRAWN}),
    S.DRAFT: frozenset({S.PRE_PUBLICATION, S.WITHDRAWN}),
    S.PRE_PUBLICATION: frozenset({S.PUBLIC_COMMENT, S.WITHDRAWN}),
    S.PUBLIC_COMMENT: frozenset({S.PUBLISHED, S.WITHDRAWN}),
    S.PUBLISHED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
#: States in which a draft takes comments, each with its own window.
COMMENT_PHASES = frozenset({S.PRE_PUBLICATION, S.PUBLIC_COMMENT})
#: States after which nothing changes any more (no timer reports them either).
FINAL = frozenset({S.PUBLISHED, S.WITHDRAWN})
#: A plan at least this long (start to end) is a four-year plan and gets a midterm review.
FOUR_YEAR_PLAN_MONTHS = 45


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (31 Oct + 4 months = 28/29 Feb): the way
    OGP counts its "four months after submission"."""
    # Written out rather than with dateutil's relativedelta, which cost a twentieth of the IRM
    # consumer's time per submitted plan; a property test holds the two equal.
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def action_plan_review_due(submitted_on: date, months: int = 4) -> date:
    return add_months(submitted_on, months)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (as relativedelta counts them)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


def is_four_year_plan(start: date, end: date) -> bool:
    return months_between(start, end) >= FOUR_YEAR_PLAN_MONTHS


def midpoint(start: date, end: date) -> date:
    return start + timedelta(days=(end - start).days // 2)


def check_https_url(field_name: str, url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise Invalid(field_name, "must be an https URL")
    return url.strip()


class _Ids(TypedDict):
    review_id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind


@dataclass(frozen=True, slots=True)
class SubmittedPlan:
    """What the IRM keeps of a plan it reviews (learned from ``PlanSubmitted``)."""

    plan_id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class Researcher:
    """An IRM researcher (their token's subject) and the members they declared ties with."""

    id: UUID
    subject: str
    name: str
    ties: frozenset[UUID] = frozenset()
    registered_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def check_independent_of(self, member_id: UUID) -> None:
        if member_id in self.ties:
            raise RuleViolation(
                "review.researcher_not_independent",
                "the researcher declared a tie with this member's government and cannot review it",
            )


@dataclass(slots=True)
class Comment:
    """A comment on a draft; its text stays in the IRM's database (events carry ids only)."""

    id: UUID
    review_id: UUID
    phase: ReviewState
    author: str
    author_role: str
    text: str
    received_at: datetime
    considered_note: str | None = None
    considered_by: str | None = None
    considered_at: datetime | None = None

    def consider(self, note: str, by: str, now: datetime) -> None:
        if not note.strip():
            raise RuleViolation("comment.note_required", "say how the comment was considered", "note")
        self.considered_note, self.considered_by, self.considered_at = note.strip(), by, now


@dataclass(slots=True)
class Review:
    """One IRM product for one plan, with its deadline and where it stands."""

    id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind
    state: ReviewState
    opened_on: date
    due_date: date
    scheduled_at: datetime
    researcher_id: UUID | None = None
    assigned_at: datetime | None = None
    state_changed_at: datetime | None = None
    #: The last day comments are taken in the current comment phase (inclusive).
    comments_until: date | None = None
    draft_url: str | None = None
    report_title: str | None = None
    report_url: str | None = None
    published_on: date | None = None
    withdrawn_reason: str | None = None

    # --- scheduling ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        kind: ReviewKind,
        plan_id: UUID,
        member_id: UUID,
        *,
        opened_on: date,
        due_date: date,
        now: datetime,
    ) -> tuple[Review, list[Event]]:
        review = cls(uuid4(), plan_id, member_id, kind, S.SCHEDULED, opened_on, due_date, now)
        return review, [review.scheduled_event()]

    @classmethod
    def action_plan_review(
        cls, plan: SubmittedPlan, *, due_months: int, now: datetime
    ) -> tuple[Review, list[Event]]:
        """Submission starts the Action Plan Review clock: due ``due_months`` calendar months
        after the day the plan was submitted (UTC)."""
        opened_on = plan.submitted_at.astimezone(UTC).date()
        return cls.open(
            ReviewKind.ACTION_PLAN_REVIEW, plan.plan_id, plan.member_id, opened_on=opened_on,
            due_date=action_plan_review_due(opened_on, due_months), now=now,
        )  # fmt: skip

    @classmethod
    def midterm_review(
        cls, plan: SubmittedPlan, *, due_months: int, now: datetime
    ) -> tuple[Review, list[Event]] | None:
        """Four-year plans only: opens at the plan's midpoint, due ``due_months`` after it."""
        if not is_four_year_plan(plan.start_date, plan.end_date):
            return None
        middle = midpoint(plan.start_date, plan.end_date)
        return cls.open(
            ReviewKind.MIDTERM_REVIEW, plan.plan_id, plan.member_id, opened_on=middle,
            due_date=add_months(middle, due_months), now=now,
        )  # fmt: skip

    @classmethod
    def results_report(
        cls, plan_id: UUID, member_id: UUID, end_date: date, *, due_months: int, now: datetime
    ) -> tuple[Review, list[Event]]:
        """The results report is due ``due_months`` calendar months after the plan's end."""
        return cls.open(
            ReviewKind.RESULTS_REPORT, plan_id, member_id, opened_on=end_date,
            due_date=add_months(end_date, due_months), now=now,
        )  # fmt: skip

    @classmethod
    def co_creation_brief(
        cls, plan_id: UUID, member_id: UUID, started_on: date, *, due_days: int, now: datetime
    ) -> tuple[Review, list[Event]]:
        return cls.open(
            ReviewKind.CO_CREATION_BRIEF, plan_id, member_id, opened_on=started_on,
            due_date=started_on + timedelta(days=due_days), now=now,
        )  # fmt: skip

    def scheduled_event(self) -> ReviewScheduled:
        return ReviewScheduled(
            review_id=self.id,
            plan_id=self.plan_id,
            member_id=self.member_id,
            kind=self.kind,
            due_date=self.due_date,
            scheduled_at=self.scheduled_at,
        )

    # --- the life cycle -----------------------------------------------------------------------

    def _ids(self) -> _Ids:
        return {"review_id": self.id, "plan_id": self.plan_id, "member_id": self.member_id, "kind": self.kind}

    def _move(self, to: ReviewState, now: datetime, comments_until: date | None = None) -> ReviewStateChanged:
        if to not in TRANSITIONS[self.state]:
            raise RuleViolation(
                "review.transition_not_allowed", f"a review cannot go from {self.state} to {to}"
            )
        event = ReviewStateChanged(
            **self._ids(), from_state=self.state, to_state=to, changed_at=now, comments_until=comments_until
        )
        self.state, self.state_changed_at, self.comments_until = to, now, comments_until
        return event

    def assign(self, researcher: Researcher, now: datetime) -> list[Event]:
        """A researcher starts the research (scheduled → researching); while researching, IRM
        staff may hand it to another researcher. Later the draft is that researcher's."""
        if self.state not in (S.SCHEDULED, S.RESEARCHING):
            raise RuleViolation(
                "review.assignment_closed",
                f"a researcher is assigned before the draft (review is {self.state})",
            )
        researcher.check_independent_of(self.member_id)
        events: list[Event] = []
        if self.state is S.SCHEDULED:
            events.append(self._move(S.RESEARCHING, now))
        self.researcher_id, self.assigned_at = researcher.id, now
        events.append(ResearcherAssigned(**self._ids(), researcher_id=researcher.id, assigned_at=now))
        return events

    def submit_draft(self, draft_url: str, now: datetime) -> list[Event]:
        url = check_https_url("draft_url", draft_url)
        event = self._move(S.DRAFT, now)
        self.draft_url = url
        return [event]

    def open_pre_publication(self, today: date, days: int, now: datetime) -> list[Event]:
        """The government and the forum see the draft first, for ``days`` days."""
        return [self._move(S.PRE_PUBLICATION, now, today + timedelta(days=days))]

    def open_public_comment(self, today: date, days: int, now: datetime) -> list[Event]:
        """The draft goes public; anyone signed in comments for ``days`` days."""
        until = today + timedelta(days=days)
        changed = self._move(S.PUBLIC_COMMENT, now, until)
        return [
            changed,
            ReviewDraftPublished(
                **self._ids(), draft_url=self.draft_url, comments_until=until, published_at=now
            ),
        ]

    def pre_publication_ended(self, today: date) -> bool:
        """The timer's question: is the pre-publication window over on ``today``?"""
        return (
            self.state is S.PRE_PUBLICATION
            and self.comments_until is not None
            and today > self.comments_until
        )

    def check_comment_window(self, today: date) -> ReviewState:
        """The phase a comment made ``today`` belongs to, or ``review.comment_window_closed``."""
        if self.state not in COMMENT_PHASES or self.comments_until is None or today > self.comments_until:
            raise RuleViolation("review.comment_window_closed", "the draft takes no comments now")
        return self.state

    def check_open(self) -> None:
        """Comments are considered until the review is published or withdrawn."""
        if self.state in FINAL:
            raise RuleViolation("review.closed", f"the review is {self.state}")

    def publish(
        self, *, title: str, url: str, today: date, now: datetime, comments_received: int, not_considered: int
    ) -> list[Event]:
        """Publishing needs every comment considered, with a note: the reasoned response the IRM
        asks of governments, practised."""
        if not title.strip():
            raise Invalid("title", "must not be empty")
        report_url = check_https_url("url", url)
        if self.state is S.PUBLIC_COMMENT and not_considered:
            raise RuleViolation(
                "review.comments_not_considered",
                f"{not_considered} comment(s) not marked considered: consider each, with a note, first",
            )
        changed = self._move(S.PUBLISHED, now)
        self.report_title, self.report_url, self.published_on = title.strip(), report_url, today
        self.comments_until = None
        return [
            changed,
            ReviewPublished(
                **self._ids(),
                title=self.report_title,
                url=report_url,
                published_on=today,
                published_at=now,
                comments_received=comments_received,
            ),
        ]

    def withdraw(self, reason: str, now: datetime) -> list[Event]:
        if not reason.strip():
            raise Invalid("reason", "must not be empty")
        changed = self._move(S.WITHDRAWN, now)
        self.withdrawn_reason = reason.strip()
        return [changed, ReviewWithdrawn(**self._ids(), reason=self.withdrawn_reason, withdrawn_at=now)]

    # --- the clocks ---------------------------------------------------------------------------

    def due_soon(self, today: date, reminder_days: int, now: datetime) -> ReviewDueSoon | None:
        """The reminder, from ``reminder_days`` before the due date to the due date itself."""
        days_left = (self.due_date - today).days
        if self.state in FINAL or not 0 <= days_left <= reminder_days:
            return None
        return ReviewDueSoon(
            **self._ids(), due_date=self.due_date, days_left=days_left, state=self.state, detected_at=now
        )

    def overdue(self, today: date, now: datetime) -> ReviewOverdue | None:
        if self.state in FINAL or today <= self.due_date:
            return None
        return ReviewOverdue(**self._ids(), due_date=self.due_date, state=self.state, detected_at=now)

    def occurrence(self) -> str:
        """What a reminder or an overdue report is about: this review and this due date (a due
        date moved later would be reported again)."""
        return f"{self.id}:{self.due_date.isoformat()}"
