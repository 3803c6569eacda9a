"""Rules of the plans service, free of I/O: the state machines of plans, commitments and
milestones, the checks each change needs, and how progress rolls up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta

from shared.events.plans import (
    CommitmentState,
    MemberKind,
    MemberStatus,
    MilestoneStatus,
    PlanState,
)
from shared.errors import RuleViolation as RuleViolation  # re-exported: the rules raise it

# --- action plans ---------------------------------------------------------------------------

#: The only moves a plan may make. ``submitted`` means published: the IRM clock starts then.
#: ``refreshing`` is the midway window of a 4-year plan (checked in :func:`check_transition`).
TRANSITIONS: dict[PlanState, frozenset[PlanState]] = {
    PlanState.DRAFT: frozenset({PlanState.CO_CREATION}),
    PlanState.CO_CREATION: frozenset({PlanState.SUBMITTED}),
    PlanState.SUBMITTED: frozenset({PlanState.IMPLEMENTING}),
    PlanState.IMPLEMENTING: frozenset({PlanState.REFRESHING, PlanState.ENDED}),
    PlanState.REFRESHING: frozenset({PlanState.IMPLEMENTING}),
    PlanState.ENDED: frozenset({PlanState.CLOSED}),
    PlanState.CLOSED: frozenset(),
}


def check_transition(
    current: PlanState,
    target: PlanState,
    *,
    commitment_count: int,
    length_years: int = 2,
    refreshed: bool = False,
) -> None:
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "plan.transition_not_allowed",
            f"a plan in state {current.value} cannot move to {target.value} (allowed: {allowed})",
        )
    if target is PlanState.SUBMITTED and commitment_count == 0:
        raise RuleViolation(
            "plan.submit_without_commitments", "a plan needs at least one commitment to be submitted"
        )
    if target is PlanState.REFRESHING:
        if length_years != 4:
            raise RuleViolation("plan.refresh_needs_four_years", "only 4-year plans may be refreshed")
        if refreshed:
            raise RuleViolation("plan.refresh_once", "a plan is refreshed once, midway")


#: Commitment states that follow from a plan transition (the commitments move with the plan).
CASCADE: dict[PlanState, tuple[frozenset[CommitmentState], CommitmentState]] = {
    PlanState.SUBMITTED: (
        frozenset({CommitmentState.DRAFTED, CommitmentState.IN_CONSULTATION}),
        CommitmentState.ADOPTED,
    ),
    PlanState.IMPLEMENTING: (frozenset({CommitmentState.ADOPTED}), CommitmentState.IMPLEMENTING),
    PlanState.ENDED: (frozenset({CommitmentState.IMPLEMENTING}), CommitmentState.ENDED),
}


def plan_length_years(kind: MemberKind, start: date, end: date) -> int:
    """National and parliamentary plans last 2 or 4 years (4 since 2022), give or take a quarter;
    local plans vary, so only the order of the dates is checked for them."""
    if end <= start:
        raise RuleViolation("plan.dates_inverted", "end_date must be after start_date", "end_date")
    delta = relativedelta(end, start)
    months = delta.years * 12 + delta.months + (1 if delta.days >= 15 else 0)
    if kind is MemberKind.LOCAL:
        return max(1, round(months / 12))
    for years in (2, 4):
        if abs(months - years * 12) <= 3:
            return years
    raise RuleViolation(
        "plan.length", f"a {kind.value} plan lasts 2 or 4 years, not {months} months", "end_date"
    )


def editable_commitments(state: PlanState) -> bool:
    """Commitments are written during co-creation and revised in a 4-year plan's refresh."""
    return state in (PlanState.DRAFT, PlanState.CO_CREATION, PlanState.REFRESHING)


def progress_reportable(state: PlanState) -> bool:
    return state in (PlanState.SUBMITTED, PlanState.IMPLEMENTING, PlanState.REFRESHING, PlanState.ENDED)


# --- commitments ----------------------------------------------------------------------------

COMMITMENT_TRANSITIONS: dict[CommitmentState, frozenset[CommitmentState]] = {
    CommitmentState.DRAFTED: frozenset(
        {CommitmentState.IN_CONSULTATION, CommitmentState.ADOPTED, CommitmentState.WITHDRAWN}
    ),
    CommitmentState.IN_CONSULTATION: frozenset({CommitmentState.ADOPTED, CommitmentState.WITHDRAWN}),
    CommitmentState.ADOPTED: frozenset({CommitmentState.IMPLEMENTING, CommitmentState.WITHDRAWN}),
    CommitmentState.IMPLEMENTING: frozenset({CommitmentState.ENDED, CommitmentState.WITHDRAWN}),
    CommitmentState.ENDED: frozenset(),
    CommitmentState.WITHDRAWN: frozenset(),
}


def check_commitment_transition(current: CommitmentState, target: CommitmentState) -> None:
    if target not in COMMITMENT_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in COMMITMENT_TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "commitment.transition_not_allowed",
            f"a commitment in state {current.value} cannot move to {target.value} (allowed: {allowed})",
        )


def check_values(access: bool, participation: bool, accountability: bool, technology: bool) -> None:
    """OGP counts technology and innovation only on top of one of the three core values."""
    if technology and not (access or participation or accountability):
        raise RuleViolation(
            "commitment.technology_alone",
            "technology and innovation is relevant only together with access to information, "
            "civic participation or public accountability",
            "values.technology_innovation",
        )


def check_original_language(original: str, titles: Iterable[str]) -> None:
    if original not in set(titles):
        raise RuleViolation(
            "commitment.original_missing",
            f"the title must be given in the original language ({original})",
            "title",
        )


# --- milestones -----------------------------------------------------------------------------

MILESTONE_TRANSITIONS: dict[MilestoneStatus, frozenset[MilestoneStatus]] = {
    MilestoneStatus.NOT_STARTED: frozenset(
        {
            MilestoneStatus.IN_PROGRESS,
            MilestoneStatus.COMPLETED,
            MilestoneStatus.DELAYED,
            MilestoneStatus.CANCELLED,
        }
    ),
    MilestoneStatus.IN_PROGRESS: frozenset(
        {
            MilestoneStatus.IN_PROGRESS,
            MilestoneStatus.COMPLETED,
            MilestoneStatus.DELAYED,
            MilestoneStatus.CANCELLED,
        }
    ),
    MilestoneStatus.DELAYED: frozenset(
        {
            MilestoneStatus.IN_PROGRESS,
            MilestoneStatus.DELAYED,
            MilestoneStatus.COMPLETED,
            MilestoneStatus.CANCELLED,
        }
    ),
    MilestoneStatus.COMPLETED: frozenset(),
    MilestoneStatus.CANCELLED: frozenset(),
}


def check_milestone_update(current: MilestoneStatus, target: MilestoneStatus, progress: int) -> int:
    """Validate a progress report and return the progress to store (completed means 100)."""
    if target not in MILESTONE_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in MILESTONE_TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "milestone.transition_not_allowed",
            f"a milestone {current.value} cannot become {target.value} (allowed: {allowed})",
            "status",
        )
    if not 0 <= progress <= 100:
        raise RuleViolation("milestone.progress_range", "progress is a percentage, 0 to 100", "progress")
    if target is MilestoneStatus.COMPLETED:
        return 100
    if progress == 100:
        raise RuleViolation(
            "milestone.progress_complete", "100% progress means the milestone is completed", "progress"
        )
    return progress


@dataclass(frozen=True, slots=True)
class WeightedProgress:
    weight: float
    progress: float
    counted: bool = True  # cancelled milestones and withdrawn commitments do not count


def roll_up(parts: Iterable[WeightedProgress]) -> float:
    """Weighted mean of the parts that count, 0 when none does; rounded to 0.1."""
    counted = [p for p in parts if p.counted and p.weight > 0]
    total = sum(p.weight for p in counted)
    if total == 0:
        return 0.0
    return round(sum(p.weight * p.progress for p in counted) / total, 1)


# --- members --------------------------------------------------------------------------------

MEMBER_TRANSITIONS: dict[MemberStatus, frozenset[MemberStatus]] = {
    MemberStatus.PARTICIPATING: frozenset(
        {
            MemberStatus.ACTED_CONTRARY_TO_PROCESS,
            MemberStatus.UNDER_PROCEDURAL_REVIEW,
            MemberStatus.INACTIVE,
            MemberStatus.WITHDRAWN,
        }
    ),
    MemberStatus.ACTED_CONTRARY_TO_PROCESS: frozenset(
        {
            MemberStatus.PARTICIPATING,
            MemberStatus.ACTED_CONTRARY_TO_PROCESS,
            MemberStatus.UNDER_PROCEDURAL_REVIEW,
            MemberStatus.INACTIVE,
            MemberStatus.WITHDRAWN,
        }
    ),
    MemberStatus.UNDER_PROCEDURAL_REVIEW: frozenset(
        {MemberStatus.PARTICIPATING, MemberStatus.INACTIVE, MemberStatus.WITHDRAWN}
    ),
    MemberStatus.INACTIVE: frozenset({MemberStatus.PARTICIPATING, MemberStatus.WITHDRAWN}),
    MemberStatus.WITHDRAWN: frozenset({MemberStatus.PARTICIPATING}),  # a member may rejoin
}


def check_member_transition(current: MemberStatus, target: MemberStatus) -> None:
    if target not in MEMBER_TRANSITIONS[current]:
        raise RuleViolation(
            "member.transition_not_allowed",
            f"a member {current.value} cannot become {target.value}",
            "status",
        )


def status_after_contrary_finding(current: MemberStatus, consecutive_cycles: int) -> MemberStatus:
    """OGP: acting contrary to process in two consecutive cycles places the member under
    procedural review automatically."""
    if current is MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return current
    if consecutive_cycles >= 2:
        return MemberStatus.UNDER_PROCEDURAL_REVIEW
    return MemberStatus.ACTED_CONTRARY_TO_PROCESS
