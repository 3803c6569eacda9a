"""The plans service's rules, by explicit examples: every move of each state machine written out
as the OGP process allows it (not derived from the tables under test), plan lengths, the values
rule, the milestone report rules, the progress roll-up and the aggregates' events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import product
from uuid import uuid4

import pytest

from services.plans import domain
from services.plans.domain import Commitment, Plan, RuleViolation, WeightedProgress, roll_up
from shared.events.plans import (
    CommitmentState,
    MemberKind,
    MemberStatus,
    MilestoneStatus,
    PlanEnded,
    PlanState,
    PlanStateChanged,
    PlanSubmitted,
)

P = PlanState
C = CommitmentState
M = MilestoneStatus
S = MemberStatus
NOW = datetime(2025, 6, 1, tzinfo=UTC)

# --- plans -------------------------------------------------------------------------------------

PLAN_MOVES = {
    (P.DRAFT, P.CO_CREATION),
    (P.CO_CREATION, P.SUBMITTED),
    (P.SUBMITTED, P.IMPLEMENTING),
    (P.IMPLEMENTING, P.REFRESHING),
    (P.IMPLEMENTING, P.ENDED),
    (P.REFRESHING, P.IMPLEMENTING),
    (P.ENDED, P.CLOSED),
}


@pytest.mark.parametrize(("current", "target"), list(product(P, P)))
def test_plan_moves(current: PlanState, target: PlanState) -> None:
    if (current, target) in PLAN_MOVES:
        domain.check_transition(current, target, commitment_count=1, length_years=4)
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_transition(current, target, commitment_count=1, length_years=4)
        assert err.value.rule == "plan.transition_not_allowed"
        assert err.value.field is None


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (P.DRAFT, P.SUBMITTED, "a plan in state draft cannot move to submitted (allowed: co_creation)"),
        (
            P.IMPLEMENTING,
            P.CLOSED,
            "a plan in state implementing cannot move to closed (allowed: ended, refreshing)",
        ),
        (P.CLOSED, P.DRAFT, "a plan in state closed cannot move to draft (allowed: none)"),
    ],
)
def test_a_forbidden_move_says_what_is_allowed(current: PlanState, target: PlanState, message: str) -> None:
    with pytest.raises(RuleViolation) as err:
        domain.check_transition(current, target, commitment_count=3)
    assert err.value.message == message


@pytest.mark.parametrize(
    ("current", "target", "commitments", "years", "refreshed", "rule"),
    [
        (P.CO_CREATION, P.SUBMITTED, 0, 2, False, "plan.submit_without_commitments"),
        (P.CO_CREATION, P.SUBMITTED, 1, 2, False, None),
        (P.IMPLEMENTING, P.REFRESHING, 1, 2, False, "plan.refresh_needs_four_years"),
        (P.IMPLEMENTING, P.REFRESHING, 1, 4, False, None),
        (P.IMPLEMENTING, P.REFRESHING, 1, 4, True, "plan.refresh_once"),
        (P.IMPLEMENTING, P.ENDED, 0, 2, True, None),
    ],
)
def test_submission_and_refresh_rules(
    current: PlanState, target: PlanState, commitments: int, years: int, refreshed: bool, rule: str | None
) -> None:
    def move() -> None:
        domain.check_transition(
            current, target, commitment_count=commitments, length_years=years, refreshed=refreshed
        )

    if rule is None:
        move()
    else:
        with pytest.raises(RuleViolation) as err:
            move()
        assert err.value.rule == rule


@pytest.mark.parametrize(
    ("kind", "start", "end", "years"),
    [
        (MemberKind.NATIONAL, date(2025, 1, 1), date(2027, 1, 1), 2),
        (MemberKind.NATIONAL, date(2025, 9, 1), date(2027, 8, 31), 2),
        (MemberKind.PARLIAMENT, date(2024, 1, 1), date(2028, 1, 1), 4),
        (MemberKind.NATIONAL, date(2025, 1, 1), date(2026, 11, 1), 2),  # within a quarter
        (MemberKind.LOCAL, date(2025, 1, 1), date(2026, 1, 1), 1),
        (MemberKind.LOCAL, date(2025, 1, 1), date(2028, 1, 1), 3),
    ],
)
def test_plan_lengths(kind: MemberKind, start: date, end: date, years: int) -> None:
    assert domain.plan_length_years(kind, start, end) == years


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        (date(2025, 1, 1), date(2026, 1, 1), "plan.length"),
        (date(2025, 1, 1), date(2028, 1, 1), "plan.length"),
        (date(2025, 1, 1), date(2025, 1, 1), "plan.dates_inverted"),
    ],
)
def test_national_plans_last_two_or_four_years(start: date, end: date, rule: str) -> None:
    with pytest.raises(RuleViolation) as err:
        domain.plan_length_years(MemberKind.NATIONAL, start, end)
    assert (err.value.rule, err.value.field) == (rule, "end_date")


def test_commitments_are_written_in_draft_co_creation_and_refresh_only() -> None:
    assert {s for s in P if domain.editable_commitments(s)} == {P.DRAFT, P.CO_CREATION, P.REFRESHING}
    assert {s for s in P if domain.progress_reportable(s)} == {
        P.SUBMITTED,
        P.IMPLEMENTING,
        P.REFRESHING,
        P.ENDED,
    }


def _plan(state: PlanState, commitments: int = 2) -> Plan:
    return Plan(uuid4(), uuid4(), "Plan", date(2025, 1, 1), date(2027, 1, 1), state, uuid4(), NOW, NOW, 2,
                [], commitment_count=commitments)  # fmt: skip


def test_submitting_a_plan_stamps_it_and_announces_it_after_the_state_change() -> None:
    plan = _plan(P.CO_CREATION)
    events = plan.transition(P.SUBMITTED, by="gov-1", now=NOW)
    assert [type(e) for e in events] == [PlanStateChanged, PlanSubmitted]
    assert (plan.state, plan.submitted_at, plan.updated_at) == (P.SUBMITTED, NOW, NOW)
    submitted = events[1]
    assert isinstance(submitted, PlanSubmitted) and submitted.commitment_count == 2
    assert plan.cascade() == (frozenset({C.DRAFTED, C.IN_CONSULTATION}), C.ADOPTED)


def test_ending_a_plan() -> None:
    plan = _plan(P.IMPLEMENTING)
    events = plan.transition(P.ENDED, by="gov-1", now=NOW)
    assert [type(e) for e in events] == [PlanStateChanged, PlanEnded]
    assert plan.ended_at == NOW and plan.cascade() == (frozenset({C.IMPLEMENTING}), C.ENDED)


def test_a_refused_move_leaves_the_plan_as_it_was() -> None:
    plan = _plan(P.CO_CREATION, commitments=0)
    with pytest.raises(RuleViolation):
        plan.transition(P.SUBMITTED, by="gov-1", now=NOW)
    assert (plan.state, plan.submitted_at) == (P.CO_CREATION, None)


# --- commitments -------------------------------------------------------------------------------

COMMITMENT_MOVES = {
    (C.DRAFTED, C.IN_CONSULTATION), (C.DRAFTED, C.ADOPTED), (C.DRAFTED, C.WITHDRAWN),
    (C.IN_CONSULTATION, C.ADOPTED), (C.IN_CONSULTATION, C.WITHDRAWN),
    (C.ADOPTED, C.IMPLEMENTING), (C.ADOPTED, C.WITHDRAWN),
    (C.IMPLEMENTING, C.ENDED), (C.IMPLEMENTING, C.WITHDRAWN),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(product(C, C)))
def test_commitment_moves(current: CommitmentState, target: CommitmentState) -> None:
    if (current, target) in COMMITMENT_MOVES:
        domain.check_commitment_transition(current, target)
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_commitment_transition(current, target)
        assert err.value.rule == "commitment.transition_not_allowed"


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ((True, False, False, True), True),
        ((False, True, False, True), True),
        ((False, False, True, True), True),
        ((False, False, False, False), True),
        ((False, False, False, True), False),
    ],
)
def test_technology_counts_only_on_top_of_another_value(
    values: tuple[bool, bool, bool, bool], ok: bool
) -> None:
    if ok:
        domain.check_values(*values)
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_values(*values)
        assert (err.value.rule, err.value.field) == (
            "commitment.technology_alone",
            "values.technology_innovation",
        )


def test_the_title_is_needed_in_the_original_language() -> None:
    domain.check_original_language("fr", ["fr", "en"])
    with pytest.raises(RuleViolation) as err:
        domain.check_original_language("fr", ["en"])
    assert (err.value.rule, err.value.message) == (
        "commitment.original_missing", "the title must be given in the original language (fr)")  # fmt: skip


def test_a_revision_reports_only_what_differs() -> None:
    c = Commitment.draft(plan_id=uuid4(), member_id=uuid4(), columns={
        "texts": {"title": {"en": "Old"}}, "original_language": "en", "budget_amount": 10.0})  # fmt: skip
    changes, events = c.revise({"title": "New", "budget_amount": 10, "lead_agency": None}, by="s", now=NOW)
    assert changes == {"title": {"from": "Old", "to": "New"}}
    assert c.version == 2 and len(events) == 1
    assert c.revise({"title": "New"}, by="s", now=NOW) == ({}, [])


# --- milestones --------------------------------------------------------------------------------

OPEN = (M.NOT_STARTED, M.IN_PROGRESS, M.DELAYED)

#: Every report a milestone may take, written out: an open milestone may be reported in progress,
#: delayed, completed or cancelled (again in progress or delayed included: a new figure); it never
#: goes back to not started, and completed or cancelled is final.
MILESTONE_MOVES = {
    (M.NOT_STARTED, M.IN_PROGRESS), (M.NOT_STARTED, M.DELAYED), (M.NOT_STARTED, M.COMPLETED),
    (M.NOT_STARTED, M.CANCELLED),
    (M.IN_PROGRESS, M.IN_PROGRESS), (M.IN_PROGRESS, M.DELAYED), (M.IN_PROGRESS, M.COMPLETED),
    (M.IN_PROGRESS, M.CANCELLED),
    (M.DELAYED, M.IN_PROGRESS), (M.DELAYED, M.DELAYED), (M.DELAYED, M.COMPLETED),
    (M.DELAYED, M.CANCELLED),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(product(M, M)))
def test_milestone_moves(current: MilestoneStatus, target: MilestoneStatus) -> None:
    if (current, target) in MILESTONE_MOVES:
        domain.check_milestone_update(current, target, 10)
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_milestone_update(current, target, 10)
        assert err.value.rule == "milestone.transition_not_allowed"


@pytest.mark.parametrize(
    ("current", "target", "progress", "stored_or_rule"),
    [
        (M.NOT_STARTED, M.IN_PROGRESS, 30, 30),
        (M.IN_PROGRESS, M.IN_PROGRESS, 60, 60),
        (M.DELAYED, M.DELAYED, 60, 60),
        (M.IN_PROGRESS, M.COMPLETED, 40, 100),  # completed means 100
        (M.NOT_STARTED, M.CANCELLED, 0, 0),
        (M.NOT_STARTED, M.NOT_STARTED, 0, "milestone.transition_not_allowed"),
        (M.DELAYED, M.NOT_STARTED, 0, "milestone.transition_not_allowed"),
        (M.COMPLETED, M.IN_PROGRESS, 50, "milestone.transition_not_allowed"),
        (M.CANCELLED, M.IN_PROGRESS, 50, "milestone.transition_not_allowed"),
        (M.IN_PROGRESS, M.IN_PROGRESS, 100, "milestone.progress_complete"),
        (M.IN_PROGRESS, M.IN_PROGRESS, 101, "milestone.progress_range"),
        (M.IN_PROGRESS, M.IN_PROGRESS, -1, "milestone.progress_range"),
    ],
)
def test_milestone_reports(
    current: MilestoneStatus, target: MilestoneStatus, progress: int, stored_or_rule: int | str
) -> None:
    if isinstance(stored_or_rule, int):
        assert domain.check_milestone_update(current, target, progress) == stored_or_rule
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_milestone_update(current, target, progress)
        assert err.value.rule == stored_or_rule


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([WeightedProgress(1, 100), WeightedProgress(3, 0), WeightedProgress(2, 50, counted=False)], 25.0),
        ([], 0.0),
        ([WeightedProgress(2, 40), WeightedProgress(2, 60)], 50.0),
        ([WeightedProgress(1, 100, counted=False)], 0.0),
        ([WeightedProgress(1, 10), WeightedProgress(2, 20)], 16.7),  # rounded to 0.1
    ],
)
def test_weighted_roll_up(parts: list[WeightedProgress], expected: float) -> None:
    assert roll_up(parts) == expected


# --- members -----------------------------------------------------------------------------------

MEMBER_MOVES = {
    (S.PARTICIPATING, S.ACTED_CONTRARY_TO_PROCESS), (S.PARTICIPATING, S.UNDER_PROCEDURAL_REVIEW),
    (S.PARTICIPATING, S.INACTIVE), (S.PARTICIPATING, S.WITHDRAWN),
    (S.ACTED_CONTRARY_TO_PROCESS, S.PARTICIPATING), (S.ACTED_CONTRARY_TO_PROCESS, S.ACTED_CONTRARY_TO_PROCESS),
    (S.ACTED_CONTRARY_TO_PROCESS, S.UNDER_PROCEDURAL_REVIEW), (S.ACTED_CONTRARY_TO_PROCESS, S.INACTIVE),
    (S.ACTED_CONTRARY_TO_PROCESS, S.WITHDRAWN),
    (S.UNDER_PROCEDURAL_REVIEW, S.PARTICIPATING), (S.UNDER_PROCEDURAL_REVIEW, S.INACTIVE),
    (S.UNDER_PROCEDURAL_REVIEW, S.WITHDRAWN),
    (S.INACTIVE, S.PARTICIPATING), (S.INACTIVE, S.WITHDRAWN),
    (S.WITHDRAWN, S.PARTICIPATING),  # a member may rejoin
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(product(S, S)))
def test_member_moves(current: MemberStatus, target: MemberStatus) -> None:
    if (current, target) in MEMBER_MOVES:
        domain.check_member_transition(current, target)
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_member_transition(current, target)
        assert err.value.rule == "member.transition_not_allowed"


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (S.PARTICIPATING, S.ACTED_CONTRARY_TO_PROCESS),
        (S.ACTED_CONTRARY_TO_PROCESS, S.ACTED_CONTRARY_TO_PROCESS),  # a second finding: the IRM decides
        (S.UNDER_PROCEDURAL_REVIEW, None),  # a finding does not undo a procedural review
    ],
)
def test_a_contrary_finding_never_starts_a_procedural_review_by_itself(
    current: MemberStatus, expected: MemberStatus | None
) -> None:
    m = domain.Member(
        uuid4(), "Chile", MemberKind.NATIONAL, "CL", datetime(2025, 1, 1, tzinfo=UTC), status=current
    )
    assert m.after_contrary_finding() is expected
