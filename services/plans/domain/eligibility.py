"""OGP core eligibility and the values check, scored for one member and one year, free of I/O.

OGP admits only governments that already show a minimum of openness, measured by third parties rather
than self-declared, so that joining is a signal nobody can buy with promises. Four areas count,
each worth up to 4 points; a government must earn at least 75% of the points of the areas that are
actually measured. Because not every index covers every country, an area without data is left out
of both the earned and the possible points rather than counted as zero: a country is not punished
for a gap in someone else's survey. With fewer than three areas measured, 75% of what remains says
too little, so OGP reports "not enough data" instead of a verdict.

Since 2017 a country that wants to *join* must also pass the values check (two V-Dem civic-space
indicators), because a government that represses civil society cannot co-create with it, however
good its laws look on paper. Existing members are not re-tested against it.

The rules have changed over the years, so they are a versioned value (:class:`EligibilityRules`):
an old year is re-scored with the rules that were in force then, not with today's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

AREA_MAX_POINTS: Final = 4
"""Each of the four areas is worth the same, so no single index can carry a country on its own."""

AREA_COUNT: Final = 4


class AccessToInformation(StrEnum):
    """How a country guarantees the right to information, strongest first.

    A law is enforceable by anyone who asks, so it scores highest; a constitutional provision is a
    real right but usually lacks the procedure (deadlines, appeals) to claim it; a draft law shows
    intent only. OGP gives a country with both a constitutional provision and a draft law the
    constitutional score, so callers pass the strongest guarantee that exists.
    """

    LAW = "law"
    CONSTITUTIONAL = "constitutional"
    DRAFT = "draft"
    NONE = "none"


ACCESS_TO_INFORMATION_POINTS: Final[dict[AccessToInformation, int]] = {
    AccessToInformation.LAW: 4,
    AccessToInformation.CONSTITUTIONAL: 3,
    AccessToInformation.DRAFT: 1,
    AccessToInformation.NONE: 0,
}

_ACCESS_TO_INFORMATION_LABEL: Final[dict[AccessToInformation, str]] = {
    AccessToInformation.LAW: "law",
    AccessToInformation.CONSTITUTIONAL: "constitutional provision",
    AccessToInformation.DRAFT: "draft law",
    AccessToInformation.NONE: "no law, provision or draft",
}


class EligibilityStatus(StrEnum):
    """Three outcomes, not two: too little data is not a failure and must not read as one."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    """The rules in force for a period, so that past years are re-scored as OGP scored them then.

    ``pass_mark`` is a share of the *measured* points (OGP: 75%, i.e. 12/16 or 9/12). It is compared
    as an exact decimal, so 9/12 passes at 0.75 without floating-point luck.

    ``min_measured_areas``: below this many measured areas OGP gives no verdict (OGP: 3).

    ``values_check_since``: first year in which joining countries had to pass the values check
    (OGP: 2017); ``None`` for rule sets that predate it.

    ``values_min_score`` and ``values_require_both``: the values check reads two V-Dem indicators on
    V-Dem's 0-4 ordinal scale, "CSO entry and exit" (0 = monopolistic state control of civil
    society, 4 = unconstrained) and "CSO repression" (0 = severe, 4 = none). OGP publishes the
    cut-off on its eligibility page; the exact threshold and whether one indicator or both must
    clear it were NOT verified when this module was written. The default is deliberately strict:
    each indicator must score at least 3 (minimal control / weak repression). Check it against
    OGP's current page and publish a new rule set if it differs, rather than editing this one.
    """

    version: str
    pass_mark: float = 0.75
    min_measured_areas: int = 3
    values_check_since: int | None = 2017
    values_min_score: int = 3
    values_require_both: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.pass_mark <= 1:
            raise ValueError(f"pass_mark must be in (0, 1], got {self.pass_mark}")
        if not 1 <= self.min_measured_areas <= AREA_COUNT:
            raise ValueError(f"min_measured_areas must be 1..{AREA_COUNT}, got {self.min_measured_areas}")
        if not 0 <= self.values_min_score <= AREA_MAX_POINTS:
            raise ValueError(f"values_min_score must be 0..4, got {self.values_min_score}")


OGP_2011: Final = EligibilityRules(version="ogp-2011", values_check_since=None)
"""Core eligibility as launched: the 75% pass mark over measured areas, no values check."""

OGP_2017: Final = EligibilityRules(version="ogp-2017")
"""Adds the values check for joining countries (see :class:`EligibilityRules` on its threshold)."""

CURRENT: Final = OGP_2017

RULESETS: Final[Mapping[str, EligibilityRules]] = {r.version: r for r in (OGP_2011, OGP_2017)}
"""Rule sets by version string, so a stored score can name the rules it was computed under."""


_Score = Annotated[int, Field(ge=0, le=4, strict=True)]
_Flag = Annotated[bool, Field(strict=True)]


class EligibilityInput(BaseModel):
    """What the third-party sources say about one member in one year.

    ``None`` means "this source does not cover the country", never "no": a missing measurement is
    left out of the points possible, while ``False`` / ``none`` / ``0`` is a measured zero. Numbers
    and booleans are strict so that ``"yes"`` or ``1`` cannot slip in as a measurement.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    member_id: UUID | None = None
    year: Annotated[int, Field(ge=2011, le=2100, strict=True)]
    joining: _Flag = False
    """True for a country applying to join: only joining countries face the values check."""

    budget_proposal_published: _Flag | None = None
    """Open Budget Survey: the Executive's Budget Proposal was published on time."""
    audit_report_published: _Flag | None = None
    """Open Budget Survey: the audit report was published."""

    access_to_information: AccessToInformation | None = None

    asset_disclosure_law: _Flag | None = None
    """A law requires senior officials to disclose their assets."""
    asset_disclosures_public: _Flag = False
    """The disclosures are open to the public (counts only together with a law)."""

    civil_liberties: _Score | None = None
    """Third-party civil-liberties indicator, already on OGP's 0-4 scale."""

    cso_entry_exit: _Score | None = None
    """V-Dem "CSO entry and exit", ordinal 0-4 (values check)."""
    cso_repression: _Score | None = None
    """V-Dem "CSO repression", ordinal 0-4 (values check)."""

    @model_validator(mode="after")
    def _fiscal_both_or_neither(self) -> EligibilityInput:
        # Both documents come from the same Open Budget Survey questionnaire: a country is covered
        # for both or for neither, so one known and one unknown is a data-entry error.
        if (self.budget_proposal_published is None) != (self.audit_report_published is None):
            raise ValueError(
                "budget_proposal_published and audit_report_published must both be given "
                "or both be null (the Open Budget Survey covers a country for both or neither)"
            )
        return self


@dataclass(frozen=True, slots=True)
class ValuesCheck:
    """``passed`` is ``None`` when the check does not apply, or applies but V-Dem has no score."""

    applies: bool
    passed: bool | None


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """A score with its working shown, so a government can see which area to improve.

    Area points are ``None`` when the area was not measured. ``percentage`` is
    ``100 * points_earned / points_possible`` (``None`` when nothing was measured); it is reported
    even when the status is ``not_enough_data``, as information, not as a verdict.
    """

    member_id: UUID | None
    year: int
    fiscal_transparency: int | None
    access_to_information: int | None
    asset_disclosure: int | None
    civil_liberties: int | None
    areas_measured: int
    points_earned: int
    points_possible: int
    percentage: float | None
    status: EligibilityStatus
    values_check: ValuesCheck
    rules_version: str
    reasons: tuple[str, ...]


def _fiscal_transparency(inputs: EligibilityInput) -> tuple[int | None, str]:
    """Budget proposal and audit are the two ends of budget accountability: what the government
    plans to spend, and what an independent auditor found it actually spent. Each is half the area.
    """
    budget, audit = inputs.budget_proposal_published, inputs.audit_report_published
    if budget is None or audit is None:
        return None, "fiscal transparency: not measured"
    points = (2 if budget else 0) + (2 if audit else 0)
    budget_text = "Executive Budget Proposal published on time" if budget else "no timely budget proposal"
    audit_text = "audit report published" if audit else "no published audit report"
    return points, f"fiscal transparency: {budget_text}, {audit_text} = {points}/4"


def _access_to_information(inputs: EligibilityInput) -> tuple[int | None, str]:
    level = inputs.access_to_information
    if level is None:
        return None, "access to information: not measured"
    points = ACCESS_TO_INFORMATION_POINTS[level]
    return points, f"access to information: {_ACCESS_TO_INFORMATION_LABEL[level]} = {points}/4"


def _asset_disclosure(inputs: EligibilityInput) -> tuple[int | None, str]:
    """Publicity is a bonus on top of the law, never a substitute for it.

    Without a legal duty to disclose, whatever is published is voluntary, selective and can stop at
    any time, so it earns nothing; the reason says so, so the zero does not look like a data error.
    """
    law = inputs.asset_disclosure_law
    if law is None:
        return None, "asset disclosure: not measured"
    if not law:
        if inputs.asset_disclosures_public:
            return 0, "asset disclosure: no law (public disclosure earns points only with a law) = 0/4"
        return 0, "asset disclosure: no law = 0/4"
    if inputs.asset_disclosures_public:
        return 4, "asset disclosure: law, disclosures public = 4/4"
    return 2, "asset disclosure: law, disclosures not public = 2/4"


def _civil_liberties(inputs: EligibilityInput) -> tuple[int | None, str]:
    """Open government needs citizens free to speak and organise; the indicator is taken as given."""
    value = inputs.civil_liberties
    if value is None:
        return None, "citizen engagement: not measured"
    return value, f"citizen engagement: civil-liberties score {value} = {value}/4"


def _values_check(inputs: EligibilityInput, rules: EligibilityRules) -> tuple[ValuesCheck, str]:
    """Only joining countries are checked: OGP chose to gate entry, not to expel existing members
    (they fall under OGP's separate procedural-review process instead)."""
    if not inputs.joining:
        return ValuesCheck(applies=False, passed=None), "values check: not applicable (existing member)"
    if rules.values_check_since is None or inputs.year < rules.values_check_since:
        return ValuesCheck(applies=False, passed=None), (
            f"values check: not applicable (not part of rules {rules.version} for {inputs.year})"
        )
    entry_exit, repression = inputs.cso_entry_exit, inputs.cso_repression
    if entry_exit is None or repression is None:
        return ValuesCheck(applies=True, passed=None), "values check: not enough data (V-Dem score missing)"
    ok = [score >= rules.values_min_score for score in (entry_exit, repression)]
    passed = all(ok) if rules.values_require_both else any(ok)
    need = "each" if rules.values_require_both else "at least one"
    return ValuesCheck(applies=True, passed=passed), (
        f"values check: CSO entry and exit {entry_exit}, CSO repression {repression} "
        f"({need} must be >= {rules.values_min_score}): {'passed' if passed else 'failed'}"
    )


def score(inputs: EligibilityInput, rules: EligibilityRules = CURRENT) -> EligibilityResult:
    """Score one member for one year under ``rules``.

    The pass mark applies to measured points only, so a country is judged on the evidence that
    exists; the minimum number of measured areas stops that fairness from turning into a verdict
    based on one or two indicators.
    """
    fiscal, fiscal_reason = _fiscal_transparency(inputs)
    ati, ati_reason = _access_to_information(inputs)
    assets, assets_reason = _asset_disclosure(inputs)
    liberties, liberties_reason = _civil_liberties(inputs)
    measured = [p for p in (fiscal, ati, assets, liberties) if p is not None]

    earned = sum(measured)
    possible = AREA_MAX_POINTS * len(measured)
    percentage = 100 * earned / possible if possible else None
    pass_mark = Fraction(str(rules.pass_mark))
    mark_text = f"{float(pass_mark) * 100:g}%"

    if len(measured) < rules.min_measured_areas:
        status = EligibilityStatus.NOT_ENOUGH_DATA
        verdict = (
            f"{len(measured)} of {AREA_COUNT} areas measured, {rules.min_measured_areas} needed: "
            "not enough data"
        )
    else:
        ok = Fraction(earned, possible) >= pass_mark
        status = EligibilityStatus.ELIGIBLE if ok else EligibilityStatus.NOT_ELIGIBLE
        verdict = (
            f"total: {earned}/{possible} = {percentage:g}% "
            f"{'>=' if ok else '<'} {mark_text} pass mark: {'eligible' if ok else 'not eligible'}"
        )

    values, values_reason = _values_check(inputs, rules)
    return EligibilityResult(
        member_id=inputs.member_id,
        year=inputs.year,
        fiscal_transparency=fiscal,
        access_to_information=ati,
        asset_disclosure=assets,
        civil_liberties=liberties,
        areas_measured=len(measured),
        points_earned=earned,
        points_possible=possible,
        percentage=percentage,
        status=status,
        values_check=values,
        rules_version=rules.version,
        reasons=(fiscal_reason, ati_reason, assets_reason, liberties_reason, verdict, values_reason),
    )


def result_json(result: EligibilityResult) -> dict[str, object]:
    """The stored and returned form of a score (JSON values)."""
    data = asdict(result)
    data["member_id"] = str(data["member_id"]) if data["member_id"] else None
    data["status"] = result.status.value
    data["reasons"] = list(result.reasons)
    return data
