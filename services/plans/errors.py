"""How the plans service's domain refusals become HTTP problems."""

from __future__ import annotations

from uuid import UUID

from shared.http import Problem
from shared.http import problem_for as problem_for  # re-exported for the use cases


def forbidden(member_id: UUID) -> Problem:
    return Problem(403, "Forbidden", f"you may not edit the plans of member {member_id}")
