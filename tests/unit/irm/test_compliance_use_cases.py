"""Compliance's reactions and use cases against the in-memory unit of work: facts kept once (and
for plans the IRM has not seen), the pre-filled compliance with its event ids, the researcher's
confirmations and overrides with their refusals, and what publishing a review fixes and finds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.irm.domain.assessments import Assessment
from services.irm.domain.compliance import Requirement
from services.irm.domain.findings import FindingReason, KnownPlan
from services.irm.domain.reviews import Review
from services.irm.reactions import reactions
from services.irm.settings import IrmSettings
from services.irm.use_cases import compliance as use_cases
from services.irm.use_cases import findings as finding_cases
from services.irm.use_cases import reviews as review_cases
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, RuleViolation
from shared.events.base import Event
from shared.events.consultation import (
    CoCreationClosed,
    CoCreationOpened,
    ConsultationClosed,
    ConsultationOpened,
    ConsultationScheduled,
    ForumEstablished,
    ForumMeetingHeld,
    MeetingPhase,
    ParticipationReported,
    ResponseTablePublished,
    RoundKind,
    Sector,
)
from shared.events.envelope import Received
from shared.events.irm import (
    ActedContraryToProcess,
    ComplianceAssessed,
    ComplianceStatus,
    ProceduralReviewStarted,
    ReviewKind,
    ReviewPublished,
    ReviewState,
    ReviewStateChanged,
)
from shared.events.plans import DocumentPublished, DocumentType, Language
from shared.scales import Completion
from tests.fakes.irm import FakeIrmUnitOfWork

R = Requirement
MET, NOT_MET, NEE = ComplianceStatus.MET, ComplianceStatus.NOT_MET, ComplianceStatus.NOT_ENOUGH_EVIDENCE
TODAY = date(2025, 9, 1)
AT = datetime(2025, 1, 10, 9, tzinfo=UTC)


def who(*roles: str, sub: str) -> Principal:
    return Principal(sub, frozenset(roles), frozenset())


IRM = who("irm", sub="irm-staff")
OGP_STAFF = who("staff", sub="ogp-staff")
RESEARCHER = who("researcher", sub="res-1")
OTHER_RESEARCHER = who("researcher", sub="res-2")
PARTICIPANT = who("participant", sub="citizen")


async def react(uow: FakeIrmUnitOfWork, event: Event, event_id: UUID | None = None) -> UUID:
    rid = event_id or uuid4()
    received = Received(
        id=rid, type=event.event_type, source="test", subject=None, time=AT, event=event, headers={}
    )
    await reactions(IrmSettings()).handlers[type(event)](uow, received)  # type: ignore[arg-type]
    return rid


class Plan:
    """A plan's co-creation told by consultation's and plans' events, each event's id kept."""

    def __init__(self, uow: FakeIrmUnitOfWork, member_id: UUID | None = None) -> None:
        self.uow, self.plan_id, self.member_id = uow, uuid4(), member_id or uuid4()
        self.forum_id = uuid4()
        self.ids: dict[str, UUID] = {}

    async def forum(self, established_on: date = date(2024, 1, 15)) -> None:
        self.ids["forum"] = await react(self.uow, ForumEstablished(
            forum_id=self.forum_id, member_id=self.member_id, name="OGP forum",
            rules_url="https://ogp.example.org/rules", established_on=established_on,
        ))  # fmt: skip

    async def meeting(
        self, held_on: date, phase: MeetingPhase = MeetingPhase.CO_CREATION, cs: int = 4
    ) -> UUID:
        return await react(self.uow, ForumMeetingHeld(
            meeting_id=uuid4(), forum_id=self.forum_id, member_id=self.member_id, held_on=held_on,
            phase=phase, plan_id=self.plan_id, agenda="Plan",
            attendance={Sector.GOVERNMENT: 3, Sector.CIVIL_SOCIETY: cs},
        ))  # fmt: skip

    async def co_creation(self, opened: datetime = AT, closed: datetime | None = None) -> None:
        self.ids["opened"] = await react(
            self.uow, CoCreationOpened(plan_id=self.plan_id, member_id=self.member_id, opened_at=opened)
        )
        if closed:
            self.ids["closed"] = await react(self.uow, CoCreationClosed(
                plan_id=self.plan_id, member_id=self.member_id, opened_at=opened, closed_at=closed,
            ))  # fmt: skip

    async def round(self, notice_days: float, *, inputs: int = 3, table: bool = True) -> UUID:
        rid = uuid4()
        opens = datetime(2025, 3, 1, tzinfo=UTC)
        scheduled = ConsultationScheduled(
            round_id=rid, plan_id=self.plan_id, member_id=self.member_id, kind=RoundKind.DRAFT_PLAN,
            title="Draft plan", opens_at=opens, closes_at=opens + timedelta(days=21),
            scheduled_at=opens - timedelta(days=notice_days), notice_days=notice_days,
            notice_days_required=14, short_notice=notice_days < 14,
        )  # fmt: skip
        self.ids["scheduled"] = await react(self.uow, scheduled)
        self.ids["round_opened"] = await react(self.uow, ConsultationOpened(
            round_id=rid, plan_id=self.plan_id, member_id=self.member_id, kind=RoundKind.DRAFT_PLAN,
            opened_at=opens, closes_at=opens + timedelta(days=21),
        ))  # fmt: skip
        await react(self.uow, ConsultationClosed(
            round_id=rid, plan_id=self.plan_id, member_id=self.member_id,
            closed_at=opens + timedelta(days=21), reason="closes_at", submissions=inputs, comments=0,
        ))  # fmt: skip
        if table:
            self.ids["table"] = await react(self.uow, ResponseTablePublished(
                table_id=uuid4(), round_id=rid, plan_id=self.plan_id, member_id=self.member_id,
                title="Comments and responses", csv_url="https://c.example.org/t.csv",
                json_url="https://c.example.org/t.json", inputs=inputs, answered=inputs,
                published_at=opens + timedelta(days=30),
            ))  # fmt: skip
        return rid

    async def document(self, on: date) -> UUID:
        return await react(self.uow, DocumentPublished(
            document_id=uuid4(), plan_id=self.plan_id, member_id=self.member_id, type=DocumentType.MINUTES,
            title="Minutes", url="https://ogp.example.org/m.pdf", language=Language.EN, published_on=on,
            published_at=datetime.combine(on, datetime.min.time(), UTC),
        ))  # fmt: skip

    async def good_co_creation(self, notice_days: float = 20) -> None:
        """Every co-creation requirement met but (maybe) the notice."""
        await self.forum()
        await self.co_creation(closed=datetime(2025, 7, 31, tzinfo=UTC))
        await self.meeting(date(2025, 2, 1))
        await self.meeting(date(2025, 7, 1))
        await self.document(date(2025, 2, 2))
        await self.document(date(2025, 7, 2))
        await self.round(notice_days)


async def review_of(
    uow: FakeIrmUnitOfWork, plan: Plan, kind: ReviewKind = ReviewKind.ACTION_PLAN_REVIEW
) -> Review:
    """The plan's review in public comment, researched by res-1 (the plan known to the findings)."""
    await finding_cases.learn_plan(
        uow, KnownPlan(plan.plan_id, plan.member_id, date(2025, 9, 1), date(2027, 8, 31), created_at=AT)
    )
    review, _ = Review.open(kind, plan.plan_id, plan.member_id, opened_on=date(2025, 8, 1),
                            due_date=date(2025, 12, 1), now=AT)  # fmt: skip
    await uow.reviews.add(review)
    researcher = await review_cases.register_researcher(
        uow, review_cases.RegisterResearcher(IRM, "res-1", "R. One")
    )
    await review_cases.assign_researcher(uow, review_cases.AssignResearcher(IRM, review.id, researcher.id))
    await review_cases.submit_draft(
        uow, review_cases.SubmitDraft(RESEARCHER, review.id, "https://irm.example.org/d")
    )
    for step in ("pre_publication", "public_comment"):
        await review_cases.move_step(uow, review_cases.MoveStep(RESEARCHER, review.id, step, TODAY))  # type: ignore[arg-type]
    uow.events.clear()
    return review


async def publish(uow: FakeIrmUnitOfWork, review: Review) -> None:
    await review_cases.publish_review(uow, review_cases.PublishReview(
        RESEARCHER, review.id, "Review", "https://irm.example.org/r.pdf", TODAY,
    ))  # fmt: skip


async def preview(
    uow: FakeIrmUnitOfWork, review: Review, viewer: Principal | None = RESEARCHER
) -> dict[R, object]:
    c = await use_cases.compliance_of(uow, use_cases.CompliancePreview(review.id, viewer, TODAY))
    return {j.requirement: j.status for j in c.requirements}


def decide(review: Review, requirement: R, status: ComplianceStatus, reason: str | None = None,
           by: Principal = RESEARCHER) -> use_cases.Decide:  # fmt: skip
    return use_cases.Decide(by, review.id, requirement, status, reason, TODAY)


# --- facts ------------------------------------------------------------------------------------


async def test_facts_are_kept_once_and_for_plans_the_irm_has_not_seen() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.good_co_creation()
    kept = dict(uow.compliance.facts_kept)
    assert uow.reviews.by_id == {} and len(kept) == 11  # no review of the plan yet: kept all the same

    # The same event again, and the same things told by new events: nothing changes.
    meeting = ForumMeetingHeld(
        meeting_id=uuid4(), forum_id=plan.forum_id, member_id=plan.member_id, held_on=date(2025, 5, 1),
        phase=MeetingPhase.CO_CREATION, agenda="x", attendance={Sector.GOVERNMENT: 1},
    )  # fmt: skip
    first = await react(uow, meeting)
    await react(uow, meeting, first)
    await react(uow, meeting)
    await react(uow, CoCreationOpened(plan_id=plan.plan_id, member_id=plan.member_id, opened_at=AT))
    assert len(uow.compliance.facts_kept) == 12
    assert uow.events == []

    report = ParticipationReported.model_validate({
        "report_id": str(uuid4()), "scope": "cycle", "plan_id": str(plan.plan_id),
        "member_id": str(plan.member_id), "rounds": 1, "short_notice_rounds": 0, "submissions": 3,
        "comments": 0, "hidden": 0, "unique_participants": 3,
        "by": {"stakeholder_type": {}, "region": {}, "gender": {}}, "offline_events": 0,
        "offline_participants": 0, "inputs_needing_response": 3, "answered": 3, "response_coverage": 1.0,
        "median_response_hours": 2.0, "forum_meetings": 3, "implementation_meetings": 0, "reported_at": AT,
    })  # fmt: skip
    kept_id = await react(uow, report)
    fact = uow.compliance.facts_kept[kept_id]
    assert (fact.plan_id, fact.figures["response_coverage"], fact.on) == (plan.plan_id, 1.0, AT.date())


# --- the pre-filled compliance ------------------------------------------------------------------


async def test_the_pre_filled_compliance_names_its_events() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.good_co_creation(notice_days=3)
    review = await review_of(uow, plan)
    c = await use_cases.compliance_of(uow, use_cases.CompliancePreview(review.id, RESEARCHER, TODAY))
    assert {j.requirement: j.status for j in c.requirements} == {r: MET for r in R if r is not R.IMPLEMENTATION_MEETINGS} | {
        R.ADVANCE_NOTICE: NOT_MET
    }  # fmt: skip
    notice = c.get(R.ADVANCE_NOTICE).prefilled
    assert (
        notice.evidence[0].event_id == plan.ids["scheduled"] and "3.0 days ahead" in notice.evidence[0].note
    )
    assert c.get(R.FORUM_RULES_PUBLIC).prefilled.evidence[0].event_id == plan.ids["forum"]
    assert c.get(R.REASONED_RESPONSE).prefilled.evidence[0].event_id == plan.ids["table"]
    assert c.get(R.OPEN_INPUT).prefilled.evidence[0].event_id == plan.ids["round_opened"]
    assert not c.minimum_met and c.not_met == [R.ADVANCE_NOTICE]


async def test_before_publication_only_staff_and_the_assigned_researcher_see_it() -> None:
    uow = FakeIrmUnitOfWork()
    review = await review_of(uow, Plan(uow))
    for viewer in (RESEARCHER, IRM, OGP_STAFF):
        assert len(await preview(uow, review, viewer)) == 7
    with pytest.raises(Forbidden):
        await preview(uow, review, OTHER_RESEARCHER)
    with pytest.raises(Forbidden):
        await preview(uow, review, PARTICIPANT)
    with pytest.raises(NotFound):
        await preview(uow, review, None)
    with pytest.raises(NotFound):
        await use_cases.compliance_of(uow, use_cases.CompliancePreview(uuid4(), IRM, TODAY))


# --- decisions ----------------------------------------------------------------------------------


async def test_the_researcher_confirms_and_overrides_with_a_reason() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.good_co_creation(notice_days=3)
    review = await review_of(uow, plan)

    with pytest.raises(RuleViolation) as err:
        await use_cases.decide(uow, decide(review, R.ADVANCE_NOTICE, MET))
    assert (err.value.rule, err.value.field) == ("compliance.override_needs_reason", "reason")
    c = await use_cases.decide(
        uow, decide(review, R.ADVANCE_NOTICE, MET, "Announced by radio four weeks ahead")
    )
    judged = c.get(R.ADVANCE_NOTICE)
    assert (judged.status, judged.prefilled.status, judged.overridden) == (MET, NOT_MET, True)
    assert judged.finding().reason == "Announced by radio four weeks ahead"
    confirmed = (await use_cases.decide(uow, decide(review, R.FORUM_RULES_PUBLIC, MET, by=IRM))).get(
        R.FORUM_RULES_PUBLIC
    )
    assert confirmed.decision is not None and not confirmed.overridden
    assert c.minimum_met and (await preview(uow, review))[R.ADVANCE_NOTICE] is MET  # all met now
    # deciding again replaces the decision
    await use_cases.decide(uow, decide(review, R.ADVANCE_NOTICE, NOT_MET))
    assert (await preview(uow, review))[R.ADVANCE_NOTICE] is NOT_MET
    assert uow.events == []


async def test_refusals() -> None:
    uow = FakeIrmUnitOfWork()
    review = await review_of(uow, Plan(uow))
    for someone in (OTHER_RESEARCHER, PARTICIPANT, OGP_STAFF):
        with pytest.raises(Forbidden):
            await use_cases.decide(uow, decide(review, R.FORUM_RULES_PUBLIC, MET, "x", by=someone))
    with pytest.raises(NotFound):
        await use_cases.decide(uow, use_cases.Decide(IRM, uuid4(), R.FORUM_RULES_PUBLIC, MET, "x", TODAY))
    with pytest.raises(RuleViolation) as err:
        await use_cases.decide(uow, decide(review, R.IMPLEMENTATION_MEETINGS, MET, "x"))
    assert (err.value.rule, err.value.field) == ("compliance.requirement_not_in_product", "requirement")

    await publish(uow, review)
    with pytest.raises(RuleViolation) as err:
        await use_cases.decide(uow, decide(review, R.FORUM_RULES_PUBLIC, MET, "x"))
    assert (err.value.rule, err.value.field) == ("compliance.review_published", None)
    assert uow.compliance.by_review == {}


# --- publication -------------------------------------------------------------------------------


async def test_publishing_an_apr_with_the_minimum_not_met_fixes_it_and_finds_the_member_contrary() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.good_co_creation(notice_days=3)
    review = await review_of(uow, plan)
    await use_cases.decide(uow, decide(review, R.FORUM_RULES_PUBLIC, NOT_MET, "The rules link is dead"))
    await publish(uow, review)

    assert [type(e) for e in uow.events] == [
        ReviewStateChanged, ReviewPublished, ComplianceAssessed, ActedContraryToProcess,
    ]  # fmt: skip
    assessed = uow.of_type(ComplianceAssessed)[0]
    assert (assessed.review_id, assessed.product, assessed.minimum_met) == (
        review.id, ReviewKind.ACTION_PLAN_REVIEW, False,
    )  # fmt: skip
    by_name = {r.requirement: r for r in assessed.requirements}
    assert by_name["advance_notice"].status is NOT_MET
    assert any(str(plan.ids["scheduled"]) in e for e in by_name["advance_notice"].evidence)
    assert (by_name["forum_rules_public"].overridden, by_name["forum_rules_public"].reason) == (
        True, "The rules link is dead",
    )  # fmt: skip
    [acted] = uow.of_type(ActedContraryToProcess)
    assert (acted.member_id, acted.plan_id, acted.reason) == (
        plan.member_id, plan.plan_id, "co_creation_minimum_not_met",
    )  # fmt: skip
    [finding] = uow.findings.findings.values()
    assert (finding.source, uow.findings.recorded_by[finding.id]) == ("review", "res-1")
    fixed = uow.compliance.fixed[review.id]
    assert fixed["minimum_met"] is False and len(fixed["requirements"]) == 7


async def test_an_apr_meeting_the_minimum_finds_nothing() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.good_co_creation()
    review = await review_of(uow, plan)
    await publish(uow, review)
    [assessed] = uow.of_type(ComplianceAssessed)
    assert assessed.minimum_met and all(r.status is MET for r in assessed.requirements)
    assert uow.of_type(ActedContraryToProcess) == []


async def test_nothing_on_record_publishes_no_assessment_and_finds_nothing() -> None:
    uow = FakeIrmUnitOfWork()
    review = await review_of(uow, Plan(uow))
    await publish(uow, review)
    assert [type(e) for e in uow.events] == [ReviewStateChanged, ReviewPublished]
    assert uow.compliance.fixed[review.id]["minimum_met"] is False  # fixed all the same


def coded(review: Review, completion: Completion | None) -> Assessment:
    return Assessment(
        review.id, review.plan_id, review.member_id, uuid4(), review.kind, completion=completion
    )


async def test_a_results_report_finds_too_few_implementation_meetings_and_no_progress() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.forum()
    only = await plan.meeting(date(2025, 3, 1), MeetingPhase.IMPLEMENTATION)
    review = await review_of(uow, plan, ReviewKind.RESULTS_REPORT)
    for completion in (Completion.NOT_STARTED, Completion.NO_EVIDENCE, None):
        await uow.assessments.save(coded(review, completion))
    await publish(uow, review)

    [assessed] = uow.of_type(ComplianceAssessed)
    [requirement] = assessed.requirements
    assert (assessed.product, requirement.requirement, requirement.status, requirement.standard) == (
        ReviewKind.RESULTS_REPORT, "implementation_meetings", NOT_MET, 5,
    )  # fmt: skip
    assert any(str(only) in e for e in requirement.evidence)
    assert sorted(e.reason for e in uow.of_type(ActedContraryToProcess)) == [
        "co_creation_minimum_not_met", "no_progress",
    ]  # fmt: skip


async def test_a_results_report_with_progress_and_two_meetings_finds_nothing() -> None:
    uow = FakeIrmUnitOfWork()
    plan = Plan(uow)
    await plan.forum()
    await plan.meeting(date(2025, 3, 1), MeetingPhase.IMPLEMENTATION)
    await plan.meeting(date(2025, 6, 1), MeetingPhase.IMPLEMENTATION)
    review = await review_of(uow, plan, ReviewKind.RESULTS_REPORT)
    await uow.assessments.save(coded(review, Completion.NOT_STARTED))
    await uow.assessments.save(coded(review, Completion.LIMITED))
    await publish(uow, review)
    assert uow.of_type(ComplianceAssessed)[0].minimum_met
    assert uow.of_type(ActedContraryToProcess) == []


async def test_no_progress_needs_a_coded_completion() -> None:
    uow = FakeIrmUnitOfWork()
    review = await review_of(uow, Plan(uow), ReviewKind.RESULTS_REPORT)
    await uow.assessments.save(coded(review, None))
    await publish(uow, review)
    assert uow.of_type(ActedContraryToProcess) == []


async def test_findings_of_two_consecutive_cycles_start_a_procedural_review() -> None:
    uow = FakeIrmUnitOfWork()
    member = uuid4()
    earlier = uuid4()
    await finding_cases.learn_plan(uow, KnownPlan(earlier, member, date(2023, 9, 1), date(2025, 8, 31)))
    await finding_cases.record_finding(uow, finding_cases.RecordFinding(
        earlier, FindingReason.NO_PROGRESS, "irm_staff", by="irm-staff",
    ))  # fmt: skip
    plan = Plan(uow, member)
    await plan.good_co_creation(notice_days=2)
    review = await review_of(uow, plan)
    uow.events.clear()
    await publish(uow, review)
    [started] = uow.of_type(ProceduralReviewStarted)
    assert started.member_id == member and len(started.finding_ids) == 2


async def test_a_published_review_state_is_required_to_fix_compliance() -> None:
    uow = FakeIrmUnitOfWork()
    review = await review_of(uow, Plan(uow))
    assert review.state is ReviewState.PUBLIC_COMMENT
    with pytest.raises(ValueError, match="published"):
        await use_cases.fix_on_publish(uow, review, today=TODAY, by="x")
