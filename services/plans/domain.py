"""Action-plan rules, free of I/O: the state machine and the checks each transition needs."""

from __future__ import annotations

from datetime import date

from shared.events.plans import PlanState

#: The only moves a plan may make. ``submitted`` means published: the IRM clock starts then.
TRANSITIONS: dict[PlanState, frozenset[PlanState]] = {
    PlanState.DRAFT: frozenset({PlanState.CO_CREATION}),
    PlanState.CO_CREATION: frozenset({PlanState.SUBMITTED}),
    PlanState.SUBMITTED: frozenset({PlanState.IMPLEMENTING}),
    PlanState.IMPLEMENTING: frozenset({PlanState.ENDED}),
    PlanState.ENDED: frozenset({PlanState.CLOSED}),
    PlanState.CLOSED: frozenset(),
}


class RuleViolation(Exception):
    """A domain rule refused the change; ``rule`` is a stable name clients can branch on."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def check_transition(current: PlanState, target: PlanState, *, commitment_count: int) -> None:
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "plan.transition_not_allowed",
            f"a plan in state {current.value} cannot move to {target.value} (allowed: {allowed})",
        )
    if target is PlanState.SUBMITTED and commitment_count == 0:
        raise RuleViolation(
            "plan.submit_without_commitments",
            "a plan needs at least one commitment to be submitted",
        )


def check_dates(start: date, end: date) -> None:
    if end <= start:
        raise RuleViolation("plan.dates_inverted", "end_date must be after start_date")


def can_add_commitment(state: PlanState) -> bool:
    """Commitments are drafted during co-creation (and in a draft plan), not after submission."""
    return state in (PlanState.DRAFT, PlanState.CO_CREATION)
