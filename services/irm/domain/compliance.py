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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.irm.domain.compliance_facts import (
    CO_CREATION,
    FORUM_KINDS,
    IMPLEMENTATION,
    MET,
    NO_EVIDENCE,
    NO_PROGRESS,
    NOT_MET,
    PRODUCT_REQUIREMENTS,
    STANDARD,
    Evidence,
    Fact,
    FactKind,
    Prefilled,
    Requirement,
)
from services.irm.domain.compliance_rules import PlanEvidence
from shared.errors import RuleViolation
from shared.events.irm import (
    ComplianceAssessed,
    ComplianceStatus,
    RequirementFinding,
    ReviewKind,
    ReviewState,
)

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


__all__ = [
    "CO_CREATION",
    "FORUM_KINDS",
    "IMPLEMENTATION",
    "NO_PROGRESS",
    "PRODUCT_REQUIREMENTS",
    "STANDARD",
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
