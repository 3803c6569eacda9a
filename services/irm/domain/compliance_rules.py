"""The minimum requirements judged one by one from a plan's facts (see :mod:`.compliance` for
the assumptions each threshold stands for)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import ceil
from uuid import UUID

from services.irm.domain.compliance_facts import (
    CIVIL_SOCIETY,
    FORUM_KINDS,
    FORUM_MEETING_INTERVAL_MONTHS,
    GOVERNMENT,
    IMPLEMENTATION_MEETINGS_MIN,
    MET,
    NO_EVIDENCE,
    NOT_MET,
    NOTICE_DAYS,
    REPOSITORY_UPDATES_PER_YEAR,
    Evidence,
    Fact,
    FactKind,
    Prefilled,
    R,
    Requirement,
)
from services.irm.domain.reviews import add_months
from shared.events.irm import (
    ComplianceStatus,
)

# --- the rules, requirement by requirement ------------------------------------------------------


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
