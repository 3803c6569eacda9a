from __future__ import annotations

from fractions import Fraction
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.plans.domain.eligibility import (
    CURRENT,
    OGP_2011,
    OGP_2017,
    RULESETS,
    AccessToInformation,
    EligibilityInput,
    EligibilityRules,
    EligibilityStatus,
    ValuesCheck,
    score,
)

ATI = AccessToInformation

FULL_MARKS: dict[str, Any] = {
    "year": 2024,
    "budget_proposal_published": True,
    "audit_report_published": True,
    "access_to_information": ATI.LAW,
    "asset_disclosure_law": True,
    "asset_disclosures_public": True,
    "civil_liberties": 4,
}


def make(**overrides: Any) -> EligibilityInput:
    return EligibilityInput(**{**FULL_MARKS, **overrides})


def no_fiscal() -> dict[str, Any]:
    return {"budget_proposal_published": None, "audit_report_published": None}


# --- worked examples -------------------------------------------------------------------------


def test_full_marks_in_all_four_areas_is_eligible() -> None:
    result = score(make())
    assert (result.fiscal_transparency, result.access_to_information) == (4, 4)
    assert (result.asset_disclosure, result.civil_liberties) == (4, 4)
    assert (result.points_earned, result.points_possible, result.areas_measured) == (16, 16, 4)
    assert result.percentage == 100.0
    assert result.status is EligibilityStatus.ELIGIBLE
    assert result.rules_version == "ogp-2017"
    assert "access to information: law = 4/4" in result.reasons


def test_exactly_twelve_of_sixteen_is_eligible() -> None:
    # 4 (fiscal) + 3 (constitutional) + 2 (law, not public) + 3 (civil liberties) = 12
    result = score(
        make(access_to_information=ATI.CONSTITUTIONAL, asset_disclosures_public=False, civil_liberties=3)
    )
    assert (result.points_earned, result.points_possible) == (12, 16)
    assert result.percentage == 75.0
    assert result.status is EligibilityStatus.ELIGIBLE
    assert "access to information: constitutional provision = 3/4" in result.reasons
    assert "asset disclosure: law, disclosures not public = 2/4" in result.reasons


def test_eleven_of_sixteen_is_not_eligible() -> None:
    # 2 (budget proposal only) + 3 + 2 + 4 = 11
    result = score(
        make(
            audit_report_published=False,
            access_to_information=ATI.CONSTITUTIONAL,
            asset_disclosures_public=False,
        )
    )
    assert (result.points_earned, result.points_possible) == (11, 16)
    assert result.percentage == pytest.approx(68.75)
    assert result.status is EligibilityStatus.NOT_ELIGIBLE
    assert any(r.startswith("total: 11/16") and r.endswith("not eligible") for r in result.reasons)


def test_three_areas_nine_of_twelve_is_eligible() -> None:
    # civil liberties not measured: 4 (fiscal) + 1 (draft law) + 4 (assets) = 9 of 12
    result = score(make(civil_liberties=None, access_to_information=ATI.DRAFT))
    assert result.civil_liberties is None
    assert (result.points_earned, result.points_possible, result.areas_measured) == (9, 12, 3)
    assert result.status is EligibilityStatus.ELIGIBLE
    assert "citizen engagement: not measured" in result.reasons


def test_three_areas_eight_of_twelve_is_not_eligible() -> None:
    # access to information not measured: 2 (audit only) + 2 (law, not public) + 4 = 8 of 12
    result = score(
        make(
            access_to_information=None,
            budget_proposal_published=False,
            asset_disclosures_public=False,
        )
    )
    assert result.access_to_information is None
    assert (result.points_earned, result.points_possible) == (8, 12)
    assert result.status is EligibilityStatus.NOT_ELIGIBLE


def test_two_areas_measured_is_not_enough_data_even_with_full_marks() -> None:
    result = score(make(**no_fiscal(), civil_liberties=None))
    assert (result.points_earned, result.points_possible, result.areas_measured) == (8, 8, 2)
    assert result.percentage == 100.0
    assert result.status is EligibilityStatus.NOT_ENOUGH_DATA
    assert any("not enough data" in r for r in result.reasons)


def test_one_area_measured_is_not_enough_data() -> None:
    result = score(EligibilityInput(year=2024, civil_liberties=4))
    assert result.areas_measured == 1
    assert result.status is EligibilityStatus.NOT_ENOUGH_DATA


def test_nothing_measured_is_not_enough_data_without_a_percentage() -> None:
    result = score(EligibilityInput(year=2024))
    assert (result.points_earned, result.points_possible, result.areas_measured) == (0, 0, 0)
    assert result.percentage is None
    assert result.status is EligibilityStatus.NOT_ENOUGH_DATA
    assert result.fiscal_transparency is None
    assert result.asset_disclosure is None


def test_measured_zeros_count_unlike_missing_data() -> None:
    result = score(
        EligibilityInput(
            year=2024,
            budget_proposal_published=False,
            audit_report_published=False,
            access_to_information=ATI.NONE,
            asset_disclosure_law=False,
            civil_liberties=0,
        )
    )
    assert (result.points_earned, result.points_possible) == (0, 16)
    assert result.status is EligibilityStatus.NOT_ELIGIBLE


@pytest.mark.parametrize(
    ("level", "points"),
    [(ATI.LAW, 4), (ATI.CONSTITUTIONAL, 3), (ATI.DRAFT, 1), (ATI.NONE, 0)],
)
def test_access_to_information_points(level: AccessToInformation, points: int) -> None:
    assert score(make(access_to_information=level)).access_to_information == points


def test_draft_law_is_one_point() -> None:
    result = score(make(access_to_information="draft"))
    assert result.access_to_information == 1
    assert "access to information: draft law = 1/4" in result.reasons


@pytest.mark.parametrize(
    ("budget", "audit", "points"),
    [(True, True, 4), (True, False, 2), (False, True, 2), (False, False, 0)],
)
def test_fiscal_transparency_two_points_per_document(budget: bool, audit: bool, points: int) -> None:
    result = score(make(budget_proposal_published=budget, audit_report_published=audit))
    assert result.fiscal_transparency == points


@pytest.mark.parametrize(
    ("law", "public", "points"),
    [(True, True, 4), (True, False, 2), (False, False, 0), (False, True, 0), (None, False, None)],
)
def test_asset_disclosure_points(law: bool | None, public: bool, points: int | None) -> None:
    assert score(make(asset_disclosure_law=law, asset_disclosures_public=public)).asset_disclosure == points


def test_public_disclosure_without_a_law_earns_nothing_and_says_why() -> None:
    result = score(make(asset_disclosure_law=False, asset_disclosures_public=True))
    assert result.asset_disclosure == 0
    assert "asset disclosure: no law (public disclosure earns points only with a law) = 0/4" in result.reasons


def test_civil_liberties_score_is_taken_as_given() -> None:
    result = score(make(civil_liberties=2))
    assert result.civil_liberties == 2
    assert "citizen engagement: civil-liberties score 2 = 2/4" in result.reasons


# --- values check ----------------------------------------------------------------------------


def test_values_check_passes_for_a_joining_country_above_the_threshold() -> None:
    result = score(make(joining=True, cso_entry_exit=3, cso_repression=4))
    assert result.values_check == ValuesCheck(applies=True, passed=True)
    assert any(r.startswith("values check:") and r.endswith("passed") for r in result.reasons)


@pytest.mark.parametrize(("entry_exit", "repression"), [(2, 4), (4, 2), (0, 0)])
def test_values_check_fails_when_either_indicator_is_low(entry_exit: int, repression: int) -> None:
    result = score(make(joining=True, cso_entry_exit=entry_exit, cso_repression=repression))
    assert result.values_check == ValuesCheck(applies=True, passed=False)
    # the values check is reported next to, not folded into, core eligibility
    assert result.status is EligibilityStatus.ELIGIBLE


def test_values_check_without_vdem_data_applies_but_is_undecided() -> None:
    result = score(make(joining=True, cso_entry_exit=4))
    assert result.values_check == ValuesCheck(applies=True, passed=None)


def test_values_check_does_not_apply_to_existing_members() -> None:
    result = score(make(joining=False, cso_entry_exit=0, cso_repression=0))
    assert result.values_check == ValuesCheck(applies=False, passed=None)
    assert "values check: not applicable (existing member)" in result.reasons


def test_values_check_does_not_apply_before_2017() -> None:
    result = score(make(year=2016, joining=True, cso_entry_exit=0, cso_repression=0))
    assert result.values_check == ValuesCheck(applies=False, passed=None)
    assert score(make(year=2017, joining=True, cso_entry_exit=0, cso_repression=0)).values_check.applies


def test_old_rules_have_no_values_check() -> None:
    result = score(make(joining=True, cso_entry_exit=0, cso_repression=0), OGP_2011)
    assert result.values_check.applies is False
    assert result.rules_version == "ogp-2011"


def test_values_threshold_is_configurable() -> None:
    inputs = make(joining=True, cso_entry_exit=2, cso_repression=2)
    assert score(inputs).values_check.passed is False
    lenient = EligibilityRules(version="test-lenient", values_min_score=2)
    assert score(inputs, lenient).values_check.passed is True
    either = EligibilityRules(version="test-either", values_require_both=False)
    assert score(make(joining=True, cso_entry_exit=1, cso_repression=3), either).values_check.passed is True
    assert score(make(joining=True, cso_entry_exit=1, cso_repression=2), either).values_check.passed is False


# --- versioned rules -------------------------------------------------------------------------


def test_current_rules_are_ogp_2017_and_listed_by_version() -> None:
    assert CURRENT is OGP_2017
    assert CURRENT.pass_mark == 0.75
    assert CURRENT.min_measured_areas == 3
    assert RULESETS["ogp-2011"] is OGP_2011
    assert RULESETS["ogp-2017"] is OGP_2017


def test_a_different_pass_mark_rescores_the_same_data() -> None:
    twelve = make(access_to_information=ATI.CONSTITUTIONAL, asset_disclosures_public=False, civil_liberties=3)
    stricter = EligibilityRules(version="test-80", pass_mark=0.8)
    assert score(twelve).status is EligibilityStatus.ELIGIBLE
    assert score(twelve, stricter).status is EligibilityStatus.NOT_ELIGIBLE
    assert score(twelve, stricter).rules_version == "test-80"


def test_minimum_measured_areas_is_part_of_the_rules() -> None:
    two_areas = make(**no_fiscal(), civil_liberties=None)
    assert score(two_areas, EligibilityRules(version="test-2", min_measured_areas=2)).status is (
        EligibilityStatus.ELIGIBLE
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"pass_mark": 0}, {"pass_mark": 1.5}, {"min_measured_areas": 0}, {"values_min_score": 5}],
)
def test_nonsense_rules_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        EligibilityRules(version="bad", **kwargs)


def test_rules_and_results_are_immutable() -> None:
    with pytest.raises(AttributeError):
        CURRENT.pass_mark = 0.5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        score(make()).points_earned = 0  # type: ignore[misc]


def test_result_echoes_member_and_year() -> None:
    member = uuid4()
    result = score(make(member_id=member, year=2019))
    assert (result.member_id, result.year) == (member, 2019)


# --- property --------------------------------------------------------------------------------

optional_bool = st.none() | st.booleans()
optional_score = st.none() | st.integers(min_value=0, max_value=4)


@st.composite
def inputs(draw: st.DrawFn) -> EligibilityInput:
    fiscal_measured = draw(st.booleans())
    return EligibilityInput(
        year=draw(st.integers(min_value=2011, max_value=2100)),
        joining=draw(st.booleans()),
        budget_proposal_published=draw(st.booleans()) if fiscal_measured else None,
        audit_report_published=draw(st.booleans()) if fiscal_measured else None,
        access_to_information=draw(st.none() | st.sampled_from(list(ATI))),
        asset_disclosure_law=draw(optional_bool),
        asset_disclosures_public=draw(st.booleans()),
        civil_liberties=draw(optional_score),
        cso_entry_exit=draw(optional_score),
        cso_repression=draw(optional_score),
    )


@given(
    data=inputs(),
    pass_mark=st.sampled_from([0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0]),
    min_areas=st.integers(min_value=1, max_value=4),
)
def test_percentage_and_status_follow_from_the_points(
    data: EligibilityInput, pass_mark: float, min_areas: int
) -> None:
    rules = EligibilityRules(version="prop", pass_mark=pass_mark, min_measured_areas=min_areas)
    result = score(data, rules)
    areas = [
        result.fiscal_transparency,
        result.access_to_information,
        result.asset_disclosure,
        result.civil_liberties,
    ]
    measured = [p for p in areas if p is not None]

    assert all(0 <= p <= 4 for p in measured)
    assert result.areas_measured == len(measured)
    assert result.points_earned == sum(measured)
    assert result.points_possible == 4 * len(measured)
    if result.points_possible:
        assert result.percentage == pytest.approx(100 * result.points_earned / result.points_possible)
    else:
        assert result.percentage is None

    if len(measured) < min_areas:
        assert result.status is EligibilityStatus.NOT_ENOUGH_DATA
    elif Fraction(result.points_earned, result.points_possible) >= Fraction(str(pass_mark)):
        assert result.status is EligibilityStatus.ELIGIBLE
    else:
        assert result.status is EligibilityStatus.NOT_ELIGIBLE

    assert result.values_check.applies == (data.joining and data.year >= 2017)
    if not result.values_check.applies:
        assert result.values_check.passed is None
    assert len(result.reasons) == 6


@given(data=inputs())
def test_under_ogp_rules_eligible_means_three_quarters_of_measured_points(data: EligibilityInput) -> None:
    result = score(data)
    eligible = result.areas_measured >= 3 and 4 * result.points_earned >= 3 * result.points_possible
    assert (result.status is EligibilityStatus.ELIGIBLE) == eligible


# --- input validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"civil_liberties": 5},
        {"civil_liberties": -1},
        {"civil_liberties": "3"},
        {"civil_liberties": 2.5},
        {"civil_liberties": True},
        {"cso_entry_exit": 5},
        {"cso_repression": -1},
        {"year": 2010},
        {"year": 2101},
        {"access_to_information": "partial"},
        {"asset_disclosure_law": "yes"},
        {"budget_proposal_published": 1},
        {"unexpected": 1},
        {"budget_proposal_published": True, "audit_report_published": None},
        {"budget_proposal_published": None, "audit_report_published": False},
    ],
)
def test_invalid_input_is_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EligibilityInput.model_validate({**FULL_MARKS, **bad})


def test_year_is_required() -> None:
    with pytest.raises(ValidationError):
        EligibilityInput.model_validate({"civil_liberties": 3})


def test_input_accepts_api_json() -> None:
    body = (
        '{"year": 2024, "joining": true, "budget_proposal_published": true, "audit_report_published": false,'
        ' "access_to_information": "constitutional", "asset_disclosure_law": true,'
        ' "asset_disclosures_public": true, "civil_liberties": 3, "cso_entry_exit": 3, "cso_repression": 3}'
    )
    result = score(EligibilityInput.model_validate_json(body))
    assert (result.points_earned, result.points_possible) == (12, 16)
    assert result.status is EligibilityStatus.ELIGIBLE
    assert result.values_check == ValuesCheck(applies=True, passed=True)
