"""The plans service's rules: every state machine (with property-based tests of the allowed
transitions), plan lengths, values relevance and the weighted progress roll-up."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.plans import domain
from services.plans.domain import (
    COMMITMENT_TRANSITIONS,
    MEMBER_TRANSITIONS,
    MILESTONE_TRANSITIONS,
    TRANSITIONS,
    RuleViolation,
    WeightedProgress,
    check_transition,
    roll_up,
)
from shared.events.plans import CommitmentState, MemberKind, MemberStatus, MilestoneStatus, PlanState

plan_states = st.sampled_from(list(PlanState))


# --- plans -------------------------------------------------------------------------------------


@given(current=plan_states, target=plan_states, commitments=st.integers(0, 50), years=st.sampled_from([2, 4]),
       refreshed=st.booleans())  # fmt: skip
def test_only_listed_plan_transitions_pass(
    current: PlanState, target: PlanState, commitments: int, years: int, refreshed: bool
) -> None:
    allowed = (
        target in TRANSITIONS[current]
        and not (target is PlanState.SUBMITTED and commitments == 0)
        and not (target is PlanState.REFRESHING and (years != 4 or refreshed))
    )
    if allowed:
        check_transition(
            current, target, commitment_count=commitments, length_years=years, refreshed=refreshed
        )
    else:
        with pytest.raises(RuleViolation):
            check_transition(
                current, target, commitment_count=commitments, length_years=years, refreshed=refreshed
            )


@given(path=st.lists(plan_states, max_size=15))
def test_every_accepted_walk_stays_on_the_cycle(path: list[PlanState]) -> None:
    """Whatever is attempted, a plan only ever moves forward along the cycle, except the single
    refresh detour of a 4-year plan."""
    cycle = [PlanState.DRAFT, PlanState.CO_CREATION, PlanState.SUBMITTED, PlanState.IMPLEMENTING,
             PlanState.ENDED, PlanState.CLOSED]  # fmt: skip
    state, refreshed = PlanState.DRAFT, False
    for target in path:
        try:
            check_transition(state, target, commitment_count=1, length_years=4, refreshed=refreshed)
        except RuleViolation:
            continue
        if target is PlanState.REFRESHING:
            assert state is PlanState.IMPLEMENTING
            refreshed = True
        elif state is PlanState.REFRESHING:
            assert target is PlanState.IMPLEMENTING
        else:
            assert cycle.index(target) == cycle.index(state) + 1
        state = target


def test_closed_is_final_and_submitting_needs_a_commitment() -> None:
    assert TRANSITIONS[PlanState.CLOSED] == frozenset()
    with pytest.raises(RuleViolation) as err:
        check_transition(PlanState.CO_CREATION, PlanState.SUBMITTED, commitment_count=0)
    assert err.value.rule == "plan.submit_without_commitments"


def test_names_the_rule_for_a_forbidden_move() -> None:
    with pytest.raises(RuleViolation) as err:
        check_transition(PlanState.DRAFT, PlanState.SUBMITTED, commitment_count=3)
    assert err.value.rule == "plan.transition_not_allowed"
    assert "co_creation" in err.value.message


def test_only_four_year_plans_refresh_and_only_once() -> None:
    with pytest.raises(RuleViolation, match="4-year"):
        check_transition(PlanState.IMPLEMENTING, PlanState.REFRESHING, commitment_count=1, length_years=2)
    check_transition(PlanState.IMPLEMENTING, PlanState.REFRESHING, commitment_count=1, length_years=4)
    with pytest.raises(RuleViolation, match="once"):
        check_transition(PlanState.IMPLEMENTING, PlanState.REFRESHING, commitment_count=1, length_years=4,
                         refreshed=True)  # fmt: skip


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


@pytest.mark.parametrize(("start", "end"), [(date(2025, 1, 1), date(2026, 1, 1)), (date(2025, 1, 1), date(2028, 1, 1)),
                                            (date(2025, 1, 1), date(2025, 1, 1))])  # fmt: skip
def test_national_plans_last_two_or_four_years(start: date, end: date) -> None:
    with pytest.raises(RuleViolation) as err:
        domain.plan_length_years(MemberKind.NATIONAL, start, end)
    assert err.value.field == "end_date"


def test_commitments_are_written_in_co_creation_and_refresh_only() -> None:
    editable = {s for s in PlanState if domain.editable_commitments(s)}
    assert editable == {PlanState.DRAFT, PlanState.CO_CREATION, PlanState.REFRESHING}


# --- commitments -----------------------------------------------------------------------------

commitment_states = st.sampled_from(list(CommitmentState))


@given(current=commitment_states, target=commitment_states)
def test_only_listed_commitment_transitions_pass(current: CommitmentState, target: CommitmentState) -> None:
    if target in COMMITMENT_TRANSITIONS[current]:
        domain.check_commitment_transition(current, target)
    else:
        with pytest.raises(RuleViolation):
            domain.check_commitment_transition(current, target)


def test_withdrawal_is_possible_until_the_end_and_final() -> None:
    for state in (CommitmentState.DRAFTED, CommitmentState.IN_CONSULTATION, CommitmentState.ADOPTED,
                  CommitmentState.IMPLEMENTING):  # fmt: skip
        assert CommitmentState.WITHDRAWN in COMMITMENT_TRANSITIONS[state]
    assert COMMITMENT_TRANSITIONS[CommitmentState.WITHDRAWN] == frozenset()
    assert COMMITMENT_TRANSITIONS[CommitmentState.ENDED] == frozenset()


def test_plan_cascade_targets_are_allowed_moves() -> None:
    for sources, target in domain.CASCADE.values():
        for source in sources:
            domain.check_commitment_transition(source, target)


def test_technology_counts_only_on_top_of_another_value() -> None:
    domain.check_values(True, False, False, True)
    with pytest.raises(RuleViolation) as err:
        domain.check_values(False, False, False, True)
    assert err.value.field == "values.technology_innovation"


# --- milestones ------------------------------------------------------------------------------

milestone_states = st.sampled_from(list(MilestoneStatus))


@given(current=milestone_states, target=milestone_states, progress=st.integers(-5, 105))
def test_milestone_updates(current: MilestoneStatus, target: MilestoneStatus, progress: int) -> None:
    ok = (
        target in MILESTONE_TRANSITIONS[current]
        and 0 <= progress <= 100
        and (progress < 100 or target is MilestoneStatus.COMPLETED)
    )
    if ok:
        stored = domain.check_milestone_update(current, target, progress)
        assert stored == (100 if target is MilestoneStatus.COMPLETED else progress)
    else:
        with pytest.raises(RuleViolation):
            domain.check_milestone_update(current, target, progress)


def test_completed_and_cancelled_are_final() -> None:
    assert MILESTONE_TRANSITIONS[MilestoneStatus.COMPLETED] == frozenset()
    assert MILESTONE_TRANSITIONS[MilestoneStatus.CANCELLED] == frozenset()


def test_weighted_roll_up() -> None:
    parts = [WeightedProgress(1, 100), WeightedProgress(3, 0), WeightedProgress(2, 50, counted=False)]
    assert roll_up(parts) == 25.0
    assert roll_up([]) == 0.0
    assert roll_up([WeightedProgress(2, 40), WeightedProgress(2, 60)]) == 50.0


@given(st.lists(st.tuples(st.floats(0.1, 100), st.integers(0, 100), st.booleans()), max_size=20))
def test_roll_up_stays_between_the_extremes(parts: list[tuple[float, int, bool]]) -> None:
    wp = [WeightedProgress(w, p, c) for w, p, c in parts]
    value = roll_up(wp)
    counted = [p for _, p, c in parts if c]
    if counted:
        assert min(counted) - 0.05 <= value <= max(counted) + 0.05
    else:
        assert value == 0.0


# --- members ---------------------------------------------------------------------------------


@given(current=st.sampled_from(list(MemberStatus)), target=st.sampled_from(list(MemberStatus)))
def test_only_listed_member_transitions_pass(current: MemberStatus, target: MemberStatus) -> None:
    if target in MEMBER_TRANSITIONS[current]:
        domain.check_member_transition(current, target)
    else:
        with pytest.raises(RuleViolation):
            domain.check_member_transition(current, target)


def test_two_consecutive_contrary_cycles_mean_procedural_review() -> None:
    assert (
        domain.status_after_contrary_finding(MemberStatus.PARTICIPATING, 1)
        is MemberStatus.ACTED_CONTRARY_TO_PROCESS
    )
    assert (
        domain.status_after_contrary_finding(MemberStatus.ACTED_CONTRARY_TO_PROCESS, 2)
        is MemberStatus.UNDER_PROCEDURAL_REVIEW
    )
