"""One row of OGP's commitments database read by meaning (no I/O): its cells under the meaning of
their column, and what is wrong with them, collected for the row's report rather than raised at
the first problem."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from services.plans.imports.ogp_cells import Scaled, not_assessed, scaled, yes_no
from services.plans.imports.ogp_header import Sheet
from services.plans.imports.ogp_layout import NAMES, M
from services.plans.imports.report import FieldError, err

FIRST_OGP_YEAR = 2011  # OGP was launched in September 2011


def whole(text: str, low: int, high: int) -> int | None:
    try:
        number = int(text.strip().removesuffix(".0"))
    except ValueError:
        return None
    return number if low <= number <= high else None


def split_cell(text: str, pattern: str) -> list[str]:
    if not_assessed(text) is not None:
        return []
    return [s.strip() for s in re.split(pattern, text) if s.strip()]


class RowCells:
    """The cells of one row by meaning, and what is wrong with them (collected, never raised)."""

    def __init__(self, line: int, cells: Mapping[str, str], sheet: Sheet) -> None:
        self.line, self.cells, self.sheet = line, cells, sheet
        self.errors: list[FieldError] = []
        self.warnings: list[FieldError] = []
        self.unread: dict[str, str] = {}  # mapped cells kept as written (a date we cannot read)

    def name(self, m: M) -> str:
        return self.sheet.columns.get(m, NAMES[m])

    def cell(self, m: M) -> str:
        name = self.sheet.columns.get(m)
        return self.cells.get(name, "") if name else ""

    def given(self, m: M) -> str:
        """The cell, or "" when it is empty or a not-assessed code (ND, NR, NA)."""
        value = self.cell(m)
        return "" if not value or not_assessed(value) is not None else value

    def error(self, m: M, message: str) -> None:
        self.errors.append(err(self.name(m), message))

    def warn(self, m: M, message: str) -> None:
        self.warnings.append(err(self.name(m), message))

    def scale(self, m: M, enum: type[StrEnum]) -> Scaled[Any]:
        try:
            return scaled(enum, self.cell(m))
        except ValueError as exc:
            self.error(m, str(exc))
            return Scaled()

    def flag(self, m: M) -> bool | str | None:
        """True/False, a not-assessed reason, or None (empty or absent)."""
        try:
            read = yes_no(self.cell(m))
        except ValueError as exc:
            self.error(m, str(exc))
            return None
        return read if isinstance(read, bool) else read.reason
