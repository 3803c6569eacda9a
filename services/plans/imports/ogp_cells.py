"""What a cell of OGP's commitments database means, beyond its column (no I/O): the codes that
say a commitment was not assessed, the wordings of each scale over the years, and dates written
in the many ways the database holds them.

Why so tolerant: the database is OGP's, filled by many hands since 2011. A cell we cannot read
is kept as it was written (the commitment's source data) with a warning, never a failed row;
only a cell that claims to be a value and is not one fails its row.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from shared.scales import NOT_ASSESSED, parse_label

S = TypeVar("S", bound=StrEnum)

#: Cells that say "not assessed", and why (the reason is kept with the commitment).
NOT_ASSESSED_REASONS: dict[str, str] = {
    "nd": "no_data",
    "nr": "not_reviewed",
    "na": "not_applicable",
    "n/a": "not_applicable",
    "not applicable": "not_applicable",
    "no early results to report yet": "no_early_results_yet",
    "not specified": "not_specified",
    "unclear": "unclear",
    "withdrawn": "withdrawn",
}
#: How the OGP layout writes each reason back (the export): the import reads it as the same reason.
REASON_CODES: dict[str, str] = {
    "no_data": "ND",
    "not_reviewed": "NR",
    "not_applicable": "NA",
    "no_early_results_yet": "No early results to report yet",
    "not_specified": "Not Specified",
    "unclear": "Unclear",
    "withdrawn": "Withdrawn",
}
assert set(NOT_ASSESSED_REASONS) >= NOT_ASSESSED

_LETTER_PREFIX = re.compile(r"^[a-e][.)]\s+", re.IGNORECASE)  # older files: "a. Low", "d. Complete"


def words(text: str) -> str:
    """A cell compared case-, space- and punctuation-insensitively."""
    return " ".join(text.replace("_", " ").split()).casefold()


def not_assessed(text: str) -> str | None:
    """The reason a cell gives for "not assessed", or None when it says something else."""
    return NOT_ASSESSED_REASONS.get(words(text))


@dataclass(frozen=True, slots=True)
class Scaled(Generic[S]):
    """A scale cell read: a value, a reason it was not assessed, or nothing (an empty cell)."""

    value: S | None = None
    reason: str | None = None


def scaled(scale: type[S], text: str) -> Scaled[S]:
    """Read a scale cell. A value of the scale wins over a code ("Unclear" is a potential for
    results); raises ValueError naming the allowed values for anything else."""
    plain = _LETTER_PREFIX.sub("", text.strip())
    if not plain:
        return Scaled()
    try:
        value = parse_label(scale, plain)
    except ValueError:
        value = None
    if value is not None:
        return Scaled(value=value)
    reason = not_assessed(plain)
    if reason is not None:
        return Scaled(reason=reason)
    allowed = ", ".join(v.value.replace("_", " ") for v in scale)
    raise ValueError(f"{text!r} is not one of: {allowed} (or ND, NR, NA)")


def label_of(value: str) -> str:
    """How the OGP layout writes a scale value (an enum's or as stored): "Not Started",
    "Did Not Change"."""
    return str(value).replace("_", " ").title()


# --- yes / no ------------------------------------------------------------------------------------

_YES = frozenset({"yes", "y", "x", "1", "true", "1.0"})
_NO = frozenset({"no", "n", "0", "false", "0.0", "-"})


def yes_no(text: str) -> Scaled[StrEnum] | bool:
    """A 0/1 or Yes/No cell: True, False, or not assessed (with the reason) / empty (Scaled)."""
    w = words(text)
    if w in _YES:
        return True
    if w in _NO:
        return False
    if not w:
        return Scaled()
    reason = not_assessed(w)
    if reason is not None:
        return Scaled(reason=reason)
    raise ValueError(f"{text!r} is not a yes/no value (1, 0, Yes, No, or ND, NR, NA)")


# --- dates ---------------------------------------------------------------------------------------

_MONTHS = (
    {name.casefold(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_EXCEL_EPOCH = date(1899, 12, 30)
_NUMERIC = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?[\s,-]+(\d{4}|\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = (
    re.compile(r"^(?:q|quarter)\s*([1-4]|i{1,3}|iv)[\s,]+(?:of\s+)?(\d{4})$"),  # Quarter 1 2014, Q3 2020
    re.compile(r"^([1-4]|i{1,3}|iv)(?:st|nd|rd|th)?\s+quarter(?:\s+of)?[\s,]+(\d{4})$"),  # IV quarter of 2021
)
_EXCEL = re.compile(r"^(\d{5})(?:\.0+)?$")


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date


def _year(text: str) -> int:
    """A two-digit year is this century's up to 69, the last's from 70 (as spreadsheets read it);
    a year before OGP is then refused as implausible, not taken for a future one."""
    y = int(text)
    if y >= 100:
        return y
    return y + 2000 if y < 70 else y + 1900


def _period(text: str) -> Period | None:
    t = words(text).rstrip(".")
    if m := _NUMERIC.match(t):
        a, b, y = int(m[1]), int(m[2]), _year(m[3])
        month, day = (b, a) if a > 12 else (a, b)  # M/D as OGP writes; D/M when the first cannot be a month
        d = date(y, month, day)
        return Period(d, d)
    if m := _ISO.match(t):
        d = date(int(m[1]), int(m[2]), int(m[3]))
        return Period(d, d)
    if (m := _MONTH_YEAR.match(t)) and m[1] in _MONTHS:
        y, month = _year(m[2]), _MONTHS[m[1]]
        return Period(date(y, month, 1), date(y, month, calendar.monthrange(y, month)[1]))
    if m := _YEAR.match(t):
        y = int(m[1])
        return Period(date(y, 1, 1), date(y, 12, 31))
    for pattern in _QUARTER:
        if m := pattern.match(t):
            q = int(m[1]) if m[1].isdigit() else _ROMAN[m[1]]
            y = int(m[2])
            last_month = 3 * q
            return Period(
                date(y, last_month - 2, 1), date(y, last_month, calendar.monthrange(y, last_month)[1])
            )
    if m := _EXCEL.match(t):  # a spreadsheet's day number that lost its date format
        d = _EXCEL_EPOCH + timedelta(days=int(m[1]))
        return Period(d, d)
    return None


def ogp_date(text: str, *, end: bool) -> tuple[date | None, str | None]:
    """A start (``end=False``) or end date as the database writes it: ``1/1/2024``,
    ``30/9/2014``, ``9/1/18``, ``July 2014``, ``2014``, ``Quarter 1 2014``, ``IV quarter of 2021``,
    a spreadsheet day number. A month, quarter or year means its first day for a start and its
    last day for an end. Returns (date, None), (None, None) for an empty or not-assessed cell, or
    (None, warning) for a cell that is not a date we can read (``Ongoing``)."""
    if not text.strip() or not_assessed(text) is not None:
        return None, None
    try:
        period = _period(text)
    except ValueError:  # 2/30/2020
        period = None
    if period is None:
        return None, f"{text!r} is not a date this import can read; kept as written"
    if period.first.year < 1990 and 1990 <= (period.first - _EXCEL_EPOCH).days <= 2100:
        # A year typed into a cell formatted as a date: 2023 shows as 7/15/1905 (day 2023).
        y = (period.first - _EXCEL_EPOCH).days
        period = Period(date(y, 1, 1), date(y, 12, 31))
    d = period.last if end else period.first
    if not date(1990, 1, 1) <= d <= date(2100, 12, 31):
        return None, f"{text!r} is not a plausible date; kept as written"
    return d, None
