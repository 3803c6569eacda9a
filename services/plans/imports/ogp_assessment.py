"""What OGP's commitments database says of a commitment's IRM assessment (no I/O): the scales of
both methodologies with the reason a field was not assessed, and OGP's own stars beside the
versioned rule's.

Kept in the commitment's ``irm`` block :data:`LEGACY_KEY`: the 2014 methodology's scales at its
top level (as the importer always stored them), the current one's under ``current``, each field
not assessed under ``not_assessed`` with its reason (``no_data`` for ND...)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.plans.imports.csv_table import http_url
from services.plans.imports.ogp_cells import Scaled
from services.plans.imports.ogp_layout import M
from services.plans.imports.ogp_row import FIRST_OGP_YEAR, RowCells, whole
from shared.db import Row
from shared.scales import (
    STAR_TRANSFORMATIVE_ONLY_FROM,
    Completion,
    DidItOpenGovernment,
    EarlyResults,
    PotentialForResults,
    PotentialImpact,
    ScaleVersion,
    Specificity,
    legacy_star,
)

#: Key of the commitment's ``irm`` block that keeps what OGP's database said about it.
LEGACY_KEY = "legacy_import"
LEGACY_SCALE_VERSION = ScaleVersion.LEGACY_2014.value
CURRENT_SCALE_VERSION = ScaleVersion.IRM_2021.value

#: The scales of the legacy block (its own keys), each with its enum.
LEGACY_SCALES: dict[M, type[StrEnum]] = {
    M.SPECIFICITY: Specificity,
    M.POTENTIAL_IMPACT: PotentialImpact,
    M.COMPLETION: Completion,
    M.COMPLETION_END: Completion,
    M.DIOG: DidItOpenGovernment,
    M.DIOG_ACCESS: DidItOpenGovernment,
    M.DIOG_PARTICIPATION: DidItOpenGovernment,
    M.DIOG_ACCOUNTABILITY: DidItOpenGovernment,
}
#: The current methodology's scales (its own sub-block).
CURRENT_SCALES: dict[M, type[StrEnum]] = {
    M.POTENTIAL_FOR_RESULTS: PotentialForResults,
    M.EARLY_RESULTS: EarlyResults,
}


class ChangeInCompletion(StrEnum):
    INCREASE = "increase"
    NO_CHANGE = "no_change"
    DECREASE = "decrease"


#: OGP's own star columns → the completion they judge and the rule's bar (a report year).
STAR_COLUMNS: dict[M, tuple[M, int | None]] = {
    M.STARRED_2015: (M.COMPLETION, None),  # the rule as first published: moderate impact suffices
    M.STARRED_PROGRESS: (M.COMPLETION, STAR_TRANSFORMATIVE_ONLY_FROM),
    M.STARRED_END: (M.COMPLETION_END, STAR_TRANSFORMATIVE_ONLY_FROM),
}
_MAPPED = (*LEGACY_SCALES, *CURRENT_SCALES, M.VERIFIABLE, M.CHANGE_IN_COMPLETION, M.NUMBER, M.URL,
           M.REPORT_YEAR, M.REPORT_YEAR_END, M.CLUSTER, M.CARRIED_FORWARD, *STAR_COLUMNS)  # fmt: skip
_CORE_VALUES = ("value_access_to_information", "value_civic_participation", "value_public_accountability")


@dataclass(frozen=True, slots=True)
class StarCheck:
    """OGP's star in one of its columns beside ours by the same rule."""

    column: str
    ogp: bool
    ours: bool


def assessment(r: RowCells) -> Row | None:
    """The block of the row: None when the file has none of its columns, {} when its cells
    are all empty."""
    if not any(r.sheet.has(m) for m in _MAPPED):
        return None
    block: Row = {}
    current: Row = {}
    reasons: dict[str, str] = {}

    def put(into: Row, m: M, read: Scaled[Any] | bool | str | None) -> None:
        """A value into its block, or the reason it was not assessed into ``not_assessed``."""
        if isinstance(read, Scaled):
            value, reason = (read.value.value if read.value is not None else None), read.reason
        else:  # a yes/no cell: True/False, or a reason
            value, reason = (read, None) if isinstance(read, bool) else (None, read)
        if value is not None:
            into[m.value] = value
        elif reason:
            reasons[m.value] = reason

    for m, enum in LEGACY_SCALES.items():
        put(block, m, r.scale(m, enum))
    for m, enum in CURRENT_SCALES.items():
        put(current, m, r.scale(m, enum))
    put(current, M.VERIFIABLE, r.flag(M.VERIFIABLE))
    put(block, M.CHANGE_IN_COMPLETION, r.scale(M.CHANGE_IN_COMPLETION, ChangeInCompletion))
    for m in (M.REPORT_YEAR, M.REPORT_YEAR_END):
        if r.given(m):
            year = whole(r.given(m), FIRST_OGP_YEAR, 2100)
            if year is None:
                r.error(m, f"{r.cell(m)!r} is not a year")
            else:
                block[m.value] = year
    carried = r.flag(M.CARRIED_FORWARD)
    if isinstance(carried, bool):
        block[M.CARRIED_FORWARD.value] = carried
    if r.given(M.CLUSTER) not in ("", "0"):
        block[M.CLUSTER.value] = r.given(M.CLUSTER)
    starred = {m.value: said for m in STAR_COLUMNS if isinstance(said := r.flag(m), bool)}
    if starred:
        block["ogp_starred"] = starred
    if r.given(M.NUMBER):
        block["ogp_commitment_number"] = r.given(M.NUMBER)
    if r.given(M.URL):
        if not http_url(r.given(M.URL)):
            r.error(M.URL, f"{r.cell(M.URL)!r} is not an http(s) URL")
        block["url"] = r.given(M.URL)
    if current:
        block["current"] = {"scale_version": CURRENT_SCALE_VERSION, **current}
    if reasons:
        block["not_assessed"] = reasons
    if r.given(M.PLAN_ID):
        block["ogp_action_plan_id"] = r.given(M.PLAN_ID)
    if block:
        block["scale_version"] = LEGACY_SCALE_VERSION
    return block


def relevant(fields: Row, base: Row | None = None) -> bool:
    """Relevant to a core OGP value (technology counts only on top of one): ``fields`` over
    ``base``, the commitment as stored."""
    base = base or {}
    return any(bool(fields.get(k, base.get(k, False))) for k in _CORE_VALUES)


def star(block: Row, *, relevant: bool, completion: M = M.COMPLETION, report_year: int | None) -> bool | None:
    """The versioned star rule (``shared.scales.legacy_star``) on the block's scales."""
    return legacy_star(
        specificity=block.get(M.SPECIFICITY.value),
        relevant=relevant,
        potential_impact=block.get(M.POTENTIAL_IMPACT.value),
        completion=block.get(completion.value),
        report_year=report_year,
    )


def star_checks(r: RowCells, block: Row, fields: Row) -> list[StarCheck]:
    """OGP's star columns beside the rule applied to the same row."""
    said: Row = block.get("ogp_starred", {})
    checks: list[StarCheck] = []
    for m, (completion, bar_year) in STAR_COLUMNS.items():
        if m.value in said:
            ours = star(block, relevant=relevant(fields), completion=completion, report_year=bar_year)
            if ours is not None:
                checks.append(StarCheck(r.name(m), said[m.value], ours))
    return checks
