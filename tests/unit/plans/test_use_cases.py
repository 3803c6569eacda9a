"""Every plans use case against the in-memory unit of work: what it changes and publishes, and
each refusal (the rule or error kind, and that nothing was published)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.plans.domain.deadlines import milestone_overdue
from services.plans.domain.eligibility import EligibilityInput
from services.plans.use_cases import commitments, deadlines, documents, members, milestones, plans
from services.plans.use_cases.documents import FileDocument, Filing
from services.plans.use_cases.members import IrmFinding
from shared.errors import DomainError, Forbidden, Invalid, NotFound, RuleViolation
from shared.events.plans import (
    CommitmentAdded,
    CommitmentAdopted,
    CommitmentState,
    CommitmentStateChanged,
    CommitmentUpdated,
    CommitmentWithdrawn,
    ContactRegistered,
    DocumentPublished,
    DocumentType,
    EligibilityScored,
    Language,
    MemberCreated,
    MemberKind,
    MemberStatus,
    MemberStatusChanged,
    MilestoneAdded,
    MilestoneCompleted,
    MilestoneDelayed,
    MilestoneOverdue,
    MilestoneProgressUpdated,
    MilestoneStatus,
    PlanCreated,
    PlanImplementationStarted,
    PlanState,
    PlanStateChanged,
    PlanSubmitted,
    SelfAssessedCompletion,
    SelfAssessmentRecorded,
)
from tests.fakes.plans import FakePlansUnitOfWork
from tests.unit.plans.conftest import STAFF, commitment, government, member, milestone, plan

#: How a change by STAFF is recorded: the person id of the token subject "staff-1", never the subject.
STAFF_ID = "50bc2266-11ad-5016-a6d4-e30e5421f697"

OTHER_GOVERNMENT = government(uuid4())


@pytest.fixture
def uow() -> FakePlansUnitOfWork:
    return FakePlansUnitOfWork()


async def refused(
    uow: FakePlansUnitOfWork, call: object, kind: type[DomainError] = RuleViolation
) -> DomainError:
    """Run the use-case call, expect ``kind`` and no event."""
    mark = len(uow.events)
    with pytest.raises(kind) as err:
        await call  # type: ignore[misc]
    assert uow.events[mark:] == []
    return err.value


# --- members ---------------------------------------------------------------------------------


async def test_create_member(uow: FakePlansUnitOfWork) -> None:
    m = await members.create_member(uow, members.CreateMember("Nairobi", MemberKind.LOCAL, "KE", "Africa"))
    assert uow.members.by_id[m.id].status is MemberStatus.PARTICIPATING
    [event] = uow.events
    assert isinstance(event, MemberCreated) and (event.member_id, event.kind) == (m.id, MemberKind.LOCAL)


async def test_change_member_status_keeps_history_and_says_so(uow: FakePlansUnitOfWork) -> None:
    member_id = await member(uow)
    uow.events.clear()
    change = await members.change_member_status(
        uow, members.ChangeMemberStatus(member_id, MemberStatus.INACTIVE, "no plan for years", by="staff-1")
    )
    assert (change.from_status, change.to_status) == (MemberStatus.PARTICIPATING, MemberStatus.INACTIVE)
    assert uow.members.by_id[member_id].status is MemberStatus.INACTIVE
    [event] = uow.events
    assert isinstance(event, MemberStatusChanged) and event.source == "staff"


async def test_member_status_refusals(uow: FakePlansUnitOfWork) -> None:
    member_id = await member(uow)
    await members.change_member_status(
        uow, members.ChangeMemberStatus(member_id, MemberStatus.INACTIVE, "gone quiet", by="s")
    )
    err = await refused(uow, members.change_member_status(
        uow, members.ChangeMemberStatus(member_id, MemberStatus.UNDER_PROCEDURAL_REVIEW, "x", by="s")))  # fmt: skip
    assert isinstance(err, RuleViolation) and (err.rule, err.field) == (
        "member.transition_not_allowed",
        None,
    )
    await refused(uow, members.change_member_status(
        uow, members.ChangeMemberStatus(uuid4(), MemberStatus.INACTIVE, "x", by="s")), NotFound)  # fmt: skip


async def test_findings_and_the_irms_procedural_review(uow: FakePlansUnitOfWork) -> None:
    member_id = await member(uow)
    at = datetime(2025, 5, 1, tzinfo=UTC)
    finding = IrmFinding(member_id, "no forum", "ogp.irm.acted_contrary_to_process.v1", at)
    first = await members.record_contrary_finding(uow, finding)
    second = await members.record_contrary_finding(uow, finding)
    assert first is not None and first.to_status is MemberStatus.ACTED_CONTRARY_TO_PROCESS
    # Two findings are not a procedural review by themselves: the IRM counts cycles and says so.
    assert second is not None and second.to_status is MemberStatus.ACTED_CONTRARY_TO_PROCESS
    review = await members.start_procedural_review(uow, finding)
    assert review is not None and review.to_status is MemberStatus.UNDER_PROCEDURAL_REVIEW
    uow.events.clear()
    assert await members.record_contrary_finding(uow, finding) is None  # already under review
    assert await members.start_procedural_review(uow, finding) is None
    assert uow.events == []
    lifted = await members.lift_procedural_review(uow, finding)
    assert lifted is not None and (lifted.to_status, lifted.changed_by) == (MemberStatus.PARTICIPATING, "irm")
    assert await members.lift_procedural_review(uow, finding) is None  # not under review any more


async def test_irm_findings_about_unknown_members_are_ignored(uow: FakePlansUnitOfWork) -> None:
    finding = IrmFinding(uuid4(), "r", "t", datetime(2025, 1, 1, tzinfo=UTC))
    assert await members.record_contrary_finding(uow, finding) is None
    assert await members.start_procedural_review(uow, finding) is None
    assert uow.events == []


async def test_score_eligibility(uow: FakePlansUnitOfWork) -> None:
    member_id = await member(uow)
    uow.events.clear()
    inputs = EligibilityInput(year=2024, budget_proposal_published=True, audit_report_published=True,
                              access_to_information="law", asset_disclosure_law=True, civil_liberties=4)  # fmt: skip
    result = await members.score_eligibility(uow, members.ScoreEligibility(member_id, inputs, "staff-1"))
    assert (result.points_earned, result.points_possible, result.member_id) == (14, 16, member_id)
    assert (member_id, 2024) in uow.members.scores
    [event] = uow.events
    assert isinstance(event, EligibilityScored) and event.status == "eligible"
    await refused(
        uow, members.score_eligibility(uow, members.ScoreEligibility(uuid4(), inputs, "s")), NotFound
    )


# --- plans -----------------------------------------------------------------------------------


async def test_create_plan(uow: FakePlansUnitOfWork) -> None:
    member_id = await member(uow, MemberKind.PARLIAMENT)
    uow.events.clear()
    p = await plans.create_plan(uow, plans.CreatePlan(
        government(member_id), member_id, "Open parliament", date(2024, 1, 1), date(2028, 1, 1),
        plans.ContactDetails("Clerk"),
    ))  # fmt: skip
    assert (p.state, p.length_years, p.action_plan_number, [s.value for s in p.strands]) == (
        PlanState.DRAFT, 4, 1, ["open_parliament"],
    )  # fmt: skip
    contact, created = uow.events
    assert isinstance(contact, ContactRegistered) and contact.contact_id == p.point_of_contact_id
    assert isinstance(created, PlanCreated) and created.plan_id == p.id


async def test_create_plan_refusals(uow: FakePlansUnitOfWork) -> None:
    member_id = await member(uow)
    contact = plans.ContactDetails("A")

    def cmd(who: object = STAFF, mid: object = member_id, end: date = date(2027, 1, 1)) -> plans.CreatePlan:
        return plans.CreatePlan(who, mid, "P", date(2025, 1, 1), end, contact)  # type: ignore[arg-type]

    await refused(uow, plans.create_plan(uow, cmd(who=OTHER_GOVERNMENT)), Forbidden)
    err = await refused(uow, plans.create_plan(uow, cmd(mid=uuid4())), Invalid)
    assert isinstance(err, Invalid) and err.errors == [("member_id", "unknown member")]
    err = await refused(uow, plans.create_plan(uow, cmd(end=date(2026, 1, 1))))
    assert isinstance(err, RuleViolation) and (err.rule, err.field) == ("plan.length", "end_date")
    err = await refused(uow, plans.create_plan(uow, cmd(end=date(2024, 1, 1))))
    assert isinstance(err, RuleViolation) and err.rule == "plan.dates_inverted"


async def test_submitting_adopts_the_commitments_between_the_plans_events(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    uow.events.clear()
    submitted = await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    assert submitted.state is PlanState.SUBMITTED and submitted.submitted_at is not None
    assert [type(e) for e in uow.events] == [
        PlanStateChanged,
        CommitmentStateChanged,
        CommitmentAdopted,
        PlanSubmitted,
    ]
    assert uow.commitments.by_id[c.id].state is CommitmentState.ADOPTED
    assert uow.commitments.history[-1][1:3] == (
        "state_changed",
        {"state": {"from": "drafted", "to": "adopted"}},
    )
    uow.events.clear()
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.IMPLEMENTING))
    assert isinstance(uow.events[-1], PlanImplementationStarted)


async def test_plan_transition_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.DRAFT)
    err = await refused(
        uow, plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    )
    assert isinstance(err, RuleViolation) and err.rule == "plan.transition_not_allowed"
    assert err.message == "a plan in state draft cannot move to submitted (allowed: co_creation)"
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.CO_CREATION))
    uow.events.clear()
    err = await refused(
        uow, plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    )
    assert isinstance(err, RuleViolation) and err.rule == "plan.submit_without_commitments"
    await refused(
        uow,
        plans.transition_plan(uow, plans.TransitionPlan(OTHER_GOVERNMENT, p.id, PlanState.SUBMITTED)),
        Forbidden,
    )
    await refused(
        uow, plans.transition_plan(uow, plans.TransitionPlan(STAFF, uuid4(), PlanState.SUBMITTED)), NotFound
    )
    two_years = await plan(uow, PlanState.IMPLEMENTING)
    err = await refused(
        uow, plans.transition_plan(uow, plans.TransitionPlan(STAFF, two_years.id, PlanState.REFRESHING))
    )
    assert isinstance(err, RuleViolation) and err.rule == "plan.refresh_needs_four_years"
    four_years = await plan(uow, PlanState.REFRESHING, years=4)
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, four_years.id, PlanState.IMPLEMENTING))
    err = await refused(
        uow, plans.transition_plan(uow, plans.TransitionPlan(STAFF, four_years.id, PlanState.REFRESHING))
    )
    assert isinstance(err, RuleViolation) and err.rule == "plan.refresh_once"


# --- commitments -----------------------------------------------------------------------------


async def test_add_commitment(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitments.add_commitment(uow, commitments.AddCommitment(STAFF, p.id, {
        "texts": {"title": {"fr": "Publier", "en": "Publish"}}, "original_language": "fr",
        "value_access_to_information": True, "value_technology_innovation": True,
    }))  # fmt: skip
    assert (c.number, c.title, c.state, c.member_id) == (1, "Publier", CommitmentState.DRAFTED, p.member_id)
    [event] = uow.events
    assert isinstance(event, CommitmentAdded) and event.commitment.title == {"fr": "Publier", "en": "Publish"}
    assert uow.commitments.history[-1][1] == "created"


async def test_add_commitment_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)

    def add(columns: dict[str, object], who: object = STAFF, plan_id: object = p.id) -> object:
        return commitments.add_commitment(uow, commitments.AddCommitment(who, plan_id, columns))  # type: ignore[arg-type]

    title = {"texts": {"title": {"en": "T"}}, "original_language": "en"}
    err = await refused(uow, add({**title, "value_technology_innovation": True}))
    assert isinstance(err, RuleViolation) and (err.rule, err.field) == (
        "commitment.technology_alone", "values.technology_innovation")  # fmt: skip
    err = await refused(uow, add({**title, "original_language": "fr"}))
    assert isinstance(err, RuleViolation) and (err.rule, err.field) == (
        "commitment.original_missing",
        "title",
    )
    err = await refused(
        uow, add({**title, "start_date": date(2025, 6, 1), "end_date": date(2025, 1, 1)}), Invalid
    )
    assert isinstance(err, Invalid) and err.errors == [("end_date", "end_date must not be before start_date")]
    await refused(uow, add(title, who=OTHER_GOVERNMENT), Forbidden)
    await refused(uow, add(title, plan_id=uuid4()), NotFound)
    submitted = await plan(uow, PlanState.SUBMITTED)
    err = await refused(uow, add(title, plan_id=submitted.id))
    assert isinstance(err, RuleViolation) and err.rule == "plan.commitments_frozen"
    assert err.message == "commitments cannot be added to a plan in state submitted"


async def test_update_commitment_merges_texts_and_records_the_diff(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id, "Old")
    uow.events.clear()
    updated = await commitments.update_commitment(uow, commitments.UpdateCommitment(
        STAFF, c.id, {"texts": {"title": {"en": "New"}, "problem": {"en": "Opaque"}}}, expected_version=1))  # fmt: skip
    assert (updated.title, updated.version, updated.texts["problem"]) == ("New", 2, {"en": "Opaque"})
    [event] = uow.events
    assert isinstance(event, CommitmentUpdated) and event.changed_fields == ["texts", "title"]
    assert uow.commitments.history[-1][1:4] == (
        "updated", {"texts": {"from": {"title": {"en": "Old"}}, "to": {"title": {"en": "New"}, "problem": {"en": "Opaque"}}},
                    "title": {"from": "Old", "to": "New"}}, 2)  # fmt: skip
    uow.events.clear()
    same = await commitments.update_commitment(
        uow, commitments.UpdateCommitment(STAFF, c.id, {"lead_agency": None})
    )
    assert same.version == 2 and uow.events == []  # nothing differs: nothing written or said


async def test_update_commitment_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    uow.events.clear()
    err = await refused(uow, commitments.update_commitment(
        uow, commitments.UpdateCommitment(STAFF, c.id, {"lead_agency": "X"}, expected_version=7)))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "commitment.version_mismatch"
    assert err.message == "the commitment is at version 1, not 7"
    await refused(
        uow, commitments.update_commitment(uow, commitments.UpdateCommitment(STAFF, uuid4(), {})), NotFound
    )
    await refused(uow, commitments.update_commitment(
        uow, commitments.UpdateCommitment(OTHER_GOVERNMENT, c.id, {"lead_agency": "X"})), Forbidden)  # fmt: skip
    err = await refused(uow, commitments.update_commitment(
        uow, commitments.UpdateCommitment(STAFF, c.id, {"value_technology_innovation": True})))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "commitment.technology_alone"
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    uow.events.clear()
    err = await refused(uow, commitments.update_commitment(
        uow, commitments.UpdateCommitment(STAFF, c.id, {"lead_agency": "X"})))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "commitment.frozen"
    assert err.message == "a commitment of a plan in state submitted cannot be edited"


async def test_a_correction_ignores_the_plan_state_and_is_recorded_as_imported(
    uow: FakePlansUnitOfWork,
) -> None:
    await plan(uow, PlanState.IMPLEMENTING)
    [c] = uow.commitments.by_id.values()
    revised = await commitments.correct_commitment(
        uow, commitments.CorrectCommitment(c.id, {"lead_agency": "Ministry", "irm": {"legacy_import": {}}}, by="importer"))  # fmt: skip
    assert revised is not None and revised.lead_agency == "Ministry"
    assert uow.commitments.history[-1][1] == "imported"
    [event] = uow.events
    assert isinstance(event, CommitmentUpdated) and event.changed_fields == ["irm", "lead_agency"]
    uow.events.clear()
    again = await commitments.correct_commitment(
        uow, commitments.CorrectCommitment(c.id, {"lead_agency": "Ministry"}, by="importer"))  # fmt: skip
    assert again is None and uow.events == []
    err = await refused(uow, commitments.correct_commitment(
        uow, commitments.CorrectCommitment(c.id, {"value_technology_innovation": True}, by="importer")))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "commitment.technology_alone"


async def test_withdraw_a_commitment(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    uow.events.clear()
    moved = await commitments.transition_commitment(
        uow, commitments.TransitionCommitment(STAFF, c.id, CommitmentState.WITHDRAWN, "merged"))  # fmt: skip
    assert moved.state is CommitmentState.WITHDRAWN
    changed, withdrawn = uow.events
    assert isinstance(changed, CommitmentStateChanged) and isinstance(withdrawn, CommitmentWithdrawn)
    assert withdrawn.reason == "merged"
    assert uow.commitments.history[-1][2] == {
        "state": {"from": "drafted", "to": "withdrawn"},
        "reason": "merged",
    }


async def test_commitment_transition_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    uow.events.clear()
    err = await refused(uow, commitments.transition_commitment(
        uow, commitments.TransitionCommitment(STAFF, c.id, CommitmentState.WITHDRAWN)), Invalid)  # fmt: skip
    assert isinstance(err, Invalid) and err.errors == [("reason", "a withdrawal needs a public reason")]
    err = await refused(uow, commitments.transition_commitment(
        uow, commitments.TransitionCommitment(STAFF, c.id, CommitmentState.ENDED)))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "commitment.transition_not_allowed"
    await refused(uow, commitments.transition_commitment(
        uow, commitments.TransitionCommitment(OTHER_GOVERNMENT, c.id, CommitmentState.ADOPTED)), Forbidden)  # fmt: skip
    await refused(uow, commitments.transition_commitment(
        uow, commitments.TransitionCommitment(STAFF, uuid4(), CommitmentState.ADOPTED)), NotFound)  # fmt: skip


async def test_self_assessment(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.IMPLEMENTING)
    [c] = uow.commitments.by_id.values()
    value = await commitments.record_self_assessment(
        uow, commitments.RecordSelfAssessment(STAFF, c.id, SelfAssessedCompletion.COMPLETED, note="done"))  # fmt: skip
    assert (value["completion"], value["note"], value["recorded_by"]) == ("completed", "done", STAFF_ID)
    [event] = uow.events
    assert isinstance(event, SelfAssessmentRecorded) and event.plan_id == p.id
    draft = await plan(uow, PlanState.CO_CREATION)
    d = await commitment(uow, draft.id)
    uow.events.clear()
    err = await refused(uow, commitments.record_self_assessment(
        uow, commitments.RecordSelfAssessment(STAFF, d.id, SelfAssessedCompletion.COMPLETED)))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "self_assessment.not_open"
    await refused(uow, commitments.record_self_assessment(
        uow, commitments.RecordSelfAssessment(STAFF, uuid4(), SelfAssessedCompletion.COMPLETED)), NotFound)  # fmt: skip
    await refused(uow, commitments.record_self_assessment(
        uow, commitments.RecordSelfAssessment(OTHER_GOVERNMENT, c.id, SelfAssessedCompletion.COMPLETED)), Forbidden)  # fmt: skip


async def test_irm_assessment_sets_one_product_block(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    await commitments.record_irm_assessment(
        uow, commitments.RecordIrmAssessment(c.id, "apr", {"verifiable": True})
    )
    assert uow.commitments.by_id[c.id].irm == {"apr": {"verifiable": True}}


# --- milestones ------------------------------------------------------------------------------


async def test_add_milestone_and_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    uow.events.clear()
    m = await milestones.add_milestone(uow, milestones.AddMilestone(
        STAFF, c.id, milestones.MilestoneText("Draft law"), milestones.MilestoneText({"fr": "Projet"}),
        end_date=date(2026, 1, 1), weight=2))  # fmt: skip
    assert (m.number, m.texts) == (1, {"title": {"en": "Draft law"}, "deliverable": {"fr": "Projet"}})
    [event] = uow.events
    assert isinstance(event, MilestoneAdded) and (event.weight, event.member_id) == (2.0, p.member_id)
    err = await refused(uow, milestones.add_milestone(uow, milestones.AddMilestone(
        STAFF, c.id, milestones.MilestoneText("x"), start_date=date(2026, 2, 1), end_date=date(2026, 1, 1))), Invalid)  # fmt: skip
    assert isinstance(err, Invalid) and err.errors[0][0] == "end_date"
    await refused(uow, milestones.add_milestone(
        uow, milestones.AddMilestone(STAFF, uuid4(), milestones.MilestoneText("x"))), NotFound)  # fmt: skip
    await refused(uow, milestones.add_milestone(
        uow, milestones.AddMilestone(OTHER_GOVERNMENT, c.id, milestones.MilestoneText("x"))), Forbidden)  # fmt: skip
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    uow.events.clear()
    err = await refused(uow, milestones.add_milestone(
        uow, milestones.AddMilestone(STAFF, c.id, milestones.MilestoneText("x"))))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "plan.commitments_frozen"
    assert err.message == "milestones cannot be added to a plan in state submitted"


async def test_progress_rolls_up_by_weight(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    light, heavy = await milestone(uow, c.id, 1), await milestone(uow, c.id, 3)
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    uow.events.clear()
    done = await milestones.report_progress(
        uow, milestones.ReportProgress(STAFF, light.id, MilestoneStatus.COMPLETED, 40))  # fmt: skip
    assert (done.status, done.progress, done.completed_at is not None) == (
        MilestoneStatus.COMPLETED,
        100,
        True,
    )
    updated, completed = uow.events
    assert isinstance(updated, MilestoneProgressUpdated) and isinstance(completed, MilestoneCompleted)
    assert (updated.commitment_progress, updated.plan_progress) == (25.0, 25.0)
    uow.events.clear()
    await milestones.report_progress(uow, milestones.ReportProgress(
        STAFF, heavy.id, MilestoneStatus.DELAYED, 10, end_date=date(2027, 6, 1)))  # fmt: skip
    assert [type(e) for e in uow.events] == [MilestoneProgressUpdated, MilestoneDelayed]
    uow.events.clear()
    kept = await milestones.report_progress(
        uow, milestones.ReportProgress(STAFF, heavy.id, MilestoneStatus.DELAYED, None)
    )
    assert kept.progress == 10 and [type(e) for e in uow.events] == [MilestoneProgressUpdated]  # delayed once
    assert len(uow.milestones.reports) == 3


async def test_progress_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    c = await commitment(uow, p.id)
    m = await milestone(uow, c.id)
    uow.events.clear()

    def report(
        status: MilestoneStatus, progress: int | None, who: object = STAFF, mid: object = m.id
    ) -> object:
        return milestones.report_progress(uow, milestones.ReportProgress(who, mid, status, progress))  # type: ignore[arg-type]

    err = await refused(uow, report(MilestoneStatus.IN_PROGRESS, 10))
    assert isinstance(err, RuleViolation) and err.rule == "plan.progress_not_open"
    assert err.message == "progress is reported once the plan is submitted, not in co_creation"
    await plans.transition_plan(uow, plans.TransitionPlan(STAFF, p.id, PlanState.SUBMITTED))
    uow.events.clear()
    err = await refused(uow, report(MilestoneStatus.IN_PROGRESS, 100))
    assert isinstance(err, RuleViolation) and (err.rule, err.field) == (
        "milestone.progress_complete",
        "progress",
    )
    err = await refused(uow, report(MilestoneStatus.IN_PROGRESS, 101))
    assert isinstance(err, RuleViolation) and err.rule == "milestone.progress_range"
    await refused(uow, report(MilestoneStatus.IN_PROGRESS, 1, who=OTHER_GOVERNMENT), Forbidden)
    await refused(uow, report(MilestoneStatus.IN_PROGRESS, 1, mid=uuid4()), NotFound)
    await milestones.report_progress(
        uow, milestones.ReportProgress(STAFF, m.id, MilestoneStatus.CANCELLED, 0)
    )
    uow.events.clear()
    err = await refused(uow, report(MilestoneStatus.IN_PROGRESS, 1))
    assert isinstance(err, RuleViolation) and (err.rule, err.field) == (
        "milestone.transition_not_allowed",
        "status",
    )


# --- documents ---------------------------------------------------------------------------------


async def test_publish_document_and_refusals(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    cmd = documents.PublishDocument(STAFF, p.id, DocumentType.MINUTES, "Minutes", "https://example.org/m.pdf",
                                    Language.EN, date(2025, 3, 1))  # fmt: skip
    d = await documents.publish_document(uow, cmd)
    assert uow.documents.by_id[d.id].created_by == STAFF_ID
    [event] = uow.events
    assert isinstance(event, DocumentPublished) and event.document_id == d.id
    uow.events.clear()
    await refused(uow, documents.publish_document(uow, documents.PublishDocument(
        OTHER_GOVERNMENT, p.id, cmd.type, cmd.title, cmd.url, cmd.language, cmd.published_on)), Forbidden)  # fmt: skip
    await refused(uow, documents.publish_document(uow, documents.PublishDocument(
        STAFF, uuid4(), cmd.type, cmd.title, cmd.url, cmd.language, cmd.published_on)), NotFound)  # fmt: skip


async def test_a_consultation_document_is_filed_and_announced_once(uow: FakePlansUnitOfWork) -> None:
    p = await plan(uow, PlanState.CO_CREATION)
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)

    def filing(plan_id: object = p.id, member_id: object = p.member_id) -> FileDocument:
        return FileDocument(doc_id, plan_id, member_id, DocumentType.MINUTES, "Minutes",  # type: ignore[arg-type]
                            "https://example.org/m", at.date(), at, by="consultation")  # fmt: skip

    doc_id = uuid4()
    assert await documents.file_document(uow, filing()) is Filing.FILED
    assert await documents.file_document(uow, filing()) is Filing.REPEAT
    assert await documents.file_document(uow, filing(plan_id=uuid4())) is Filing.UNKNOWN_PLAN
    assert await documents.file_document(uow, filing(member_id=uuid4())) is Filing.OTHER_MEMBER
    [event] = uow.events
    assert isinstance(event, DocumentPublished) and (event.document_id, event.published_at) == (doc_id, at)


# --- timers ------------------------------------------------------------------------------------


async def test_each_occurrence_is_emitted_once(uow: FakePlansUnitOfWork) -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    mid = uuid4()
    event = milestone_overdue(plan_id=uuid4(), commitment_id=uuid4(), milestone_id=mid, member_id=uuid4(),
                              number=1, end_date=date(2026, 1, 1), now=now)  # fmt: skip
    found = [deadlines.Occurrence(mid, "2026-01-01", event)]
    assert await deadlines.record_occurrences(uow, "milestone_overdue", found) == 1
    assert await deadlines.record_occurrences(uow, "milestone_overdue", found) == 0
    assert await deadlines.record_occurrences(uow, "milestone_overdue", []) == 0
    [published] = uow.events
    assert isinstance(published, MilestoneOverdue) and published.milestone_id == mid
