"""Findings' use cases against the in-memory unit of work: plans' events build the cycles,
plans' timer and IRM staff record findings, the rule starts and lifts procedural reviews."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from services.irm.domain.findings import FindingReason, FindingSource, KnownPlan
from services.irm.use_cases import findings as use_cases
from shared.errors import NotFound, RuleViolation
from shared.events.irm import ActedContraryToProcess, ProceduralReviewLifted, ProceduralReviewStarted
from tests.fakes.irm import FakeIrmUnitOfWork

AT = datetime(2025, 1, 1, tzinfo=UTC)


async def plan(uow: FakeIrmUnitOfWork, member: UUID, year: int, *, submitted: bool = True) -> KnownPlan:
    """Created, then (maybe) submitted: the two events the reactions pass on."""
    pid = uuid4()
    await use_cases.learn_plan(
        uow, KnownPlan(pid, member, date(year, 9, 1), date(year + 2, 8, 31), created_at=AT)
    )
    if submitted:
        await use_cases.learn_plan(uow, KnownPlan(pid, member, submitted_at=datetime(year, 8, 1, tzinfo=UTC)))
    known = await uow.findings.plan(pid)
    assert known is not None
    return known


async def overdue(uow: FakeIrmUnitOfWork, previous: KnownPlan) -> use_cases.Recorded:
    assert previous.end_date is not None
    return await use_cases.record_overdue(
        uow, use_cases.RecordOverdue(previous.member_id, previous.plan_id, previous.end_date, AT)
    )


async def test_two_late_plans_in_a_row_start_a_review_and_the_next_plan_lifts_it() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    a = await plan(uow, member, 2016)
    b = await plan(uow, member, 2018)  # late: A's successor was overdue
    first = await overdue(uow, a)
    second = await overdue(uow, b)
    assert [type(e) for e in uow.events] == [
        ActedContraryToProcess,
        ActedContraryToProcess,
        ProceduralReviewStarted,
    ]
    started = uow.of_type(ProceduralReviewStarted)[0]
    assert started.finding_ids == [first.finding.id, second.finding.id]
    assert uow.findings.recorded_by[first.finding.id] == "plans"
    [review] = uow.findings.reviews.values()
    assert review.is_open and started.procedural_review_id == review.id

    c = await plan(uow, member, 2021, submitted=False)
    assert uow.of_type(ProceduralReviewLifted) == []  # created is not submitted
    await use_cases.learn_plan(uow, KnownPlan(c.plan_id, member, submitted_at=AT))
    [lifted] = uow.of_type(ProceduralReviewLifted)
    assert (lifted.member_id, lifted.procedural_review_id) == (member, review.id)
    assert lifted.reason == f"new action plan {c.plan_id} submitted"
    assert not uow.findings.reviews[review.id].is_open
    assert uow.findings.reviews[review.id].lifted_by == "plans"


async def test_a_clean_cycle_between_means_no_procedural_review() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    a = await plan(uow, member, 2016)
    await plan(uow, member, 2018)  # late (position 1)
    c = await plan(uow, member, 2020)  # on time: clean (position 2)
    await overdue(uow, a)
    await overdue(uow, c)  # position 3
    assert len(uow.of_type(ActedContraryToProcess)) == 2
    assert uow.of_type(ProceduralReviewStarted) == []


async def test_a_repeated_timer_event_or_a_replay_changes_nothing() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    a = await plan(uow, member, 2016)
    first = await overdue(uow, a)
    again = await overdue(uow, a)
    assert first.created and not again.created and again.finding == first.finding
    assert len(uow.events) == 1 and len(uow.findings.findings) == 1
    before = dict(uow.findings.plans)
    await use_cases.learn_plan(
        uow, KnownPlan(a.plan_id, member, date(2000, 1, 1), date(2001, 1, 1), created_at=AT)
    )
    assert (
        uow.findings.plans[a.plan_id].start_date == date(2016, 9, 1)
        and uow.findings.plans.keys() == before.keys()
    )


async def test_events_for_unknown_plans_are_kept() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    previous, submitted = uuid4(), uuid4()
    await use_cases.record_overdue(uow, use_cases.RecordOverdue(member, previous, date(2024, 8, 31), AT))
    await use_cases.learn_plan(uow, KnownPlan(submitted, member, submitted_at=AT))  # never seen created
    assert uow.findings.plans[previous].end_date == date(2024, 8, 31)
    assert uow.findings.plans[submitted].submitted_at == AT
    [finding] = uow.findings.findings.values()
    assert (finding.cycle, finding.reason) == (f"{previous}next", FindingReason.NO_NEW_PLAN)


async def test_irm_staff_record_a_finding_about_a_plan() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    a = await plan(uow, member, 2016)
    cmd = use_cases.RecordFinding(
        a.plan_id, FindingReason.CO_CREATION_MINIMUM_NOT_MET, FindingSource.IRM_STAFF, by="irm-1"
    )
    recorded = await use_cases.record_finding(uow, cmd)
    assert recorded.created and recorded.finding.cycle == str(a.plan_id)
    assert (recorded.finding.member_id, recorded.finding.source) == (member, "irm_staff")
    assert uow.findings.recorded_by[recorded.finding.id] == "irm-1"
    [event] = uow.events
    assert isinstance(event, ActedContraryToProcess) and event.cycle == str(a.plan_id)
    assert not (await use_cases.record_finding(uow, cmd)).created
    assert len(uow.events) == 1


async def test_a_published_review_records_its_finding_through_the_same_use_case() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    a = await plan(uow, member, 2016)
    b = await plan(uow, member, 2018)
    review = f"{FindingSource.REVIEW.value}"
    for p in (a, b):
        await use_cases.record_finding(
            uow,
            use_cases.RecordFinding(p.plan_id, FindingReason.CO_CREATION_MINIMUM_NOT_MET, review, by="irm"),
        )
    assert len(uow.of_type(ProceduralReviewStarted)) == 1


async def test_refusals() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    with pytest.raises(NotFound):
        await use_cases.record_finding(
            uow,
            use_cases.RecordFinding(uuid4(), FindingReason.NO_PROGRESS, FindingSource.IRM_STAFF, by="irm-1"),
        )
    a = await plan(uow, member, 2016)
    with pytest.raises(RuleViolation) as refused:
        await use_cases.record_finding(
            uow,
            use_cases.RecordFinding(
                a.plan_id, FindingReason.NO_NEW_PLAN, FindingSource.IRM_STAFF, by="irm-1"
            ),
        )
    assert (refused.value.rule, refused.value.field) == ("finding.reason_not_recorded_by_irm", "reason")
    with pytest.raises(NotFound):
        await use_cases.lift_procedural_review(
            uow, use_cases.LiftProceduralReview(uuid4(), "fixed", by="irm-1")
        )
    assert uow.events == []


async def test_irm_staff_lift_a_review_about_progress() -> None:
    uow, member = FakeIrmUnitOfWork(), uuid4()
    a = await plan(uow, member, 2016)
    b = await plan(uow, member, 2018)
    for p in (a, b):
        await use_cases.record_finding(
            uow,
            use_cases.RecordFinding(
                p.plan_id, FindingReason.NO_PROGRESS, FindingSource.IRM_STAFF, by="irm-1"
            ),
        )
    [review] = uow.findings.reviews.values()
    lifted = await use_cases.lift_procedural_review(
        uow, use_cases.LiftProceduralReview(review.id, "implementation resumed", by="irm-2")
    )
    assert (lifted.lift_reason, lifted.lifted_by) == ("implementation resumed", "irm-2")
    assert not uow.findings.reviews[review.id].is_open
    [event] = uow.of_type(ProceduralReviewLifted)
    assert event.reason == "implementation resumed"
    with pytest.raises(RuleViolation) as again:
        await use_cases.lift_procedural_review(
            uow, use_cases.LiftProceduralReview(review.id, "again", by="irm-2")
        )
    assert again.value.rule == "procedural_review.not_open"
