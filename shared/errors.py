"""Domain errors: the refusals a use case may answer with, free of HTTP and of the database.

Aggregates and use cases raise these; one exception handler in :mod:`shared.http` turns each kind
into its ``application/problem+json`` answer, so no route wraps a call in try/except and no rule
knows it is reached over HTTP (the importer, timers and reactions call the same use cases).

=====================  ======  =========================================================
error                  status  when
=====================  ======  =========================================================
:class:`RuleViolation` 409     the state of things forbids the change; names the rule
  with ``field``       422     a value the rules refuse; names the field and the rule
:class:`Invalid`       422     a value is malformed or unknown; names the field(s)
:class:`NotFound`      404     the thing the request is about does not exist
:class:`Forbidden`     403     the caller may not do this to this thing
:class:`RateLimited`   429     too many writes from one person; says when to retry
=====================  ======  =========================================================
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on; ``message`` is safe to show (no personal data)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RuleViolation(DomainError):
    """A named rule refused the change; ``rule`` is a stable name clients can branch on.

    Without ``field`` it is a conflict with the state of things (409); with ``field`` the value
    of that field is what the rule refuses (422)."""

    def __init__(self, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field


class Invalid(DomainError):
    """Input that cannot be used as given (malformed, unknown reference); names each field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.errors: list[tuple[str, str]] = [(field, message)]

    @classmethod
    def many(cls, detail: str, errors: list[tuple[str, str]]) -> Invalid:
        """Several fields at fault at once (e.g. every bad column of a file's header)."""
        err = cls.__new__(cls)
        DomainError.__init__(err, detail)
        err.errors = list(errors)
        return err


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist")
        self.what = what


class Forbidden(DomainError):
    """The caller is who they say, but may not do this (wrong member, wrong role for the thing)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class RateLimited(DomainError):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))
