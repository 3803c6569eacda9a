"""How the plans service's domain refusals become HTTP problems."""

from __future__ import annotations

from uuid import UUID

from services.plans.domain import RuleViolation
from shared.http import Conflict, Problem


def problem_for(rv: RuleViolation) -> Problem:
    """A rule about one field's value is a 422 naming the field; a rule about the state of
    things (a transition, a frozen plan) is a 409 naming the rule."""
    if rv.field:
        return Problem(
            422,
            "Unprocessable Content",
            rv.message,
            errors=[{"field": rv.field, "message": rv.message}],
            extra={"rule": rv.rule},
        )
    return Conflict(rv.message, rule=rv.rule)


def forbidden(member_id: UUID) -> Problem:
    return Problem(403, "Forbidden", f"you may not edit the plans of member {member_id}")
