"""The shared scales: their values per version, OGP's spreadsheet wordings, the legacy star rule
by report year."""

from __future__ import annotations

import pytest

from shared.scales import (
    VERSION_FIELDS,
    Completion,
    DidItOpenGovernment,
    EarlyResults,
    PotentialForResults,
    PotentialImpact,
    ScaleVersion,
    Specificity,
    legacy_star,
    parse_label,
    star_impact_bar,
)


@pytest.mark.parametrize(
    ("scale", "values"),
    [
        (Specificity, ["none", "low", "medium", "high"]),
        (PotentialImpact, ["none", "minor", "moderate", "transformative"]),
        (PotentialForResults, ["unclear", "modest", "substantial"]),
        (Completion, ["no_evidence", "not_started", "limited", "substantial", "complete"]),
        (EarlyResults, ["no_notable", "modest", "moderate", "significant"]),
        (DidItOpenGovernment, ["worsened", "did_not_change", "marginal", "major", "outstanding"]),
    ],
)
def test_each_scale_has_exactly_its_values_in_order(scale: type, values: list[str]) -> None:
    assert [v.value for v in scale] == values


@pytest.mark.parametrize(
    ("version", "fields"),
    [
        (
            ScaleVersion.LEGACY_2014,
            {"specificity", "potential_impact", "completion", "did_it_open_government"},
        ),
        (
            ScaleVersion.IRM_2020,
            {"specificity", "potential_for_results", "promising", "completion", "did_it_open_government"},
        ),
        (
            ScaleVersion.IRM_2021,
            {"verifiable", "potential_for_results", "promising", "completion", "early_results"},
        ),
    ],
)
def test_each_version_codes_its_fields(version: ScaleVersion, fields: set[str]) -> None:
    assert VERSION_FIELDS[version] == fields


@pytest.mark.parametrize(
    ("scale", "text", "value"),
    [
        (Completion, "Not Started", Completion.NOT_STARTED),
        (Completion, "not_started", Completion.NOT_STARTED),
        (Completion, "  SUBSTANTIAL ", Completion.SUBSTANTIAL),
        (Completion, "No evidence available", Completion.NO_EVIDENCE),
        (Completion, "Completed", Completion.COMPLETE),
        (EarlyResults, "No notable results", EarlyResults.NO_NOTABLE),
        (EarlyResults, "Significant", EarlyResults.SIGNIFICANT),
        (DidItOpenGovernment, "Worsens", DidItOpenGovernment.WORSENED),
        (DidItOpenGovernment, "Did Not Change", DidItOpenGovernment.DID_NOT_CHANGE),
        (PotentialImpact, "Transformative", PotentialImpact.TRANSFORMATIVE),
        (Specificity, "", None),
        (Specificity, "ND", None),
        (Completion, "NR", None),
        (EarlyResults, "NA", None),
    ],
)
def test_spreadsheet_wordings(scale: type, text: str, value: object) -> None:
    assert parse_label(scale, text) == value


@pytest.mark.parametrize(
    ("scale", "text"), [(Completion, "Withdrawn"), (PotentialImpact, "huge"), (Specificity, "1")]
)
def test_anything_else_is_not_a_value(scale: type, text: str) -> None:
    with pytest.raises(ValueError, match="is not a valid"):
        parse_label(scale, text)


def test_the_impact_bar_by_report_year() -> None:
    either = {PotentialImpact.MODERATE, PotentialImpact.TRANSFORMATIVE}
    assert star_impact_bar(2013) == either
    assert star_impact_bar(2014) == either
    assert star_impact_bar(2015) == {PotentialImpact.TRANSFORMATIVE}
    assert star_impact_bar(2019) == {PotentialImpact.TRANSFORMATIVE}
    assert star_impact_bar(None) == either  # no year: the rule as first published


STAR = dict(specificity="high", relevant=True, potential_impact="transformative", completion="complete")


@pytest.mark.parametrize(
    ("changes", "year", "star"),
    [
        ({}, 2013, True),
        ({}, 2016, True),
        ({"potential_impact": "moderate"}, 2014, True),  # before 2015: moderate is enough
        ({"potential_impact": "moderate"}, 2015, False),  # from 2015: transformative only
        ({"potential_impact": "moderate"}, None, True),
        ({"potential_impact": "minor"}, 2013, False),
        ({"specificity": "medium"}, 2016, True),
        ({"specificity": "low"}, 2016, False),
        ({"specificity": "none"}, 2013, False),
        ({"relevant": False}, 2016, False),
        ({"completion": "substantial"}, 2016, True),
        ({"completion": "limited"}, 2016, False),
        ({"completion": "not_started"}, 2013, False),
        ({"specificity": None}, 2016, None),
        ({"relevant": None}, 2016, None),
        ({"potential_impact": None}, 2016, None),
        ({"completion": None}, 2016, None),
    ],
)
def test_the_legacy_star_by_report_year(
    changes: dict[str, object], year: int | None, star: bool | None
) -> None:
    assert legacy_star(**{**STAR, **changes}, report_year=year) is star  # type: ignore[arg-type]
