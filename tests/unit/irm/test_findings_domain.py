"""OGP's procedural review rule, on the member's record alone (no I/O).

The member's plans A, B, C, D start in 2016, 2018, 2020, 2022 (two-year plans): cycle positions
0, 1, 2, 3. ``A next`` (no new plan after A) is at position 1, the same cycle as B.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from services.irm.domain.findings import (
    Finding,
    FindingReason,
    FindingSource,
    KnownPlan,
    MemberRecord,
    next_cycle,
)
from shared.errors import Invalid, NotFound, RuleViolation
from shared.events.irm import ActedContraryToProcess, ProceduralReviewLifted, ProceduralReviewStarted

NOW = datetime(2026, 3, 1, tzinfo=UTC)
CO_CREATION = FindingReason.CO_CREATION_MINIMUM_NOT_MET
NO_PROGRESS = FindingReason.NO_PROGRESS


def record(*years: int) -> tuple[MemberRecord, list[KnownPlan]]:
    member = uuid4()
    plans = [
        KnownPlan(
            uuid4(), member, date(y, 9, 1), date(y + 2, 8, 31), submitted_at=datetime(y, 8, 1, tzinfo=UTC)
        )
        for y in years
    ]
    return MemberRecord(member, list(reversed(plans))), plans  # stored order does not matter


def about(plan: KnownPlan, reason: FindingReason = CO_CREATION, day: int = 1) -> Finding:
    return Finding.about_plan(plan, reason, found_at=datetime(2025, 1, day, tzinfo=UTC), source="irm_staff")


def overdue(plan: KnownPlan, day: int = 1) -> Finding:
    assert plan.end_date is not None
    return Finding.no_new_plan(
        member_id=plan.member_id, previous_plan_id=plan.plan_id, previous_end_date=plan.end_date,
        found_at=datetime(2025, 2, day, tzinfo=UTC),
    )  # fmt: skip


def started(events: Sequence[object]) -> list[ProceduralReviewStarted]:
    return [e for e in events if isinstance(e, ProceduralReviewStarted)]


def test_cycle_positions_follow_start_dates_and_next_is_the_cycle_after() -> None:
    rec, (a, b, c) = record(2016, 2018, 2020)
    assert [rec.position(about(p)) for p in (a, b, c)] == [0, 1, 2]
    assert rec.position(overdue(a)) == 1 == rec.position(about(b))  # the late plan's cycle
    assert rec.position(overdue(c)) == 3  # no plan there yet
    assert overdue(a).cycle == next_cycle(a.plan_id) == f"{a.plan_id}next"
    assert rec.position(about(KnownPlan(uuid4(), rec.member_id))) is None


def test_a_finding_publishes_acted_contrary_to_process_with_its_cycle() -> None:
    rec, (a,) = record(2016)
    finding = overdue(a)
    kept, events = rec.record(finding, now=NOW)
    assert kept is finding
    [event] = events
    assert isinstance(event, ActedContraryToProcess)
    assert (event.finding_id, event.cycle, event.plan_id, event.reason) == (
        finding.id, f"{a.plan_id}next", a.plan_id, "no_new_plan",
    )  # fmt: skip


def test_the_same_member_cycle_and_reason_again_is_no_new_finding() -> None:
    rec, (a,) = record(2016)
    first, _ = rec.record(overdue(a, day=1), now=NOW)
    kept, events = rec.record(overdue(a, day=2), now=NOW)  # the timer again, a day later
    assert (kept, events) == (first, [])
    assert len(rec.findings) == 1


def test_two_consecutive_cycles_start_a_procedural_review() -> None:
    rec, (a, b) = record(2016, 2018)
    first, _ = rec.record(about(a), now=NOW)
    second, events = rec.record(about(b, NO_PROGRESS), now=NOW)
    [review] = started(events)
    assert review.finding_ids == [first.id, second.id]
    assert review.member_id == rec.member_id and review.started_at == NOW
    assert review.reason == (
        "acted contrary to process in two consecutive cycles: co_creation_minimum_not_met, then no_progress"
    )
    assert rec.open_review is not None and review.procedural_review_id == rec.open_review.id


def test_two_plans_in_a_row_late_are_consecutive() -> None:
    rec, (a, b) = record(2016, 2018)
    rec.record(overdue(a), now=NOW)  # position 1 (B was late)
    _, events = rec.record(overdue(b), now=NOW)  # position 2
    assert len(started(events)) == 1


def test_findings_arriving_out_of_order_count_by_cycle() -> None:
    rec, (a, b) = record(2016, 2018)
    later, _ = rec.record(about(b), now=NOW)
    earlier, events = rec.record(about(a), now=NOW)
    [review] = started(events)
    assert review.finding_ids == [earlier.id, later.id]  # earlier cycle first


@pytest.mark.parametrize("reasons", [(CO_CREATION, NO_PROGRESS), (NO_PROGRESS, CO_CREATION)])
def test_two_findings_in_one_cycle_are_not_consecutive(reasons: tuple[FindingReason, FindingReason]) -> None:
    rec, (a, _b) = record(2016, 2018)
    rec.record(about(a, reasons[0]), now=NOW)
    _, events = rec.record(about(a, reasons[1]), now=NOW)
    assert started(events) == [] and rec.open_review is None


def test_a_late_plan_and_a_finding_on_that_plan_are_one_cycle() -> None:
    rec, (a, b) = record(2016, 2018)
    rec.record(overdue(a), now=NOW)  # the cycle after A is B's
    _, events = rec.record(about(b), now=NOW)
    assert started(events) == []


def test_a_clean_cycle_between_two_findings_means_no_procedural_review() -> None:
    rec, (a, _b, c) = record(2016, 2018, 2020)  # B: no finding
    rec.record(about(a), now=NOW)
    _, events = rec.record(about(c), now=NOW)
    assert started(events) == []


def test_a_clean_cycle_between_two_late_plans_means_no_procedural_review() -> None:
    rec, (a, _b, c) = record(2016, 2018, 2020)
    rec.record(overdue(a), now=NOW)  # position 1: B was late
    _, events = rec.record(overdue(c), now=NOW)  # position 3: C's successor late; C was clean
    assert started(events) == []


def test_a_second_open_review_is_not_started() -> None:
    rec, (a, b, c) = record(2016, 2018, 2020)
    rec.record(about(a), now=NOW)
    _, first = rec.record(about(b), now=NOW)
    _, second = rec.record(about(c), now=NOW)  # B and C are consecutive too
    assert len(started(first)) == 1 and started(second) == []
    assert len(rec.reviews) == 1


def test_a_pair_of_cycles_already_reviewed_does_not_start_another_but_the_next_pair_does() -> None:
    rec, (a, b, c) = record(2016, 2018, 2020)
    rec.record(about(a), now=NOW)
    _, events = rec.record(about(b), now=NOW)
    [review] = started(events)
    rec.lift(review.procedural_review_id or uuid4(), "co-creation redone with the forum", by="irm-1", now=NOW)
    _, again = rec.record(about(b, NO_PROGRESS), now=NOW)  # cycles A and B again
    assert started(again) == []
    _, next_pair = rec.record(about(c), now=NOW)  # B and C
    assert len(started(next_pair)) == 1


def test_a_new_plan_lifts_a_review_whose_second_finding_is_no_new_plan() -> None:
    rec, (a, b) = record(2016, 2018)
    rec.record(overdue(a), now=NOW)
    second, events = rec.record(overdue(b), now=NOW)
    [review] = started(events)
    assert b.end_date == date(2020, 8, 31)
    early = KnownPlan(uuid4(), rec.member_id, date(2020, 6, 1), date(2022, 6, 1), submitted_at=NOW)
    unsubmitted = KnownPlan(uuid4(), rec.member_id, date(2021, 1, 1), date(2023, 1, 1))
    other_member = KnownPlan(uuid4(), uuid4(), date(2021, 1, 1), date(2023, 1, 1), submitted_at=NOW)
    for plan in (early, unsubmitted, other_member):
        assert rec.plan_submitted(plan, now=NOW) == []
    new = KnownPlan(uuid4(), rec.member_id, date(2020, 8, 31), date(2022, 8, 31), submitted_at=NOW)
    [lifted] = rec.plan_submitted(new, now=NOW)
    assert isinstance(lifted, ProceduralReviewLifted)
    assert (lifted.procedural_review_id, lifted.reason) == (
        review.procedural_review_id, f"new action plan {new.plan_id} submitted",
    )  # fmt: skip
    assert rec.open_review is None and rec.plan_submitted(new, now=NOW) == []
    assert second.reason is FindingReason.NO_NEW_PLAN


def test_a_review_whose_remedy_is_already_known_is_lifted_at_once() -> None:
    rec, (a, b) = record(2016, 2018)
    late = KnownPlan(uuid4(), rec.member_id, date(2021, 3, 1), date(2023, 3, 1), submitted_at=NOW)
    rec.plans.append(late)  # plans' submission arrived before the timer's event
    rec.record(overdue(a), now=NOW)
    _, events = rec.record(overdue(b), now=NOW)
    assert [type(e) for e in events] == [
        ActedContraryToProcess,
        ProceduralReviewStarted,
        ProceduralReviewLifted,
    ]


def test_irm_staff_lift_a_review_about_co_creation_or_progress_with_a_reason() -> None:
    rec, (a, b) = record(2016, 2018)
    rec.record(about(a), now=NOW)
    _, events = rec.record(about(b, NO_PROGRESS), now=NOW)
    [review] = started(events)
    rid = review.procedural_review_id
    assert rid is not None
    assert (
        rec.plan_submitted(KnownPlan(uuid4(), rec.member_id, date(2030, 1, 1), submitted_at=NOW), now=NOW)
        == []
    )
    with pytest.raises(Invalid) as bad:
        rec.lift(rid, "  ", by="irm-1", now=NOW)
    assert bad.value.errors[0][0] == "reason"
    lifted = rec.lift(rid, "progress report shows two commitments started", by="irm-1", now=NOW)
    assert (lifted.reason, lifted.lifted_at) == ("progress report shows two commitments started", NOW)
    with pytest.raises(RuleViolation) as twice:
        rec.lift(rid, "again", by="irm-1", now=NOW)
    assert twice.value.rule == "procedural_review.not_open"
    with pytest.raises(NotFound):
        rec.lift(uuid4(), "why", by="irm-1", now=NOW)


def test_irm_staff_do_not_lift_a_review_a_new_plan_remedies() -> None:
    rec, (a,) = record(2016)
    rec.record(about(a), now=NOW)  # co-creation in A's cycle, then the next plan late
    _, events = rec.record(overdue(a), now=NOW)
    [review] = started(events)
    with pytest.raises(RuleViolation) as refused:
        rec.lift(review.procedural_review_id or uuid4(), "promised a plan", by="irm-1", now=NOW)
    assert (refused.value.rule, refused.value.field) == ("procedural_review.remedy_is_a_new_plan", None)


def test_no_new_plan_is_found_by_plans_timer_not_recorded_by_the_irm() -> None:
    _, (a,) = record(2016)
    with pytest.raises(RuleViolation) as refused:
        Finding.about_plan(a, FindingReason.NO_NEW_PLAN, found_at=NOW, source=FindingSource.IRM_STAFF)
    assert (refused.value.rule, refused.value.field) == ("finding.reason_not_recorded_by_irm", "reason")


def test_a_plan_learns_only_what_it_did_not_know() -> None:
    member, pid = uuid4(), UUID(int=1)
    plan = KnownPlan(pid, member, end_date=date(2020, 8, 31))
    plan.learn(KnownPlan(pid, member, date(2018, 9, 1), date(2021, 1, 1), submitted_at=NOW))
    assert (plan.start_date, plan.end_date, plan.submitted_at) == (date(2018, 9, 1), date(2020, 8, 31), NOW)
