"""Process findings (acting contrary to process) and procedural reviews: OGP's rule, free of I/O.

**Cycles.** A member's action plan cycles are its plans in start-date order, as the IRM learned
them from plans' events (a plan whose start date is not known yet sorts by its end date). The
position of a finding is the position of its cycle in that order:

* a finding about a plan (``co_creation_minimum_not_met``, ``no_progress``) is in that plan's cycle;
* a ``no_new_plan`` finding is about the cycle *after* the previous plan, named
  ``"<previous plan id>next"`` (:func:`next_cycle`): its position is the previous plan's + 1, so
  it shares the position of the plan that came after the previous one, when that plan exists
  (the late plan is that cycle's plan).

**Consecutive.** Two findings of one member are consecutive when their positions differ by
exactly one. So, for plans A, B, C (positions 0, 1, 2):

* a finding on A and one on B: consecutive (procedural review);
* ``A``'s ``no_new_plan`` (position 1) and a finding on B (position 1): the same cycle, not
  consecutive; two findings in one cycle never are;
* a finding on A and one on C: B is a clean cycle between them (a plan with no finding), not
  consecutive;
* ``A``'s ``no_new_plan`` (position 1) and ``B``'s ``no_new_plan`` (position 2): consecutive.

It is the cycles that count, never the order the findings arrived in nor the member's last status.

**Procedural review.** Findings in two consecutive cycles start one, naming the two findings
(earlier cycle first). A member has at most one open at a time; a pair of cycles that already
led to a review does not lead to another (a further finding in one of those cycles starts none).
The review is lifted when the cause of the *second* finding (the later cycle's) is remedied:

* ``no_new_plan``: the member submits a plan starting on or after the end of the plan whose
  successor was overdue (noticed by the IRM from plans' events, no one has to ask);
* ``co_creation_minimum_not_met`` / ``no_progress``: IRM staff lift it with a reason (the IRM
  judges the remedy; nothing in the data says it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from shared.errors import Invalid, NotFound, RuleViolation
from shared.events.base import Event
from shared.events.irm import ActedContraryToProcess, ProceduralReviewLifted, ProceduralReviewStarted


class FindingReason(StrEnum):
    NO_NEW_PLAN = "no_new_plan"
    CO_CREATION_MINIMUM_NOT_MET = "co_creation_minimum_not_met"
    NO_PROGRESS = "no_progress"


#: What the IRM records itself (staff, or a published review); ``no_new_plan`` comes from plans'
#: timer only.
RECORDED_BY_IRM = frozenset({FindingReason.CO_CREATION_MINIMUM_NOT_MET, FindingReason.NO_PROGRESS})


class FindingSource(StrEnum):
    NEXT_PLAN_OVERDUE = "next_plan_overdue"  # plans' timer
    IRM_STAFF = "irm_staff"  # recorded through the API
    REVIEW = "review"  # a published IRM review found it


NEXT = "next"


def next_cycle(previous_plan_id: UUID) -> str:
    """The name of the cycle after a plan (the one a ``no_new_plan`` finding is about)."""
    return f"{previous_plan_id}{NEXT}"


@dataclass(slots=True)
class KnownPlan:
    """A plan as the IRM learned it from plans' events; any of the facts may be unknown yet."""

    plan_id: UUID
    member_id: UUID
    start_date: date | None = None
    end_date: date | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def order(self) -> tuple[date, str]:
        return (self.start_date or self.end_date or date.max, str(self.plan_id))

    def learn(self, other: KnownPlan) -> None:
        """Fill in what was unknown; what is known stays (a replay changes nothing)."""
        self.start_date = self.start_date or other.start_date
        self.end_date = self.end_date or other.end_date
        self.created_at = self.created_at or other.created_at
        self.submitted_at = self.submitted_at or other.submitted_at
        self.ended_at = self.ended_at or other.ended_at


@dataclass(frozen=True, slots=True)
class Finding:
    """The member acted contrary to process in a cycle, for a reason."""

    id: UUID
    member_id: UUID
    plan_id: UUID
    cycle: str
    reason: FindingReason
    found_at: datetime
    source: str
    #: ``no_new_plan``: the end of the previous plan (a plan starting from then remedies it).
    previous_end_date: date | None = None

    @classmethod
    def no_new_plan(
        cls, *, member_id: UUID, previous_plan_id: UUID, previous_end_date: date, found_at: datetime
    ) -> Finding:
        return cls(uuid4(), member_id, previous_plan_id, next_cycle(previous_plan_id),
                   FindingReason.NO_NEW_PLAN, found_at, FindingSource.NEXT_PLAN_OVERDUE.value,
                   previous_end_date)  # fmt: skip

    @classmethod
    def about_plan(
        cls, plan: KnownPlan, reason: FindingReason, *, found_at: datetime, source: str
    ) -> Finding:
        """A finding the IRM makes about a plan (the co-creation minimum, no progress)."""
        if reason not in RECORDED_BY_IRM:
            raise RuleViolation(
                "finding.reason_not_recorded_by_irm",
                f"{reason.value} is found by plans' timer, not recorded by the IRM",
                field="reason",
            )
        return cls(uuid4(), plan.member_id, plan.plan_id, str(plan.plan_id), reason, found_at, source)

    @property
    def key(self) -> tuple[UUID, str, FindingReason]:
        """One finding per member, cycle and reason."""
        return (self.member_id, self.cycle, self.reason)

    @property
    def follows_plan(self) -> bool:
        return self.cycle.endswith(NEXT)

    def event(self) -> ActedContraryToProcess:
        return ActedContraryToProcess(
            member_id=self.member_id,
            plan_id=self.plan_id,
            reason=self.reason.value,
            found_at=self.found_at,
            finding_id=self.id,
            cycle=self.cycle,
        )


@dataclass(slots=True)
class ProceduralReview:
    id: UUID
    member_id: UUID
    first_finding_id: UUID
    second_finding_id: UUID
    reason: str
    started_at: datetime
    lifted_at: datetime | None = None
    lift_reason: str | None = None
    lifted_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.lifted_at is None

    def started_event(self) -> ProceduralReviewStarted:
        return ProceduralReviewStarted(
            member_id=self.member_id,
            reason=self.reason,
            started_at=self.started_at,
            finding_ids=[self.first_finding_id, self.second_finding_id],
            procedural_review_id=self.id,
        )

    def lift(self, reason: str, *, by: str, now: datetime) -> ProceduralReviewLifted:
        if not self.is_open:
            raise RuleViolation(
                "procedural_review.not_open", f"procedural review {self.id} was lifted already"
            )
        if not reason.strip():
            raise Invalid("reason", "say why the procedural review is lifted")
        self.lifted_at, self.lift_reason, self.lifted_by = now, reason.strip(), by
        return ProceduralReviewLifted(
            member_id=self.member_id, lifted_at=now, reason=self.lift_reason, procedural_review_id=self.id
        )


@dataclass(slots=True)
class MemberRecord:
    """One member's standing in the IRM's eyes: its cycles (known plans), findings and procedural
    reviews. Every rule of this module is a method here; the repository loads it whole, locked."""

    member_id: UUID
    plans: list[KnownPlan] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reviews: list[ProceduralReview] = field(default_factory=list)

    # --- cycles ---------------------------------------------------------------------------

    def position(self, finding: Finding) -> int | None:
        """The position of the finding's cycle among the member's cycles (None: plan unknown)."""
        ordered = sorted(self.plans, key=lambda p: p.order)
        for i, plan in enumerate(ordered):
            if plan.plan_id == finding.plan_id:
                return i + 1 if finding.follows_plan else i
        return None

    def consecutive(self, a: Finding, b: Finding) -> bool:
        pa, pb = self.position(a), self.position(b)
        return pa is not None and pb is not None and abs(pa - pb) == 1

    @property
    def open_review(self) -> ProceduralReview | None:
        return next((r for r in self.reviews if r.is_open), None)

    def finding(self, finding_id: UUID) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    # --- moves ----------------------------------------------------------------------------

    def record(self, finding: Finding, *, now: datetime) -> tuple[Finding, list[Event]]:
        """Record a finding (the one already recorded for its member, cycle and reason, with no
        event, when it is a repeat) and start a procedural review when it makes two consecutive
        cycles."""
        if finding.member_id != self.member_id:
            raise ValueError("a finding about another member")  # a bug, not a refusal
        existing = next((f for f in self.findings if f.key == finding.key), None)
        if existing is not None:
            return existing, []
        self.findings.append(finding)
        events: list[Event] = [finding.event()]
        review = self._start_review(finding, now)
        if review is not None:
            events.append(review.started_event())
            # The remedy may already be known (plans' events are not ordered with the timer's).
            remedy = next((p for p in self.plans if self._remedies(review, p)), None)
            if remedy is not None:
                events.append(review.lift(_remedied_by(remedy), by="plans", now=now))
        return finding, events

    def plan_submitted(self, plan: KnownPlan, *, now: datetime) -> list[Event]:
        """A submitted plan remedies a ``no_new_plan`` second finding: the review is lifted."""
        review = self.open_review
        if review is None or not self._remedies(review, plan):
            return []
        return [review.lift(_remedied_by(plan), by="plans", now=now)]

    def lift(self, review_id: UUID, reason: str, *, by: str, now: datetime) -> ProceduralReviewLifted:
        """IRM staff lift a review whose second finding the IRM judges remedied."""
        review = next((r for r in self.reviews if r.id == review_id), None)
        if review is None:
            raise NotFound(f"procedural review {review_id}")
        second = self.finding(review.second_finding_id)
        if review.is_open and second is not None and second.reason is FindingReason.NO_NEW_PLAN:
            raise RuleViolation(
                "procedural_review.remedy_is_a_new_plan",
                "this review is lifted when the member submits its new action plan",
            )
        return review.lift(reason, by=by, now=now)

    # --- rules ----------------------------------------------------------------------------

    def _start_review(self, new: Finding, now: datetime) -> ProceduralReview | None:
        if self.open_review is not None:
            return None  # one open procedural review per member
        pos = self.position(new)
        if pos is None:
            return None
        reviewed = self._reviewed_pairs()
        pairs: list[tuple[int, datetime, Finding, Finding]] = []
        for other in self.findings:
            other_pos = self.position(other)
            if other is new or other_pos is None or abs(other_pos - pos) != 1:
                continue
            first, second = (other, new) if other_pos < pos else (new, other)
            if (min(pos, other_pos), max(pos, other_pos)) in reviewed:
                continue
            pairs.append((min(pos, other_pos), other.found_at, first, second))
        if not pairs:
            return None
        _, _, first, second = min(pairs, key=lambda p: (p[0], p[1]))
        review = ProceduralReview(
            id=uuid4(),
            member_id=self.member_id,
            first_finding_id=first.id,
            second_finding_id=second.id,
            reason=f"acted contrary to process in two consecutive cycles: {first.reason.value}, "
            f"then {second.reason.value}",
            started_at=now,
        )
        self.reviews.append(review)
        return review

    def _reviewed_pairs(self) -> set[tuple[int, int]]:
        pairs = set()
        for review in self.reviews:
            first, second = self.finding(review.first_finding_id), self.finding(review.second_finding_id)
            if first is None or second is None:
                continue
            a, b = self.position(first), self.position(second)
            if a is not None and b is not None:
                pairs.add((min(a, b), max(a, b)))
        return pairs

    def _remedies(self, review: ProceduralReview, plan: KnownPlan) -> bool:
        second = self.finding(review.second_finding_id)
        return (
            review.is_open
            and second is not None
            and second.reason is FindingReason.NO_NEW_PLAN
            and second.previous_end_date is not None
            and plan.member_id == self.member_id
            and plan.plan_id != second.plan_id
            and plan.submitted_at is not None
            and plan.start_date is not None
            and plan.start_date >= second.previous_end_date
        )


def _remedied_by(plan: KnownPlan) -> str:
    return f"new action plan {plan.plan_id} submitted"
