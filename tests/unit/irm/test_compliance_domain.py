"""The co-creation standards' minimum requirements pre-filled from facts: every requirement met,
not met and without enough evidence; the researcher's decisions; what the published event says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.irm.domain.compliance import (
    CO_CREATION,
    IMPLEMENTATION,
    Fact,
    FactKind,
    Requirement,
    decide,
    judge,
    no_progress,
    prefill,
)
from services.irm.domain.compliance_facts import NOTICE_DAYS
from shared.errors import RuleViolation
from shared.events.irm import ComplianceStatus, ReviewKind, ReviewState

R, K = Requirement, FactKind
MET, NOT_MET, NEE = (
    ComplianceStatus.MET,
    ComplianceStatus.NOT_MET,
    ComplianceStatus.NOT_ENOUGH_EVIDENCE,
)
PLAN, MEMBER = uuid4(), uuid4()
OPENED, CLOSED = date(2025, 1, 10), date(2025, 7, 31)
AS_OF = date(2025, 9, 1)


def fact(kind: FactKind, on: date, /, *, subject: UUID | None = None, plan: UUID | None = PLAN,
         member: UUID = MEMBER, **figures: Any) -> Fact:  # fmt: skip
    return Fact(uuid4(), kind, subject or uuid4(), on, member, plan, figures)


def co_creation(opened: date = OPENED, closed: date | None = CLOSED) -> list[Fact]:
    facts = [fact(K.CO_CREATION_OPENED, opened, subject=PLAN)]
    if closed:
        facts.append(fact(K.CO_CREATION_CLOSED, closed, subject=PLAN))
    return facts


def meeting(
    on: date, *, gov: int = 3, cs: int = 4, phase: str = "co_creation", plan: UUID | None = PLAN
) -> Fact:
    return fact(
        K.FORUM_MEETING, on, plan=plan, phase=phase, attendance={"government": gov, "civil_society": cs}
    )


def forum(on: date = date(2024, 1, 1), rules_url: str = "https://ogp.example.org/rules") -> Fact:
    return fact(K.FORUM_ESTABLISHED, on, plan=None, rules_url=rules_url)


def status(requirement: Requirement, facts: list[Fact], as_of: date = AS_OF) -> ComplianceStatus:
    return prefill(PLAN, MEMBER, facts, requirement, as_of).status


# --- standard 1 ---------------------------------------------------------------------------------


def test_forum_with_government_and_civil_society() -> None:
    both = meeting(date(2025, 2, 1))
    p = prefill(PLAN, MEMBER, [*co_creation(), both], R.FORUM_MULTI_STAKEHOLDER, AS_OF)
    assert p.status is MET and [e.event_id for e in p.evidence] == [both.event_id]
    assert "civil_society 4" in str(p.evidence[0]) and "2025-02-01" in str(p.evidence[0])
    assert status(R.FORUM_MULTI_STAKEHOLDER, [*co_creation(), meeting(date(2025, 2, 1), cs=0)]) is NOT_MET
    assert status(R.FORUM_MULTI_STAKEHOLDER, co_creation()) is NEE
    # a meeting after co-creation closed does not count for it
    assert status(R.FORUM_MULTI_STAKEHOLDER, [*co_creation(), meeting(date(2025, 8, 15))]) is NEE


def test_another_plans_forum_meeting_counts_for_the_forum_but_not_another_members() -> None:
    other_plan = meeting(date(2025, 2, 1), plan=uuid4())
    assert status(R.FORUM_MULTI_STAKEHOLDER, [*co_creation(), other_plan]) is MET
    elsewhere = Fact(uuid4(), K.FORUM_MEETING, uuid4(), date(2025, 2, 1), uuid4(), None,
                     {"phase": "other", "attendance": {"government": 1, "civil_society": 1}})  # fmt: skip
    assert status(R.FORUM_MULTI_STAKEHOLDER, [*co_creation(), elsewhere]) is NEE


def test_forum_meets_at_least_every_six_months() -> None:
    # before the period, then within 6 months of each other and of the close
    met = [meeting(date(2024, 11, 1)), meeting(date(2025, 4, 1)), meeting(date(2025, 7, 1))]
    p = prefill(PLAN, MEMBER, [*co_creation(), *met], R.FORUM_MEETS_EVERY_SIX_MONTHS, AS_OF)
    assert p.status is MET
    assert [e.event_id for e in p.evidence] == [m.event_id for m in met]
    # a gap of more than six months (Nov 2024 → Jul 2025)
    gap = [meeting(date(2024, 11, 1)), meeting(date(2025, 7, 1))]
    p = prefill(PLAN, MEMBER, [*co_creation(), *gap], R.FORUM_MEETS_EVERY_SIX_MONTHS, AS_OF)
    assert p.status is NOT_MET and "2024-11-01 to 2025-07-01" in p.summary
    # the last meeting more than six months before co-creation closed
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, [*co_creation(), meeting(date(2025, 1, 20))]) is NOT_MET
    # no meeting, the forum established long ago: not met; nothing on record: not enough evidence
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, [*co_creation(), forum()]) is NOT_MET
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, [*co_creation(), forum(date(2025, 5, 1))]) is NEE
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, co_creation()) is NEE


def test_the_period_runs_to_the_day_judged_while_co_creation_is_open() -> None:
    facts = [*co_creation(closed=None), meeting(date(2025, 2, 1))]
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, facts, as_of=date(2025, 6, 1)) is MET
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, facts, as_of=date(2025, 8, 5)) is NOT_MET


def test_forum_rules_public() -> None:
    established = forum()
    p = prefill(PLAN, MEMBER, [established], R.FORUM_RULES_PUBLIC, AS_OF)
    assert p.status is MET and p.evidence[0].event_id == established.event_id
    assert status(R.FORUM_RULES_PUBLIC, [forum(rules_url=" ")]) is NOT_MET
    assert status(R.FORUM_RULES_PUBLIC, co_creation()) is NEE


# --- standard 2 ---------------------------------------------------------------------------------


def test_repository_updated_at_least_twice_a_year_pro_rata() -> None:
    # co-creation of about 6.7 months: 2 updates needed; two documents on one day are one update
    docs = [
        fact(K.DOCUMENT, date(2025, 2, 1), type="minutes"),
        fact(K.DOCUMENT, date(2025, 6, 1), type="draft"),
    ]
    p = prefill(PLAN, MEMBER, [*co_creation(), *docs], R.REPOSITORY_UPDATED, AS_OF)
    assert p.status is MET and {e.event_id for e in p.evidence} == {d.event_id for d in docs}
    same_day = [fact(K.DOCUMENT, date(2025, 2, 1)), fact(K.DOCUMENT, date(2025, 2, 1))]
    assert status(R.REPOSITORY_UPDATED, [*co_creation(), *same_day]) is NOT_MET
    assert status(R.REPOSITORY_UPDATED, co_creation()) is NOT_MET  # co-creation known, nothing filed
    # a short co-creation (about 2 months) needs one update
    short = co_creation(date(2025, 1, 10), date(2025, 3, 10))
    assert status(R.REPOSITORY_UPDATED, [*short, fact(K.DOCUMENT, date(2025, 3, 1))]) is MET
    assert status(R.REPOSITORY_UPDATED, []) is NEE


# --- standard 3 ---------------------------------------------------------------------------------


def scheduled(notice_days: float, on: date = date(2025, 3, 1), subject: UUID | None = None) -> Fact:
    return fact(K.ROUND_SCHEDULED, on, subject=subject, kind="draft_plan", notice_days=notice_days)


def test_advance_notice_of_about_two_weeks_for_every_round() -> None:
    p = prefill(PLAN, MEMBER, [scheduled(15), scheduled(NOTICE_DAYS)], R.ADVANCE_NOTICE, AS_OF)
    assert p.status is MET and len(p.evidence) == 2
    p = prefill(
        PLAN, MEMBER, [scheduled(15), short := scheduled(2.5, date(2025, 4, 1))], R.ADVANCE_NOTICE, AS_OF
    )
    assert p.status is NOT_MET and "2.5 days ahead" in str(p.evidence[1])
    assert p.evidence[1].event_id == short.event_id
    assert status(R.ADVANCE_NOTICE, []) is NEE


def test_a_cancelled_round_needs_no_notice() -> None:
    rid = uuid4()
    cancelled = fact(
        K.ROUND_CLOSED, date(2025, 3, 2), subject=rid, reason="cancelled", submissions=0, comments=0
    )
    assert status(R.ADVANCE_NOTICE, [scheduled(15), scheduled(1, subject=rid), cancelled]) is MET


def test_an_open_opportunity_for_anyone_to_give_input() -> None:
    rid = uuid4()
    opened = fact(K.ROUND_OPENED, date(2025, 3, 15), subject=rid, kind="ideas")
    closed = fact(
        K.ROUND_CLOSED, date(2025, 4, 15), subject=rid, reason="closes_at", submissions=3, comments=5
    )
    p = prefill(PLAN, MEMBER, [opened, closed], R.OPEN_INPUT, AS_OF)
    assert p.status is MET and p.evidence[0].event_id == opened.event_id
    assert "3 submission(s) and 5 comment(s)" in p.evidence[0].note
    assert status(R.OPEN_INPUT, [*co_creation(), scheduled(20)]) is NOT_MET  # closed, none opened
    assert status(R.OPEN_INPUT, co_creation(closed=None)) is NEE


# --- standard 4 ---------------------------------------------------------------------------------


def test_reasoned_response_for_every_round_with_input() -> None:
    a, b = uuid4(), uuid4()
    closed_a = fact(
        K.ROUND_CLOSED, date(2025, 4, 1), subject=a, reason="closes_at", submissions=2, comments=1
    )
    closed_b = fact(
        K.ROUND_CLOSED, date(2025, 5, 1), subject=b, reason="closes_at", submissions=0, comments=0
    )
    table = fact(K.RESPONSE_TABLE, date(2025, 4, 20), round_id=str(a), inputs=3, answered=3)
    p = prefill(PLAN, MEMBER, [closed_a, closed_b, table], R.REASONED_RESPONSE, AS_OF)
    assert p.status is MET and p.evidence[0].event_id == table.event_id
    assert "3 of 3 input(s) answered" in p.evidence[0].note
    p = prefill(PLAN, MEMBER, [closed_a, closed_b], R.REASONED_RESPONSE, AS_OF)
    assert p.status is NOT_MET and p.evidence[0].event_id == closed_a.event_id
    assert status(R.REASONED_RESPONSE, [closed_b]) is NEE  # nothing to answer
    assert status(R.REASONED_RESPONSE, []) is NEE


def test_the_cycle_participation_report_is_evidence() -> None:
    report = fact(K.PARTICIPATION, date(2025, 8, 1), scope="cycle", rounds=2, short_notice_rounds=1,
                  unique_participants=40, response_coverage=0.9, implementation_meetings=0)  # fmt: skip
    p = prefill(PLAN, MEMBER, [scheduled(20), report], R.ADVANCE_NOTICE, AS_OF)
    assert report.event_id in [e.event_id for e in p.evidence]
    assert "1 at short notice" in p.evidence[-1].note


# --- standard 5 ---------------------------------------------------------------------------------


def test_two_implementation_meetings_with_civil_society() -> None:
    two = [
        meeting(date(2026, 3, 1), phase="implementation"),
        meeting(date(2026, 9, 1), phase="implementation"),
    ]
    p = prefill(PLAN, MEMBER, two, R.IMPLEMENTATION_MEETINGS, date(2027, 1, 1))
    assert p.status is MET and [e.event_id for e in p.evidence] == [m.event_id for m in two]
    without_cs = [two[0], meeting(date(2026, 9, 1), phase="implementation", cs=0)]
    assert status(R.IMPLEMENTATION_MEETINGS, without_cs, date(2027, 1, 1)) is NOT_MET
    co_creation_only = [meeting(date(2025, 3, 1)), meeting(date(2025, 6, 1))]
    assert status(R.IMPLEMENTATION_MEETINGS, co_creation_only, date(2027, 1, 1)) is NOT_MET
    another_plan = [meeting(date(2026, 3, 1), phase="implementation", plan=uuid4()) for _ in range(2)]
    assert status(R.IMPLEMENTATION_MEETINGS, another_plan, date(2027, 1, 1)) is NOT_MET
    assert status(R.IMPLEMENTATION_MEETINGS, [], date(2027, 1, 1)) is NEE  # no forum on record


# --- products, decisions, the event -------------------------------------------------------------

REVIEW = uuid4()
NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)


def test_each_product_assesses_its_own_requirements() -> None:
    apr = judge(review_id=REVIEW, plan_id=PLAN, member_id=MEMBER, product=ReviewKind.ACTION_PLAN_REVIEW,
                facts=[], as_of=AS_OF)  # fmt: skip
    assert [j.requirement for j in apr.requirements] == list(CO_CREATION)
    results = judge(review_id=REVIEW, plan_id=PLAN, member_id=MEMBER, product=ReviewKind.RESULTS_REPORT,
                    facts=[], as_of=AS_OF)  # fmt: skip
    assert [j.requirement for j in results.requirements] == list(IMPLEMENTATION)
    brief = judge(review_id=REVIEW, plan_id=PLAN, member_id=MEMBER, product=ReviewKind.CO_CREATION_BRIEF,
                  facts=[], as_of=AS_OF)  # fmt: skip
    assert brief.requirements == () and not brief.minimum_met
    assert not apr.assessed and not apr.minimum_met and apr.not_met == []


def _decide(requirement: Requirement, to: ComplianceStatus, reason: str | None, *,
            state: ReviewState = ReviewState.DRAFT, kind: ReviewKind = ReviewKind.ACTION_PLAN_REVIEW) -> Any:  # fmt: skip
    return decide(review_id=REVIEW, kind=kind, state=state, requirement=requirement, status=to, reason=reason,
                  prefilled=prefill(PLAN, MEMBER, [], requirement, AS_OF), by="res-1", now=NOW)  # fmt: skip


def test_an_override_needs_a_reason_a_confirmation_does_not() -> None:
    with pytest.raises(RuleViolation) as err:
        _decide(R.FORUM_RULES_PUBLIC, MET, "  ")
    assert (err.value.rule, err.value.field) == ("compliance.override_needs_reason", "reason")
    confirmed = _decide(R.FORUM_RULES_PUBLIC, NEE, None)
    assert not confirmed.overridden and confirmed.reason is None
    overridden = _decide(R.FORUM_RULES_PUBLIC, MET, " Rules on the ministry's site ")
    assert overridden.overridden and overridden.reason == "Rules on the ministry's site"


@pytest.mark.parametrize(
    ("state", "rule"),
    [
        (ReviewState.PUBLISHED, "compliance.review_published"),
        (ReviewState.WITHDRAWN, "compliance.review_withdrawn"),
    ],
)
def test_no_decision_once_the_review_is_closed(state: ReviewState, rule: str) -> None:
    with pytest.raises(RuleViolation) as err:
        _decide(R.FORUM_RULES_PUBLIC, MET, "reason", state=state)
    assert (err.value.rule, err.value.field) == (rule, None)


def test_a_requirement_the_product_does_not_assess() -> None:
    with pytest.raises(RuleViolation) as err:
        _decide(R.IMPLEMENTATION_MEETINGS, MET, "reason")
    assert (err.value.rule, err.value.field) == ("compliance.requirement_not_in_product", "requirement")


def test_the_event_carries_decisions_and_evidence() -> None:
    facts = [*co_creation(), forum(), meeting(date(2025, 4, 1)), meeting(date(2025, 7, 1))]
    decision = _decide(R.REPOSITORY_UPDATED, MET, "Filed on the national portal")
    compliance = judge(review_id=REVIEW, plan_id=PLAN, member_id=MEMBER, product=ReviewKind.ACTION_PLAN_REVIEW,
                       facts=facts, decisions={R.REPOSITORY_UPDATED: decision}, as_of=AS_OF)  # fmt: skip
    event = compliance.event(NOW)
    by_name = {r.requirement: r for r in event.requirements}
    assert by_name["repository_updated_twice_a_year"].status is MET
    assert by_name["repository_updated_twice_a_year"].overridden
    assert by_name["repository_updated_twice_a_year"].reason == "Filed on the national portal"
    assert by_name["forum_rules_public"].status is MET and by_name["forum_rules_public"].standard == 1
    assert any(str(facts[3].event_id) in e for e in by_name["forum_multi_stakeholder"].evidence)
    assert by_name["advance_notice"].status is NEE
    assert not event.minimum_met and compliance.assessed
    assert compliance.not_met == [R.OPEN_INPUT]  # co-creation closed with no round opened


def test_no_progress_on_any_commitment() -> None:
    assert no_progress(["not_started", "no_evidence", None])
    assert not no_progress(["not_started", "limited"])
    assert not no_progress([None, None])
    assert not no_progress([])


def test_dates_are_inclusive_of_the_six_month_bound() -> None:
    at_bound = [meeting(OPENED + timedelta(days=1)), meeting(date(2025, 7, 11))]
    assert status(R.FORUM_MEETS_EVERY_SIX_MONTHS, [*co_creation(), *at_bound]) is MET
