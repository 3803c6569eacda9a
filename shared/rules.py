"""Domain refusals shared by every service, and how they become HTTP problems.

Domain modules stay free of HTTP: they raise :class:`RuleViolation`; the API turns it into a
422 naming the field (a value the rules refuse) or a 409 naming the rule (the state of things
forbids the change), so clients can branch on the stable ``rule`` name.
"""

from __future__ import annotations

from shared.http import Conflict, Problem


class RuleViolation(Exception):
    """A domain rule refused the change; ``rule`` is a stable name clients can branch on."""

    def __init__(self, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.field = field


def problem_for(rv: RuleViolation) -> Problem:
    if rv.field:
        return Problem(
            422,
            "Unprocessable Content",
            rv.message,
            errors=[{"field": rv.field, "message": rv.message}],
            extra={"rule": rv.rule},
        )
    return Conflict(rv.message, rule=rv.rule)
