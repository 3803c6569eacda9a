"""What every import shares: how a row's failure is told (``{field, message, rule?}`` naming the
spreadsheet's columns), the answer of an import, and how it writes (service, lock, batch size)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import ValidationError

from shared.db import Row
from shared.errors import DomainError, Invalid, RuleViolation
from shared.locks import PLANS_IMPORT
from shared.privacy import scrub

SERVICE = "plans"
FieldError = dict[str, str]

#: One import at a time (a commitments import holds it for its whole run, a progress import for
#: each batch): two imports could otherwise race to create the same member or plan, or lock the
#: same plans in another order. HTTP edits lock one plan at a time and never take it.
IMPORT_LOCK = PLANS_IMPORT
BATCH_SIZE = 200

#: Told as an import goes: (rows done, rows in the file). Rows refused while reading count as
#: done at once; the others once their batch is written.
Progress = Callable[[int, int], None]


def progress_counter(progress: Progress | None, done: int, total: int) -> Callable[[int], None]:
    """A counter of the rows done that tells ``progress`` each time it moves (and once now)."""
    count = [done]
    if progress is not None:
        progress(done, total)

    def add(rows: int) -> None:
        count[0] += rows
        if progress is not None:
            progress(count[0], total)

    return add


class RowFailure(Exception):
    """A row cannot be imported; ``errors`` name the spreadsheet's columns."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def err(column: str, message: str, rule: str | None = None) -> FieldError:
    out = {"field": column, "message": message}
    if rule:
        out["rule"] = rule
    return out


#: What a row may fail with while it is written; anything else stops the import.
ROW_ERRORS = (RowFailure, DomainError, ValidationError, asyncpg.PostgresError)


def errors_of(exc: BaseException, columns: Mapping[str, str]) -> list[FieldError]:
    """A row's failure as the report tells it. A use case's refusal names its field (mapped to
    the spreadsheet's column by ``columns``) or the whole ``row``, with the rule it broke; the
    answer is the one the HTTP API gives for the same refusal (see :mod:`shared.errors`)."""
    if isinstance(exc, RowFailure):
        return exc.errors
    if isinstance(exc, RuleViolation):
        if exc.field:
            return [err(columns.get(exc.field, exc.field), exc.message, exc.rule)]
        return [err("row", exc.message, exc.rule)]
    if isinstance(exc, Invalid) and exc.errors:
        return [err(columns.get(f, f), message) for f, message in exc.errors]
    if isinstance(exc, DomainError):
        return [err("row", exc.message)]
    # The report goes back to the caller: no DETAIL of asyncpg (it quotes the failing row), no
    # contact details, and none of the values pydantic quotes.
    if isinstance(exc, asyncpg.PostgresError):
        return [err("row", f"refused by the database: {scrub(str(exc))}")]
    if isinstance(exc, ValidationError):
        return [
            err(columns.get(field, field), e["msg"])
            for e in exc.errors(include_url=False, include_input=False)
            for field in [".".join(str(p) for p in e["loc"]) or "row"]
        ]
    return [err("row", type(exc).__name__)]


@dataclass
class ImportReport:
    """The answer of an import. ``rows`` counts the data rows (blank lines are skipped);
    ``created + updated + unchanged + failed == rows``."""

    key_name: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    members_created: int = 0
    plans_created: int = 0
    errors: list[Row] = field(default_factory=list)
    #: Columns kept as each commitment's source data, and columns dropped (a person's details).
    unmapped_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    #: Cells kept as written (a date that cannot be read, say): the row is imported.
    warnings: list[Row] = field(default_factory=list)
    stars_compared: int = 0
    stars_agreeing: int = 0
    star_disagreements: list[Row] = field(default_factory=list)

    def noted(self, line: int, key: str, warnings: list[FieldError], stars: Sequence[Any]) -> None:
        """A parsed row's warnings, and its stars beside OGP's (``StarCheck``: column, ogp, ours)."""
        if warnings:
            self.warnings.append({"row": line, self.key_name: key, "warnings": warnings})
        for check in stars:
            self.stars_compared += 1
            if check.ogp == check.ours:
                self.stars_agreeing += 1
            else:
                self.star_disagreements.append(
                    {
                        "row": line,
                        self.key_name: key,
                        "column": check.column,
                        "ogp": check.ogp,
                        "rule": check.ours,
                    }
                )

    def fail(self, line: int, key: str | None, errors: list[FieldError]) -> None:
        self.failed += 1
        self.errors.append({"row": line, self.key_name: key or None, "errors": errors})

    def as_dict(self) -> Row:
        out: Row = {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }
        if self.key_name == "commitment_id":
            out.update(members_created=self.members_created, plans_created=self.plans_created)
        else:  # progress reports are appended, never "created" nor "unchanged"
            del out["created"], out["unchanged"]
        out["errors"] = sorted(self.errors, key=lambda e: int(e["row"]))
        if self.key_name == "commitment_id":
            out["unmapped_columns"] = self.unmapped_columns
            out["dropped_columns"] = self.dropped_columns
            out["warnings"] = sorted(self.warnings, key=lambda e: int(e["row"]))
            out["stars"] = {
                "compared": self.stars_compared,
                "agreeing": self.stars_agreeing,
                "disagreements": sorted(self.star_disagreements, key=lambda e: int(e["row"])),
            }
        return out
