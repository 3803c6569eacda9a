from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.plans import domain
from services.plans.domain import TRANSITIONS, RuleViolation, check_transition
from shared.events.plans import PlanState

states = st.sampled_from(list(PlanState))


@given(current=states, target=states, commitments=st.integers(min_value=0, max_value=50))
def test_only_listed_transitions_pass(current: PlanState, target: PlanState, commitments: int) -> None:
    allowed = target in TRANSITIONS[current] and not (target is PlanState.SUBMITTED and commitments == 0)
    if allowed:
        check_transition(current, target, commitment_count=commitments)
    else:
        with pytest.raises(RuleViolation):
            check_transition(current, target, commitment_count=commitments)


@given(path=st.lists(states, max_size=12))
def test_every_accepted_walk_follows_the_cycle_forward(path: list[PlanState]) -> None:
    order = list(PlanState)
    state = PlanState.DRAFT
    for target in path:
        try:
            check_transition(state, target, commitment_count=1)
        except RuleViolation:
            continue
        assert order.index(target) == order.index(state) + 1
        state = target


def test_closed_is_final() -> None:
    assert TRANSITIONS[PlanState.CLOSED] == frozenset()


def test_submitting_needs_a_commitment() -> None:
    with pytest.raises(RuleViolation) as err:
        check_transition(PlanState.CO_CREATION, PlanState.SUBMITTED, commitment_count=0)
    assert err.value.rule == "plan.submit_without_commitments"


def test_names_the_rule_for_a_forbidden_move() -> None:
    with pytest.raises(RuleViolation) as err:
        check_transition(PlanState.DRAFT, PlanState.SUBMITTED, commitment_count=3)
    assert err.value.rule == "plan.transition_not_allowed"
    assert "co_creation" in err.value.message


def test_dates_must_move_forward() -> None:
    domain.check_dates(date(2025, 1, 1), date(2027, 1, 1))
    with pytest.raises(RuleViolation):
        domain.check_dates(date(2025, 1, 1), date(2025, 1, 1))


def test_commitments_only_before_submission() -> None:
    assert domain.can_add_commitment(PlanState.CO_CREATION)
    assert not domain.can_add_commitment(PlanState.SUBMITTED)
