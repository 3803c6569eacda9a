"""OGP's commitments database, cell by cell (pure, no database): dates in every form the
database holds, the wordings of each IRM scale and the codes for "not assessed", yes/no cells,
the columns matched by meaning, OGP's policy-area groups, and one row read into what the
platform stores (country codes, the plan's length, dates, limits, values and OGP's stars)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.plans.domain.policy_areas import FLAGS, GROUPS, group_of
from services.plans.imports.commitments_sheet import CommitmentRow, parse_commitment, plan_dates
from services.plans.imports.ogp_assessment import StarCheck
from services.plans.imports.ogp_cells import (
    REASON_CODES,
    Scaled,
    label_of,
    not_assessed,
    ogp_date,
    scaled,
    yes_no,
)
from services.plans.imports.ogp_header import Sheet, read_header
from services.plans.imports.ogp_layout import (
    COLUMNS,
    NAMES,
    OGP_LAYOUT,
    M,
    area_flag_of,
    column_key,
    meaning_of,
    personal,
)
from services.plans.imports.report import RowFailure
from shared.events.plans import MemberKind
from shared.scales import (
    Completion,
    DidItOpenGovernment,
    EarlyResults,
    PotentialForResults,
    PotentialImpact,
    Specificity,
)

# --- dates -----------------------------------------------------------------------------------------

DATES = [
    # text, as a start, as an end
    ("1/1/2024", date(2024, 1, 1), date(2024, 1, 1)),
    ("12/31/2016", date(2016, 12, 31), date(2016, 12, 31)),
    ("6/7/2019", date(2019, 6, 7), date(2019, 6, 7)),  # M/D: OGP's own order
    ("30/9/2014", date(2014, 9, 30), date(2014, 9, 30)),  # D/M: 30 cannot be a month
    ("13/1/2020", date(2020, 1, 13), date(2020, 1, 13)),
    ("9/1/18", date(2018, 9, 1), date(2018, 9, 1)),
    (" 1/1/2024 ", date(2024, 1, 1), date(2024, 1, 1)),
    ("2014-03-05", date(2014, 3, 5), date(2014, 3, 5)),
    ("July 2014", date(2014, 7, 1), date(2014, 7, 31)),
    ("february 2016", date(2016, 2, 1), date(2016, 2, 29)),
    ("Sep 2014", date(2014, 9, 1), date(2014, 9, 30)),
    ("2014", date(2014, 1, 1), date(2014, 12, 31)),
    ("Quarter 1 2014", date(2014, 1, 1), date(2014, 3, 31)),
    ("Q3 2020", date(2020, 7, 1), date(2020, 9, 30)),
    ("IV quarter of 2021", date(2021, 10, 1), date(2021, 12, 31)),
    ("2nd quarter 2019", date(2019, 4, 1), date(2019, 6, 30)),
    ("43525", date(2019, 3, 1), date(2019, 3, 1)),  # a spreadsheet's day number
    ("43525.0", date(2019, 3, 1), date(2019, 3, 1)),  # ... written as a float
    ("Sept 2014", date(2014, 9, 1), date(2014, 9, 30)),
    ("12/31/99", date(1999, 12, 31), date(1999, 12, 31)),  # two digits from 70: last century
    ("7/15/1905", date(2023, 1, 1), date(2023, 12, 31)),  # 2023 typed into a date cell
]


@pytest.mark.parametrize(("text", "start", "end"), DATES)
def test_a_date_in_every_form_the_database_holds(text: str, start: date, end: date) -> None:
    assert ogp_date(text, end=False) == (start, None)
    assert ogp_date(text, end=True) == (end, None)


@pytest.mark.parametrize("text", ["", "   ", "NA", "N/A", "ND", "nr"])
def test_an_empty_or_not_assessed_date_is_no_date_and_no_warning(text: str) -> None:
    assert ogp_date(text, end=False) == (None, None)
    assert ogp_date(text, end=True) == (None, None)


@pytest.mark.parametrize("text", ["Ongoing", "2/30/2020", "Spring 2015", "Underway", "13/13/2020"])
@pytest.mark.parametrize("end", [False, True])
def test_a_cell_that_is_not_a_date_is_a_warning_never_an_error(text: str, end: bool) -> None:
    day, warning = ogp_date(text, end=end)
    assert day is None
    assert warning == f"{text!r} is not a date this import can read; kept as written"


@pytest.mark.parametrize("text", ["1/1/1980", "1/1/2200"])
def test_a_date_far_outside_ogp_s_years_is_a_warning(text: str) -> None:
    assert ogp_date(text, end=False) == (None, f"{text!r} is not a plausible date; kept as written")


DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(DAYS)
def test_month_first_is_the_default_reading(d: date) -> None:
    # The first number is the month (at most 12), so the M/D reading always applies.
    assert ogp_date(f"{d.month}/{d.day}/{d.year}", end=False) == (d, None)
    assert ogp_date(f"{d.month}/{d.day}/{d.year}", end=True) == (d, None)


@given(DAYS.filter(lambda d: d.day > 12))
def test_day_first_when_the_first_number_cannot_be_a_month(d: date) -> None:
    assert ogp_date(f"{d.day}/{d.month}/{d.year}", end=False) == (d, None)


@given(DAYS)
def test_an_iso_date_round_trips(d: date) -> None:
    assert ogp_date(d.isoformat(), end=False) == (d, None)
    assert ogp_date(d.isoformat(), end=True) == (d, None)


@given(st.text(), st.booleans())
def test_any_text_is_a_date_or_a_warning_never_an_exception(text: str, end: bool) -> None:
    day, warning = ogp_date(text, end=end)
    assert day is None or warning is None
    if day is not None:
        assert date(1990, 1, 1) <= day <= date(2100, 12, 31)


# --- scales ----------------------------------------------------------------------------------------

SCALED: list[tuple[type[StrEnum], str, StrEnum]] = [
    (Specificity, "None", Specificity.NONE),
    (Specificity, "Low", Specificity.LOW),
    (Specificity, "Medium", Specificity.MEDIUM),
    (Specificity, "High", Specificity.HIGH),
    (Specificity, "a. Low", Specificity.LOW),
    (Specificity, "d. High", Specificity.HIGH),
    (Specificity, " medium ", Specificity.MEDIUM),
    (PotentialImpact, "None", PotentialImpact.NONE),
    (PotentialImpact, "Minor", PotentialImpact.MINOR),
    (PotentialImpact, "Moderate", PotentialImpact.MODERATE),
    (PotentialImpact, "Transformative", PotentialImpact.TRANSFORMATIVE),
    (PotentialImpact, "c) Moderate", PotentialImpact.MODERATE),
    (PotentialForResults, "Unclear", PotentialForResults.UNCLEAR),  # a value here, not a code
    (PotentialForResults, "Modest", PotentialForResults.MODEST),
    (PotentialForResults, "Substantial", PotentialForResults.SUBSTANTIAL),
    (Completion, "Not Started", Completion.NOT_STARTED),
    (Completion, "Limited", Completion.LIMITED),
    (Completion, "Substantial", Completion.SUBSTANTIAL),
    (Completion, "Complete", Completion.COMPLETE),
    (Completion, "Completed", Completion.COMPLETE),
    (Completion, "No Evidence Available", Completion.NO_EVIDENCE),
    (Completion, "d. Complete", Completion.COMPLETE),
    (EarlyResults, "No notable results", EarlyResults.NO_NOTABLE),
    (EarlyResults, "Modest", EarlyResults.MODEST),
    (EarlyResults, "Moderate", EarlyResults.MODERATE),
    (EarlyResults, "Significant", EarlyResults.SIGNIFICANT),
    (DidItOpenGovernment, "Worsens", DidItOpenGovernment.WORSENED),
    (DidItOpenGovernment, "Worsened", DidItOpenGovernment.WORSENED),
    (DidItOpenGovernment, "Did Not Change", DidItOpenGovernment.DID_NOT_CHANGE),
    (DidItOpenGovernment, "did not change", DidItOpenGovernment.DID_NOT_CHANGE),
    (DidItOpenGovernment, "Marginal", DidItOpenGovernment.MARGINAL),
    (DidItOpenGovernment, "Major", DidItOpenGovernment.MAJOR),
    (DidItOpenGovernment, "Outstanding", DidItOpenGovernment.OUTSTANDING),
]


@pytest.mark.parametrize(("scale", "text", "value"), SCALED)
def test_every_wording_of_a_scale_is_its_value(scale: type[StrEnum], text: str, value: StrEnum) -> None:
    assert scaled(scale, text) == Scaled(value=value)


NOT_ASSESSED_CELLS: list[tuple[type[StrEnum], str, str]] = [
    (Completion, "Withdrawn", "withdrawn"),
    (Completion, "Unclear", "unclear"),  # a reason for completion, a value for potential for results
    (DidItOpenGovernment, "Not Applicable", "not_applicable"),
    (DidItOpenGovernment, "No early results to report yet", "no_early_results_yet"),
    (EarlyResults, "Not Specified", "not_specified"),
    (Specificity, "ND", "no_data"),
    (Specificity, "nd", "no_data"),
    (PotentialImpact, "NR", "not_reviewed"),
    (Completion, "nr", "not_reviewed"),
    (EarlyResults, "NA", "not_applicable"),
    (PotentialForResults, "N/A", "not_applicable"),
    (DidItOpenGovernment, "n/a", "not_applicable"),
    (DidItOpenGovernment, "Na", "not_applicable"),
]


@pytest.mark.parametrize(("scale", "text", "reason"), NOT_ASSESSED_CELLS)
def test_a_code_or_wording_for_not_assessed_is_its_reason(
    scale: type[StrEnum], text: str, reason: str
) -> None:
    assert scaled(scale, text) == Scaled(reason=reason)


@pytest.mark.parametrize("text", ["", "  "])
def test_an_empty_scale_cell_is_nothing(text: str) -> None:
    assert scaled(Completion, text) == Scaled()


@pytest.mark.parametrize(
    ("scale", "text", "message"),
    [
        (Specificity, "Very high", "'Very high' is not one of: none, low, medium, high (or ND, NR, NA)"),
        (
            Completion,
            "Halfway",
            "'Halfway' is not one of: no evidence, not started, limited, substantial, complete (or ND, NR, NA)",
        ),
        (
            PotentialForResults,
            "Moderate",
            "'Moderate' is not one of: unclear, modest, substantial (or ND, NR, NA)",
        ),
    ],
)
def test_an_unknown_label_is_refused_naming_the_allowed_values(
    scale: type[StrEnum], text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=r"is not one of") as caught:
        scaled(scale, text)
    assert str(caught.value) == message


def test_the_reason_codes_read_back_as_the_same_reason() -> None:
    assert REASON_CODES["no_data"] == "ND"
    assert REASON_CODES["not_applicable"] == "NA"
    for reason, code in REASON_CODES.items():
        assert not_assessed(code) == reason


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Completion.NOT_STARTED, "Not Started"),
        (DidItOpenGovernment.DID_NOT_CHANGE, "Did Not Change"),
        (Specificity.HIGH, "High"),
    ],
)
def test_a_value_is_written_as_ogp_labels_it_and_reads_back(value: StrEnum, written: str) -> None:
    assert label_of(value) == written
    assert scaled(type(value), written) == Scaled(value=value)


# --- yes / no --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("1", True),
        ("0", False),
        ("Yes", True),
        ("No", False),
        ("yes", True),
        ("1.0", True),
        ("0.0", False),
        ("ND", Scaled(reason="no_data")),
        ("NA", Scaled(reason="not_applicable")),
        ("", Scaled()),
    ],
)
def test_yes_no(text: str, read: bool | Scaled[StrEnum]) -> None:
    assert yes_no(text) == read


def test_a_yes_no_cell_that_is_neither_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'Maybe' is not a yes/no value"):
        yes_no("Maybe")


# --- the layout ------------------------------------------------------------------------------------


def test_column_key_ignores_case_spaces_and_punctuation() -> None:
    assert column_key("Commitment Title") == "commitmenttitle"
    assert column_key("  commitment-TITLE ") == "commitmenttitle"
    assert column_key("Supporting Institution(s)") == "supportinginstitutions"
    assert column_key("Health & Nutrition") == "healthandnutrition"


def test_column_key_keeps_a_leading_underscore() -> None:
    assert column_key("_Specificity") == "_specificity"
    assert column_key("_Specificity") != column_key("Specificity")
    assert meaning_of("Specificity") is M.SPECIFICITY
    assert meaning_of("_Specificity") is None
    assert meaning_of("_Potential Impact") is None


@pytest.mark.parametrize(
    ("header", "meaning"),
    [
        ("Comm No", M.NUMBER),
        ("Value -Info", M.VALUE_ACCESS),
        ("Value -Tech", M.VALUE_TECHNOLOGY),
        ("Potential impact", M.POTENTIAL_IMPACT),
        ("Did it open government (end of term only)", M.DIOG),
        ("Did It Open Government: Public Accountability", M.DIOG_ACCOUNTABILITY),
        ("Country", M.COUNTRY),
        ("Country/Locality", M.COUNTRY),
        ("COMMITMENT UNIQUE IDENTIFIER", M.ID),
        ("Completion (Midterm)", M.COMPLETION),
    ],
)
def test_older_names_map_to_their_meaning(header: str, meaning: M) -> None:
    assert meaning_of(header) is meaning


def test_every_meaning_has_one_current_name() -> None:
    assert NAMES[M.NUMBER] == "Commitment Number"
    assert len(NAMES) == len(COLUMNS) == len(M)


def test_the_ogp_layout_has_171_distinct_columns() -> None:
    assert len(OGP_LAYOUT) == 171
    assert len({column_key(n) for n in OGP_LAYOUT}) == 171


@pytest.mark.parametrize("name", OGP_LAYOUT)
def test_a_column_of_the_layout_is_a_meaning_or_an_area_flag_never_both(name: str) -> None:
    assert meaning_of(name) is None or area_flag_of(name) is None
    assert not personal(name)


def test_the_layout_reads_as_a_header() -> None:
    sheet = read_header(list(OGP_LAYOUT))
    assert len(sheet.areas) == 86
    assert sheet.dropped == ()
    assert sheet.columns[M.SPECIFICITY] == "Specificity"
    assert "_Specificity" in sheet.source
    assert sheet.areas["Open Data"] == "Open Data"


def test_flags_are_86_without_duplicates() -> None:
    assert len(FLAGS) == 86
    assert len(set(FLAGS)) == 86
    assert len({column_key(f) for f in FLAGS}) == 86


@pytest.mark.parametrize(
    "header", ["Contact Email", "Contact Telephone", "Contact Name", "Email", "Phone", "E-mail"]
)
def test_a_person_s_contact_column_is_recognised(header: str) -> None:
    assert personal(header)


@pytest.mark.parametrize("header", ["Public Participation", "Lead Institution", "Commitment Title"])
def test_other_columns_are_not_personal(header: str) -> None:
    assert not personal(header)


# --- policy areas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("area", "group"),
    [
        ("beneficial ownership", "Anti-Corruption and Integrity"),
        ("Beneficial Ownership", "Anti-Corruption and Integrity"),
        ("anti-corruption and integrity", "Anti-Corruption and Integrity"),
        ("open parliaments", "Open Parliaments"),
        ("gender", "Inclusion"),
        ("open data", "Other"),
    ],
)
def test_an_area_s_group(area: str, group: str) -> None:
    assert group_of(area) == group


def test_an_area_ogp_does_not_list_has_no_group() -> None:
    assert group_of("open budgets") is None
    assert group_of("other") is None  # "Other" holds ungrouped areas; it is no area itself
    assert "Other" in GROUPS


# --- one row ---------------------------------------------------------------------------------------

HEADER = [
    "Commitment Unique Identifier",
    "Country/Locality",
    "Year Of Submission",
    "Action Plan Number",
    "Commitment Title",
    "Theme",
    "Code",
    "National Or Local",
    "Action Plan Duration (Years)",
    "Start Date",
    "End Date",
    "Region",
    "Beneficial Ownership",
    "Open Data",
    "OGP Value Access To Information",
    "OGP Value Civic Participation",
    "OGP Value Public Accountability",
    "OGP Value Technology",
    "Specificity",
    "Potential Impact",
    "Completion (Progress Report)",
    "Starred (2015 Only)",
    "Starred (Current Formula) Progress Report",
    "Subnational in NAPs",
    "Contact Email",
]
BASE = {
    "Commitment Unique Identifier": "AL0001",
    "Country/Locality": "Albania",
    "Year Of Submission": "2016",
    "Action Plan Number": "3",
    "Commitment Title": "Open budgets",
}


@pytest.fixture
def sheet() -> Sheet:
    return read_header(HEADER)


def row(sheet: Sheet, **cells: str) -> CommitmentRow:
    return parse_commitment(7, BASE | cells, sheet)


def test_the_header_is_read_by_meaning(sheet: Sheet) -> None:
    assert sheet.areas == {"Beneficial Ownership": "Beneficial Ownership", "Open Data": "Open Data"}
    assert sheet.source == ("Subnational in NAPs",)
    assert sheet.dropped == ("Contact Email",)
    assert sheet.columns[M.CODE] == "Code"


def test_a_way_to_reach_a_person_in_an_unmapped_cell_is_masked(sheet: Sheet) -> None:
    """Source data is public (the record, the export): an e-mail or phone typed into a column
    the import does not know is masked; the cell is kept."""
    r = row(sheet, **{"Subnational in NAPs": "Ask jane.doe@example.org or +216 20 123 456"})
    assert r.source is not None
    kept = r.source["Subnational in NAPs"]
    assert "jane.doe@example.org" not in kept and "20 123 456" not in kept and kept.startswith("Ask ")


def test_a_minimal_row(sheet: Sheet) -> None:
    r = row(sheet)
    assert (r.line, r.key, r.country, r.year, r.plan_number) == (7, "AL0001", "Albania", 2016, 3)
    assert r.kind is None
    assert r.country_code is None
    assert r.plan_years is None
    assert r.warnings == []
    assert r.stars == []
    assert r.fields["texts"] == {"title": {"en": "Open budgets"}}
    assert plan_dates(r) == (date(2016, 1, 1), date(2017, 12, 31))


def test_na_theme_is_no_policy_area(sheet: Sheet) -> None:
    assert row(sheet, Theme="NA").fields["policy_areas"] == []


def test_flags_are_policy_areas_beside_the_theme(sheet: Sheet) -> None:
    r = row(sheet, **{"Theme": "Open budgets; Tax", "Beneficial Ownership": "1", "Open Data": "0"})
    assert r.fields["policy_areas"] == ["beneficial ownership", "open budgets", "tax"]


def test_a_flag_that_is_not_0_or_1_fails_the_row(sheet: Sheet) -> None:
    with pytest.raises(RowFailure) as caught:
        row(sheet, **{"Open Data": "maybe"})
    assert caught.value.errors == [{"field": "Open Data", "message": "'maybe' is not a 0/1 flag"}]


@pytest.mark.parametrize(
    ("code", "alpha2"),
    [("ALB", "AL"), ("alb", "AL"), ("GBSC", "GB"), ("XKX", "XK"), ("KE", "KE"), ("ND", None)],
)
def test_ogp_s_code_is_the_member_s_alpha2(sheet: Sheet, code: str, alpha2: str | None) -> None:
    r = row(sheet, Code=code)
    assert r.country_code == alpha2
    assert r.warnings == []


def test_an_unknown_code_is_a_warning(sheet: Sheet) -> None:
    r = row(sheet, Code="ZZZ")
    assert r.country_code is None
    assert r.warnings == [
        {"field": "Code", "message": "'ZZZ' is not an ISO 3166 country code; the member keeps none"}
    ]


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        ("National", MemberKind.NATIONAL),
        ("Local", MemberKind.LOCAL),
        ("Legacy Local", MemberKind.LOCAL),
        ("", None),
    ],
)
def test_national_or_local(sheet: Sheet, said: str, kind: MemberKind | None) -> None:
    assert row(sheet, **{"National Or Local": said}).kind is kind


@pytest.mark.parametrize(
    ("cell", "years", "last"), [("1", 1, date(2016, 12, 31)), ("3", 3, date(2018, 12, 31))]
)
def test_the_plan_s_length(sheet: Sheet, cell: str, years: int, last: date) -> None:
    r = row(sheet, **{"Action Plan Duration (Years)": cell})
    assert r.plan_years == years
    assert r.warnings == []
    assert plan_dates(r) == (date(2016, 1, 1), last)


def test_a_plan_of_seven_years_is_a_warning(sheet: Sheet) -> None:
    r = row(sheet, **{"Action Plan Duration (Years)": "7"})
    assert r.plan_years is None
    assert r.warnings == [
        {
            "field": "Action Plan Duration (Years)",
            "message": "the plan's length is not 1 to 4 years; a new plan is taken as 2 years",
        }
    ]


def test_dates_are_read(sheet: Sheet) -> None:
    r = row(sheet, **{"Start Date": "July 2016", "End Date": "IV quarter of 2018"})
    assert (r.fields["start_date"], r.fields["end_date"]) == (date(2016, 7, 1), date(2018, 12, 31))
    assert r.warnings == []
    assert r.source == {}


def test_an_unreadable_date_is_kept_as_written(sheet: Sheet) -> None:
    r = row(sheet, **{"Start Date": "Ongoing"})
    assert r.fields["start_date"] is None
    assert r.warnings == [
        {"field": "Start Date", "message": "'Ongoing' is not a date this import can read; kept as written"}
    ]
    assert r.source == {"Start Date": "Ongoing"}


def test_an_end_before_the_start_keeps_neither_date(sheet: Sheet) -> None:
    r = row(sheet, **{"Start Date": "1/1/2024", "End Date": "1/1/2020", "Subnational in NAPs": "0"})
    assert (r.fields["start_date"], r.fields["end_date"]) == (None, None)
    assert r.warnings == [
        {"field": "End Date", "message": "ends before it starts; the dates are kept as written only"}
    ]
    assert r.source == {"Subnational in NAPs": "0", "Start Date": "1/1/2024", "End Date": "1/1/2020"}


def test_a_cell_over_its_limit_fails_the_row_naming_the_column_and_the_length(sheet: Sheet) -> None:
    with pytest.raises(RowFailure) as caught:
        row(sheet, Region="x" * 101)
    assert caught.value.errors == [
        {"field": "Region", "message": "101 characters, longer than the 100 allowed"}
    ]


def test_technology_alone_is_a_warning_and_not_set(sheet: Sheet) -> None:
    r = row(
        sheet,
        **{
            "OGP Value Technology": "1",
            "OGP Value Access To Information": "0",
            "OGP Value Civic Participation": "0",
            "OGP Value Public Accountability": "0",
        },
    )
    assert r.fields["value_technology_innovation"] is False
    assert r.warnings == [
        {
            "field": "OGP Value Technology",
            "message": "technology and innovation counts only with a core value; not set",
        }
    ]


def test_technology_with_a_core_value_is_set(sheet: Sheet) -> None:
    r = row(sheet, **{"OGP Value Technology": "1", "OGP Value Civic Participation": "1"})
    assert r.fields["value_technology_innovation"] is True
    assert r.fields["value_civic_participation"] is True
    assert r.warnings == []


def test_ogp_s_stars_beside_ours(sheet: Sheet) -> None:
    r = row(
        sheet,
        **{
            "Specificity": "High",
            "OGP Value Access To Information": "1",
            "Potential Impact": "Moderate",
            "Completion (Progress Report)": "Substantial",
            "Starred (2015 Only)": "1",
            "Starred (Current Formula) Progress Report": "1",
        },
    )
    # Moderate impact earned a star by the rule as first published, not by the current one.
    assert r.stars == [
        StarCheck("Starred (2015 Only)", ogp=True, ours=True),
        StarCheck("Starred (Current Formula) Progress Report", ogp=True, ours=False),
    ]
    assert r.legacy is not None
    assert r.legacy["ogp_starred"] == {"starred_2015_only": True, "starred_current_progress_report": True}
    assert (r.legacy["specificity"], r.legacy["potential_impact"], r.legacy["completion"]) == (
        "high",
        "moderate",
        "substantial",
    )


def test_a_scale_cell_that_is_not_a_value_fails_the_row(sheet: Sheet) -> None:
    with pytest.raises(RowFailure) as caught:
        row(sheet, Specificity="Very high")
    assert caught.value.errors == [
        {
            "field": "Specificity",
            "message": "'Very high' is not one of: none, low, medium, high (or ND, NR, NA)",
        }
    ]


def test_a_not_assessed_scale_keeps_its_reason(sheet: Sheet) -> None:
    r = row(sheet, **{"Completion (Progress Report)": "Withdrawn", "Specificity": "ND"})
    assert r.legacy is not None
    assert r.legacy["not_assessed"] == {"specificity": "no_data", "completion": "withdrawn"}
