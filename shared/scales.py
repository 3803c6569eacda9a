"""The IRM's scales, versioned: the vocabulary of ``CommitmentAssessed`` and of OGP's spreadsheet.

Shared contract vocabulary (not a service's code): the IRM service codes commitments on these
scales and the plans importer reads OGP's legacy columns on them, so both apply the same legacy
star rule. OGP changed its scales over the years; an assessment names its ``scale_version`` and
keeps the labels of that version.

==============  =============================================================================
version         fields
==============  =============================================================================
legacy-2014     specificity, relevance, potential_impact, completion, did_it_open_government
                (the star is derived, by the report year's rule)
irm-2020        specificity, relevance, potential_for_results, promising, completion,
                did_it_open_government (potential for results replaced potential impact)
irm-2021        verifiable, relevance, potential_for_results, promising, completion,
                early_results (verifiable replaced specificity; early results replaced "did it
                open government")
==============  =============================================================================
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

S = TypeVar("S", bound=StrEnum)


class ScaleVersion(StrEnum):
    LEGACY_2014 = "legacy-2014"
    IRM_2020 = "irm-2020"
    IRM_2021 = "irm-2021"


#: What a new assessment is coded on.
CURRENT = ScaleVersion.IRM_2021


class Specificity(StrEnum):
    """Legacy: medium or high counts as verifiable."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class PotentialImpact(StrEnum):
    """Legacy (before 2020)."""

    NONE = "none"
    MINOR = "minor"
    MODERATE = "moderate"
    TRANSFORMATIVE = "transformative"


class PotentialForResults(StrEnum):
    """Since 2020."""

    UNCLEAR = "unclear"
    MODEST = "modest"
    SUBSTANTIAL = "substantial"


class Completion(StrEnum):
    """Substantial or complete is "high completion"."""

    NO_EVIDENCE = "no_evidence"
    NOT_STARTED = "not_started"
    LIMITED = "limited"
    SUBSTANTIAL = "substantial"
    COMPLETE = "complete"


class EarlyResults(StrEnum):
    """Since 2021."""

    NO_NOTABLE = "no_notable"
    MODEST = "modest"
    MODERATE = "moderate"
    SIGNIFICANT = "significant"


class DidItOpenGovernment(StrEnum):
    """Legacy "did it open government?"."""

    WORSENED = "worsened"
    DID_NOT_CHANGE = "did_not_change"
    MARGINAL = "marginal"
    MAJOR = "major"
    OUTSTANDING = "outstanding"


#: Scale-coded fields (besides relevance) and the enum each takes; ``bool`` for yes/no.
FIELD_SCALES: dict[str, type[StrEnum] | type[bool]] = {
    "verifiable": bool,
    "specificity": Specificity,
    "potential_for_results": PotentialForResults,
    "potential_impact": PotentialImpact,
    "promising": bool,
    "completion": Completion,
    "early_results": EarlyResults,
    "did_it_open_government": DidItOpenGovernment,
}

#: The fields each version codes (relevance, per OGP value, is coded in every version).
VERSION_FIELDS: dict[ScaleVersion, frozenset[str]] = {
    ScaleVersion.LEGACY_2014: frozenset(
        {"specificity", "potential_impact", "completion", "did_it_open_government"}
    ),
    ScaleVersion.IRM_2020: frozenset(
        {"specificity", "potential_for_results", "promising", "completion", "did_it_open_government"}
    ),
    ScaleVersion.IRM_2021: frozenset(
        {"verifiable", "potential_for_results", "promising", "completion", "early_results"}
    ),
}

#: Spreadsheet wordings (compared case- and space-insensitively) that are not simply the value
#: with spaces for underscores. ND, NR and NA mean "not assessed" and are never a value.
_VARIANTS: dict[type[StrEnum], dict[str, str]] = {
    Completion: {"no evidence available": "no_evidence", "completed": "complete"},
    EarlyResults: {"no notable results": "no_notable", "no notable": "no_notable"},
    DidItOpenGovernment: {"worsens": "worsened", "did not change": "did_not_change"},
}
NOT_ASSESSED = frozenset({"nd", "nr", "na", "n/a"})


def parse_label(scale: type[S], text: str) -> S | None:
    """The scale value a spreadsheet cell or request means; None for an empty cell or a
    not-assessed code (ND, NR, NA). Raises ValueError for anything else that is not a value."""
    words = " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()
    if not words or words in NOT_ASSESSED:
        return None
    value = _VARIANTS.get(scale, {}).get(words, re.sub(" ", "_", words))
    return scale(value)


# --- the legacy star ---------------------------------------------------------------------------

#: From the reports of this year on, a star needs a *transformative* potential impact.
STAR_TRANSFORMATIVE_ONLY_FROM = 2015
_HIGH_COMPLETION = frozenset({Completion.SUBSTANTIAL, Completion.COMPLETE})
_SPECIFIC = frozenset({Specificity.MEDIUM, Specificity.HIGH})


def star_impact_bar(report_year: int | None) -> frozenset[PotentialImpact]:
    """The potential impacts a starred commitment may have, by the IRM report's year. Without a
    year: the rule as first published (moderate or transformative), which is what the plans
    importer has always applied to sheets that do not say the report's year."""
    if report_year is not None and report_year >= STAR_TRANSFORMATIVE_ONLY_FROM:
        return frozenset({PotentialImpact.TRANSFORMATIVE})
    return frozenset({PotentialImpact.MODERATE, PotentialImpact.TRANSFORMATIVE})


def legacy_star(
    *,
    specificity: str | None,
    relevant: bool | None,
    potential_impact: str | None,
    completion: str | None,
    report_year: int | None,
) -> bool | None:
    """OGP's legacy star commitment: specificity medium or high, relevant to an OGP value, a
    potential impact over the report year's bar (:func:`star_impact_bar`), and substantially or
    fully complete. None (not computable) until the three scales and the relevance are known."""
    if specificity is None or relevant is None or potential_impact is None or completion is None:
        return None
    return (
        specificity in _SPECIFIC
        and relevant
        and potential_impact in star_impact_bar(report_year)
        and completion in _HIGH_COMPLETION
    )
