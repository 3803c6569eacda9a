"""The plans service's rules, free of I/O: members and their standing, action plans, commitments
with their milestones, eligibility, and the deadlines the timers watch.

Aggregates (:class:`Member`, :class:`Plan`, :class:`Commitment`, :class:`Milestone`) check the
rules, change their state and return the events they cause; a refused change raises
:class:`shared.errors.RuleViolation` naming the rule.
"""

from services.plans.domain.commitments import (
    COMMITMENT_TRANSITIONS,
    TEXT_FIELDS,
    WRITABLE,
    Commitment,
    check_commitment_transition,
    check_fields,
    check_original_language,
    check_values,
    diff,
    jsonable,
)
from services.plans.domain.members import (
    MEMBER_TRANSITIONS,
    Member,
    StatusChange,
    check_member_transition,
)
from services.plans.domain.milestones import (
    MILESTONE_TRANSITIONS,
    Milestone,
    ProgressReport,
    WeightedProgress,
    check_milestone_update,
    commitment_progress,
    roll_up,
)
from services.plans.domain.plans import (
    CASCADE,
    TRANSITIONS,
    Contact,
    Plan,
    check_transition,
    editable_commitments,
    plan_length_years,
    progress_reportable,
)
from shared.errors import RuleViolation

__all__ = [
    "CASCADE",
    "COMMITMENT_TRANSITIONS",
    "MEMBER_TRANSITIONS",
    "MILESTONE_TRANSITIONS",
    "TEXT_FIELDS",
    "TRANSITIONS",
    "WRITABLE",
    "Commitment",
    "Contact",
    "Member",
    "Milestone",
    "Plan",
    "ProgressReport",
    "RuleViolation",
    "StatusChange",
    "WeightedProgress",
    "check_commitment_transition",
    "check_fields",
    "check_member_transition",
    "check_milestone_update",
    "check_original_language",
    "check_transition",
    "check_values",
    "commitment_progress",
    "diff",
    "editable_commitments",
    "jsonable",
    "plan_length_years",
    "progress_reportable",
    "roll_up",
]
