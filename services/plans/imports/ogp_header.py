"""The header of OGP's commitments database, read by meaning (no I/O): which column of one file
means what, which columns are kept as source data, which are dropped because they identify a
person, and the refusals of a header that cannot be imported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.plans.imports.csv_table import CsvRecord, CsvSource, read_table
from services.plans.imports.ogp_layout import NAMES, REQUIRED, M, area_flag_of, meaning_of, personal
from shared.errors import Invalid


def is_header(cells: list[str]) -> bool:
    """A header row names the commitment's identifier."""
    return any(meaning_of(c) is M.ID for c in cells)


@dataclass(frozen=True, slots=True)
class Sheet:
    """What each column of one file means."""

    columns: dict[M, str]  # meaning → the file's own header name
    areas: dict[str, str]  # the file's header name → the policy area it flags
    source: tuple[str, ...]  # columns kept as source data, in the file's order
    dropped: tuple[str, ...]  # columns that identify a person: not kept

    def has(self, meaning: M) -> bool:
        return meaning in self.columns


def read_header(header: list[str]) -> Sheet:
    """Match the header by meaning. Refused (:class:`Invalid`, 422): a meaning given by two
    columns, or a required one missing. Unknown columns are never refused."""
    columns: dict[M, str] = {}
    areas: dict[str, str] = {}
    source: list[str] = []
    dropped: list[str] = []
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in header:
        if not name or name in seen:
            if name:
                errors.append((name, "column given twice"))
            continue
        seen.add(name)
        meaning = meaning_of(name)
        if meaning is not None:
            if meaning in columns:
                errors.append((name, f"the same column as {columns[meaning]!r}"))
            else:
                columns[meaning] = name
        elif (area := area_flag_of(name)) is not None:
            areas[name] = area
        elif personal(name):
            dropped.append(name)
        else:
            source.append(name)
    errors += [(NAMES[m], "required column missing") for m in REQUIRED if m not in columns]
    if errors:
        detail = "; ".join(f"{f}: {m}" for f, m in errors)
        raise Invalid.many(f"invalid header: {detail}", errors)
    return Sheet(columns, areas, tuple(source), tuple(dropped))


def read_sheet(source: CsvSource) -> tuple[Sheet, Iterator[CsvRecord]]:
    """The file's columns by meaning, and its records (:class:`Invalid` for a file that cannot
    be imported at all)."""
    header, records = read_table(source, is_header, f"the commitment identifier ({NAMES[M.ID]!r})")
    return read_header(header), records
