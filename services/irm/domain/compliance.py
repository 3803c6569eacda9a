"""Compliance with the Participation & Co-Creation Standards' minimum requirements, pre-filled
from other services' events: OGP's rule, free of I/O.

**Facts.** The IRM keeps what consultation's and plans' events say about a plan (rounds, response
tables, participation reports, co-creation opened and closed, repository documents) and about a
member's forum (established with its rules, meetings with attendance by sector), each as a
:class:`Fact` with the id of the event it came from and its date. :func:`judge` turns a plan's
facts into one :class:`Prefilled` per requirement of the review's product: ``met``, ``not_met`` or
``not_enough_evidence``, with the evidence (event ids, dates, figures).

**Which product assesses what.** The action plan review assesses co-creation (standards 1-4,
:data:`CO_CREATION`); the results report assesses implementation (standard 5,
:data:`IMPLEMENTATION`). The co-creation brief and the midterm review assess none.

**Assumptions** where OGP's text is vague (each a named constant below):

* *The co-creation period* runs from ``CoCreationOpened`` to ``CoCreationClosed`` (the plan's
  submission); not closed yet: to the day of the assessment. Opened unknown: from the plan's
  earliest fact (the forum's check: from its first meeting).
* *Forum with government and civil society*: seats are not published as events, so attendance is
  the evidence: at least one meeting up to the end of the period with both sectors present.
* *Meets at least every six months*: no gap longer than :data:`FORUM_MEETING_INTERVAL_MONTHS`
  calendar months between the start of the period (or the last meeting before it), each meeting
  and the end of the period.
* *Rules public*: the forum is established on the platform with a rules URL. The data cannot show
  rules published elsewhere: without the forum on record it is ``not_enough_evidence``.
* *Repository updated at least twice a year*: :data:`REPOSITORY_UPDATES_PER_YEAR` updates per year,
  pro rata over the period (at least one, rounded up: 2 for 8 months, 1 for 3); an update is a
  day with at least one document published (two documents on one day are one update).
* *About two weeks' notice*: :data:`NOTICE_DAYS` days, by the IRM's own bar (not the consultation
  service's setting), for every round that was not cancelled: each opportunity needs its notice.
* *Open opportunity for input*: at least one round opened. None opened once co-creation closed:
  ``not_met``.
* *Reasoned response*: every round closed with input has a published response table (the table's
  answered/inputs figures are evidence; a partial table still counts as reported back). No input
  on record: ``not_enough_evidence`` (nothing to answer).
* *Two implementation meetings with civil society*: :data:`IMPLEMENTATION_MEETINGS_MIN` forum
  meetings in the implementation phase about the plan with civil society attending. Fewer with no
  forum on record at all: ``not_enough_evidence`` (the forum may meet off the platform).
* *The minimum is met* only when every requirement is ``met`` (after the researcher's decisions);
  a process finding is made only for a requirement ``not_met``: a lack of evidence is no finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from math import ceil
from typing import Any
from uuid import UUID

from dateutil.relativedelta import relativedelta

from shared.errors import RuleViolation
from shared.events.irm import (
    ComplianceAssessed,
    ComplianceStatus,
    RequirementFinding,
    ReviewKind,
    ReviewState,
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


# --- the researcher's decisions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """The researcher (or IRM staff) confirmed or overrode a requirement's pre-filled status."""

    review_id: UUID
    requirement: Requirement
    status: ComplianceStatus
    prefilled: ComplianceStatus
    reason: str | None
    by: str
    at: datetime

    @property
    def overridden(self) -> bool:
        return self.status is not self.prefilled


def check_open_for_decisions(state: ReviewState) -> None:
    if state is ReviewState.PUBLISHED:
        raise RuleViolation("compliance.review_published", "the review is published: its compliance is fixed")
    if state is ReviewState.WITHDRAWN:
        raise RuleViolation("compliance.review_withdrawn", "the review is withdrawn")


def decide(
    *,
    review_id: UUID,
    kind: ReviewKind,
    state: ReviewState,
    requirement: Requirement,
    status: ComplianceStatus,
    reason: str | None,
    prefilled: Prefilled,
    by: str,
    now: datetime,
) -> Decision:
    """Confirm (same status as pre-filled; a reason is optional) or override (another status;
    the reason is required) one requirement of the review's product."""
    check_open_for_decisions(state)
    if requirement not in PRODUCT_REQUIREMENTS[kind]:
        raise RuleViolation(
            "compliance.requirement_not_in_product",
            f"a {kind.value} does not assess {requirement.value}",
            field="requirement",
        )
    text = (reason or "").strip() or None
    if status is not prefilled.status and text is None:
        raise RuleViolation(
            "compliance.override_needs_reason",
            f"the data show {prefilled.status.value}: say why it is {status.value}",
            field="reason",
        )
    return Decision(review_id, requirement, status, prefilled.status, text, by, now)


# --- the judgement ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Judged:
    """A requirement as the review states it: the pre-filled status and evidence, and the
    researcher's decision when there is one."""

    prefilled: Prefilled
    decision: Decision | None = None

    @property
    def requirement(self) -> Requirement:
        return self.prefilled.requirement

    @property
    def status(self) -> ComplianceStatus:
        return self.decision.status if self.decision else self.prefilled.status

    @property
    def overridden(self) -> bool:
        return self.decision is not None and self.decision.overridden

    def finding(self) -> RequirementFinding:
        return RequirementFinding(
            standard=STANDARD[self.requirement],
            requirement=self.requirement.value,
            status=self.status,
            evidence=[self.prefilled.summary, *(str(e) for e in self.prefilled.evidence)],
            overridden=self.overridden,
            reason=self.decision.reason if self.decision else None,
        )

    def as_json(self) -> dict[str, Any]:
        d = self.decision
        return {
            "requirement": self.requirement.value,
            "standard": STANDARD[self.requirement],
            "status": self.status.value,
            "prefilled": self.prefilled.status.value,
            "summary": self.prefilled.summary,
            "evidence": [e.as_json() for e in self.prefilled.evidence],
            "overridden": self.overridden,
            "confirmed": d is not None and not d.overridden,
            "reason": d.reason if d else None,
            "decided_at": d.at.isoformat() if d else None,
        }


@dataclass(frozen=True, slots=True)
class Compliance:
    """One review's compliance: every requirement its product assesses."""

    review_id: UUID
    plan_id: UUID
    member_id: UUID
    product: ReviewKind
    as_of: date
    requirements: tuple[Judged, ...]

    @property
    def minimum_met(self) -> bool:
        """Every requirement met (none not met, none left without evidence)."""
        return bool(self.requirements) and all(j.status is MET for j in self.requirements)

    @property
    def not_met(self) -> list[Requirement]:
        """The requirements found not met: a process finding follows."""
        return [j.requirement for j in self.requirements if j.status is NOT_MET]

    @property
    def assessed(self) -> bool:
        """Something to publish: a status the data show, evidence on record or a decision."""
        return any(
            j.decision is not None or j.prefilled.status is not NO_EVIDENCE or j.prefilled.evidence
            for j in self.requirements
        )

    def get(self, requirement: Requirement) -> Judged:
        return next(j for j in self.requirements if j.requirement is requirement)

    def event(self, now: datetime) -> ComplianceAssessed:
        return ComplianceAssessed(
            review_id=self.review_id,
            plan_id=self.plan_id,
            member_id=self.member_id,
            product=self.product,
            requirements=[j.finding() for j in self.requirements],
            minimum_met=self.minimum_met,
            assessed_at=now,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "review_id": str(self.review_id),
            "plan_id": str(self.plan_id),
            "member_id": str(self.member_id),
            "product": self.product.value,
            "as_of": self.as_of.isoformat(),
            "minimum_met": self.minimum_met,
            "requirements": [j.as_json() for j in self.requirements],
        }


def judge(
    *,
    review_id: UUID,
    plan_id: UUID,
    member_id: UUID,
    product: ReviewKind,
    facts: Iterable[Fact],
    decisions: Mapping[Requirement, Decision] | None = None,
    as_of: date,
) -> Compliance:
    """The review's compliance: each requirement of its product pre-filled from the facts, then
    the researcher's decisions applied."""
    evidence = PlanEvidence(plan_id, member_id, list(facts), as_of)
    decisions = decisions or {}
    judged = tuple(Judged(evidence.prefill(r), decisions.get(r)) for r in PRODUCT_REQUIREMENTS[product])
    return Compliance(review_id, plan_id, member_id, product, as_of, judged)


def prefill(
    plan_id: UUID, member_id: UUID, facts: Iterable[Fact], requirement: Requirement, as_of: date
) -> Prefilled:
    return PlanEvidence(plan_id, member_id, list(facts), as_of).prefill(requirement)


def no_progress(completions: Iterable[str | None]) -> bool:
    """No progress on any commitment: at least one commitment's completion coded, and every coded
    one not started or with no evidence."""
    coded = [c for c in completions if c is not None]
    return bool(coded) and all(c in NO_PROGRESS for c in coded)


# --- the rules, requirement by requirement ------------------------------------------------------


def add_months(day: date, months: int) -> date:
    result: date = day + relativedelta(months=months)
    return result


def _ev(fact: Fact, note: str) -> Evidence:
    return Evidence(note, fact.event_id, fact.on)


def _attendance(fact: Fact) -> str:
    counts = fact.figures.get("attendance") or {}
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no attendance counted"


@dataclass(slots=True)
class PlanEvidence:
    """A plan's facts (and its member's forum's) as of a day."""

    plan_id: UUID
    member_id: UUID
    facts: list[Fact]
    as_of: date

    def __post_init__(self) -> None:
        self.facts = sorted(
            (f for f in self.facts if f.plan_id == self.plan_id
             or (f.kind in FORUM_KINDS and f.member_id == self.member_id)),
            key=lambda f: (f.on, str(f.event_id)),
        )  # fmt: skip

    def of(self, *kinds: FactKind, plan_only: bool = False) -> list[Fact]:
        return [
            f for f in self.facts
            if f.kind in kinds and (not plan_only or f.plan_id == self.plan_id)
        ]  # fmt: skip

    # --- the period ---------------------------------------------------------------------------

    @property
    def opened(self) -> Fact | None:
        return next(iter(self.of(FactKind.CO_CREATION_OPENED)), None)

    @property
    def closed(self) -> Fact | None:
        return next(iter(self.of(FactKind.CO_CREATION_CLOSED)), None)

    @property
    def end(self) -> date:
        closed = self.closed
        return closed.on if closed else self.as_of

    @property
    def start(self) -> date | None:
        opened = self.opened
        if opened:
            return opened.on
        own = [f.on for f in self.facts if f.kind not in FORUM_KINDS]
        return min(own) if own else None

    def period(self) -> str:
        start = self.start
        return f"co-creation {start.isoformat() if start else '?'} to {self.end.isoformat()}"

    # --- dispatch -----------------------------------------------------------------------------

    def prefill(self, requirement: Requirement) -> Prefilled:
        rules = {
            R.FORUM_MULTI_STAKEHOLDER: self.forum_multi_stakeholder,
            R.FORUM_MEETS_EVERY_SIX_MONTHS: self.forum_meets_every_six_months,
            R.FORUM_RULES_PUBLIC: self.forum_rules_public,
            R.REPOSITORY_UPDATED: self.repository_updated,
            R.ADVANCE_NOTICE: self.advance_notice,
            R.OPEN_INPUT: self.open_input,
            R.REASONED_RESPONSE: self.reasoned_response,
            R.IMPLEMENTATION_MEETINGS: self.implementation_meetings,
        }
        status, summary, evidence = rules[requirement]()
        return Prefilled(requirement, status, summary, tuple(evidence))

    # --- standard 1 ---------------------------------------------------------------------------

    def _meetings(self, until: date) -> list[Fact]:
        return [m for m in self.of(FactKind.FORUM_MEETING) if m.on <= until]

    @property
    def forum(self) -> Fact | None:
        return next(iter(self.of(FactKind.FORUM_ESTABLISHED)), None)

    def forum_multi_stakeholder(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        meetings = self._meetings(self.end)
        if not meetings:
            return NO_EVIDENCE, f"no forum meeting on record up to {self.end}", []
        both = [m for m in meetings if m.attendance(GOVERNMENT) > 0 and m.attendance(CIVIL_SOCIETY) > 0]
        if both:
            return (
                MET,
                f"{len(both)} of {len(meetings)} forum meeting(s) with government and civil society",
                [_ev(m, f"meeting: {_attendance(m)}") for m in both],
            )
        return (
            NOT_MET,
            f"none of {len(meetings)} forum meeting(s) had both government and civil society",
            [_ev(m, f"meeting: {_attendance(m)}") for m in meetings],
        )

    def forum_meets_every_six_months(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        end, months = self.end, FORUM_MEETING_INTERVAL_MONTHS
        meetings = self._meetings(end)
        forum = self.forum
        if not meetings:
            if forum is not None and add_months(forum.on, months) < end:
                return (
                    NOT_MET,
                    f"no meeting on record since the forum was established, up to {end}",
                    [_ev(forum, "forum established")],
                )
            return NO_EVIDENCE, f"no forum meeting on record up to {end}", []
        start = self.opened.on if self.opened else meetings[0].on
        before = [m for m in meetings if m.on <= start]
        within = [m for m in meetings if m.on > start]
        previous = before[-1].on if before else start
        gaps: list[tuple[date, date]] = []
        for m in within:
            gaps.append((previous, m.on))
            previous = m.on
        gaps.append((previous, end))
        long = [(a, b) for a, b in gaps if add_months(a, months) < b]
        shown = ([before[-1]] if before else []) + within
        evidence = [_ev(m, f"forum meeting ({m.figures.get('phase', '?')})") for m in shown]
        if long:
            worst = max(long, key=lambda g: g[1] - g[0])
            return (
                NOT_MET,
                f"{len(long)} gap(s) over {months} months between meetings ({self.period()}); "
                f"longest {worst[0]} to {worst[1]}",
                evidence,
            )
        return MET, f"no gap over {months} months between meetings ({self.period()})", evidence

    def forum_rules_public(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        forum = self.forum
        if forum is None:
            return NO_EVIDENCE, "the member's forum is not on record (its rules may be public elsewhere)", []
        url = str(forum.figures.get("rules_url") or "").strip()
        if not url:
            return (
                NOT_MET,
                "the forum is on record without rules of participation",
                [_ev(forum, "forum established")],
            )
        return (
            MET,
            f"rules of participation published at {url}",
            [_ev(forum, f"forum established, rules {url}")],
        )

    # --- standard 2 ---------------------------------------------------------------------------

    def repository_updated(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        start, end = self.start, self.end
        if start is None:
            return NO_EVIDENCE, "nothing on record of the plan's co-creation or repository", []
        documents = [d for d in self.of(FactKind.DOCUMENT, plan_only=True) if start <= d.on <= end]
        days = sorted({d.on for d in documents})
        length = max(1, (end - start).days)
        needed = max(1, ceil(REPOSITORY_UPDATES_PER_YEAR * length / 365))
        evidence = [_ev(d, f"document published: {d.figures.get('type', '?')}") for d in documents]
        summary = (
            f"{len(days)} update day(s) in the repository over {length} days ({self.period()}); "
            f"{needed} needed at {REPOSITORY_UPDATES_PER_YEAR} a year"
        )
        return (MET if len(days) >= needed else NOT_MET), summary, evidence

    # --- standard 3 ---------------------------------------------------------------------------

    def _cancelled(self) -> set[UUID]:
        return {
            c.subject_id for c in self.of(FactKind.ROUND_CLOSED) if c.figures.get("reason") == "cancelled"
        }

    def _cycle_report(self) -> list[Evidence]:
        reports = [p for p in self.of(FactKind.PARTICIPATION) if p.figures.get("scope") == "cycle"]
        if not reports:
            return []
        p = reports[-1]
        f = p.figures
        return [_ev(p, f"participation report: {f.get('rounds')} round(s), {f.get('short_notice_rounds')} "
                       f"at short notice, {f.get('unique_participants')} participant(s), response "
                       f"coverage {f.get('response_coverage')}")]  # fmt: skip

    def advance_notice(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        cancelled = self._cancelled()
        rounds = [r for r in self.of(FactKind.ROUND_SCHEDULED) if r.subject_id not in cancelled]
        if not rounds:
            return NO_EVIDENCE, "no consultation round on record", self._cycle_report()
        short = [r for r in rounds if float(r.figures.get("notice_days", 0)) < NOTICE_DAYS]
        evidence = [
            _ev(r, f"round {r.subject_id} ({r.figures.get('kind', '?')}) announced "
                   f"{float(r.figures.get('notice_days', 0)):.1f} days ahead")
            for r in rounds
        ] + self._cycle_report()  # fmt: skip
        if short:
            return (
                NOT_MET,
                f"{len(short)} of {len(rounds)} round(s) announced less than {NOTICE_DAYS} days ahead",
                evidence,
            )
        return MET, f"every round ({len(rounds)}) announced at least {NOTICE_DAYS} days ahead", evidence

    def open_input(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        opened = self.of(FactKind.ROUND_OPENED)
        closed = {c.subject_id: c for c in self.of(FactKind.ROUND_CLOSED)}
        if opened:
            evidence = []
            for o in opened:
                c = closed.get(o.subject_id)
                took = (f", closed with {c.figures.get('submissions', 0)} submission(s) and "
                        f"{c.figures.get('comments', 0)} comment(s)") if c else ""  # fmt: skip
                evidence.append(
                    _ev(o, f"round {o.subject_id} ({o.figures.get('kind', '?')}) opened to anyone{took}")
                )
            return MET, f"{len(opened)} round(s) open to anyone's input", evidence
        scheduled = self.of(FactKind.ROUND_SCHEDULED)
        ended = self.closed
        if ended is not None:
            evidence = [_ev(ended, "co-creation closed")] + [
                _ev(r, f"round {r.subject_id} never opened") for r in scheduled
            ]
            return NOT_MET, "co-creation closed with no round opened to input", evidence
        return NO_EVIDENCE, "no round opened yet and co-creation not closed", []

    # --- standard 4 ---------------------------------------------------------------------------

    def reasoned_response(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        tables = self.of(FactKind.RESPONSE_TABLE)
        answered = {str(t.figures.get("round_id")) for t in tables}
        with_input = [
            c for c in self.of(FactKind.ROUND_CLOSED)
            if c.figures.get("reason") != "cancelled"
            and int(c.figures.get("submissions", 0)) + int(c.figures.get("comments", 0)) > 0
        ]  # fmt: skip
        missing = [c for c in with_input if str(c.subject_id) not in answered]
        table_evidence = [
            _ev(t, f"response table of round {t.figures.get('round_id')}: {t.figures.get('answered')} of "
                   f"{t.figures.get('inputs')} input(s) answered")
            for t in tables
        ]  # fmt: skip
        if missing:
            return (
                NOT_MET,
                f"{len(missing)} round(s) with input have no published response table",
                [_ev(c, f"round {c.subject_id} closed with {c.figures.get('submissions', 0)} submission(s) "
                        f"and {c.figures.get('comments', 0)} comment(s), no response table")
                 for c in missing] + table_evidence + self._cycle_report(),
            )  # fmt: skip
        if tables:
            return MET, f"{len(tables)} response table(s) published", table_evidence + self._cycle_report()
        return NO_EVIDENCE, "no input on record to respond to", self._cycle_report()

    # --- standard 5 ---------------------------------------------------------------------------

    def implementation_meetings(self) -> tuple[ComplianceStatus, str, list[Evidence]]:
        meetings = [
            m for m in self._meetings(self.as_of)
            if m.plan_id == self.plan_id and m.figures.get("phase") == "implementation"
        ]  # fmt: skip
        with_cs = [m for m in meetings if m.attendance(CIVIL_SOCIETY) > 0]
        evidence = [_ev(m, f"implementation meeting: {_attendance(m)}") for m in meetings]
        reports = [p for p in self.of(FactKind.PARTICIPATION, plan_only=True)]
        if reports:
            p = reports[-1]
            evidence.append(_ev(p, f"participation report: {p.figures.get('implementation_meetings')} "
                                   "implementation meeting(s)"))  # fmt: skip
        summary = (
            f"{len(with_cs)} implementation meeting(s) with civil society on record "
            f"({IMPLEMENTATION_MEETINGS_MIN} needed)"
        )
        if len(with_cs) >= IMPLEMENTATION_MEETINGS_MIN:
            return MET, summary, evidence
        if not self.of(*FORUM_KINDS):
            return NO_EVIDENCE, "the member's forum is not on record (it may meet elsewhere)", evidence
        forum = self.forum
        return NOT_MET, summary, evidence + ([_ev(forum, "forum established")] if forum else [])


__all__ = [
    "CO_CREATION",
    "IMPLEMENTATION",
    "Compliance",
    "Decision",
    "Evidence",
    "Fact",
    "FactKind",
    "Judged",
    "Prefilled",
    "Requirement",
    "decide",
    "judge",
    "no_progress",
    "prefill",
]
