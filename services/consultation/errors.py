"""How the consultation service's domain refusals become HTTP problems."""

from __future__ import annotations

from shared.http import Problem
from shared.http import problem_for as problem_for  # re-exported for the use cases


def forbidden(what: str) -> Problem:
    return Problem(403, "Forbidden", f"you may not {what}")
