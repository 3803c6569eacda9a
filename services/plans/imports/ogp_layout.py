"""The columns of OGP's commitments database, by meaning (no I/O).

OGP renames and adds columns between exports ("Comm No" became "Commitment Number", "Value
-Info" became "OGP Value Access To Information", a colon replaced brackets in one "Did It Open
Government" column). A header is matched to a meaning through :func:`column_key`, which ignores
case, spaces and punctuation, and through the older names listed here. A column with no meaning
here is never a reason to refuse a file: its cells are kept with the commitment as source data
(:data:`OGP_LAYOUT` puts them back in place on export), except columns that hold a person's
contact details, which are dropped and named in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from services.plans.domain.policy_areas import FLAGS


class M(StrEnum):
    """The meanings the import maps (everything else is source data)."""

    ID = "id"
    COUNTRY = "country"
    CODE = "code"
    REGION = "region"
    NATIONAL_OR_LOCAL = "national_or_local"
    PLAN_NUMBER = "plan_number"
    PLAN_ID = "plan_id"
    YEAR = "year"
    END_YEAR = "end_year"
    DURATION = "duration"
    NUMBER = "number"
    THEME = "theme"
    TITLE = "title"
    SHORT_TITLE = "short_title"
    FULL_TEXT = "full_text"
    START_DATE = "start_date"
    END_DATE = "end_date"
    LEAD = "lead"
    SUPPORTING = "supporting"
    URL = "url"
    VALUE_ACCESS = "value_access_to_information"
    VALUE_PARTICIPATION = "value_civic_participation"
    VALUE_ACCOUNTABILITY = "value_public_accountability"
    VALUE_TECHNOLOGY = "value_technology_innovation"
    SPECIFICITY = "specificity"
    VERIFIABLE = "verifiable"
    POTENTIAL_IMPACT = "potential_impact"
    POTENTIAL_FOR_RESULTS = "potential_for_results"
    COMPLETION = "completion"
    COMPLETION_END = "completion_end_of_term"
    CHANGE_IN_COMPLETION = "change_in_completion"
    EARLY_RESULTS = "early_results"
    DIOG = "did_it_open_government"
    DIOG_ACCESS = "did_it_open_government_access_to_information"
    DIOG_PARTICIPATION = "did_it_open_government_civic_participation"
    DIOG_ACCOUNTABILITY = "did_it_open_government_public_accountability"
    STARRED_2015 = "starred_2015_only"
    STARRED_PROGRESS = "starred_current_progress_report"
    STARRED_END = "starred_current_end_of_term"
    REPORT_YEAR = "report_year_progress_report"
    REPORT_YEAR_END = "report_year_end_of_term"
    CLUSTER = "cluster"
    CARRIED_FORWARD = "carried_forward"
    # Sharaka's own optional columns (OGP's database has none of them).
    MEMBER_KIND = "member_kind"
    COUNTRY_CODE = "country_code"
    LANGUAGE = "language"


@dataclass(frozen=True, slots=True)
class Column:
    meaning: M
    name: str  # as OGP's current export heads it (and the OGP layout of the export writes it)
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column(M.ID, "Commitment Unique Identifier", ("Unique Identifier", "Commitment ID")),
    Column(M.COUNTRY, "Country/Locality", ("Country", "Locality", "Member")),
    Column(M.CODE, "Code", ("ISO Code", "Country Code (ISO 3)")),
    Column(M.REGION, "Region"),
    Column(M.NATIONAL_OR_LOCAL, "National Or Local", ("National/Local",)),
    Column(M.PLAN_NUMBER, "Action Plan Number", ("Action Plan No.", "NAP Number", "Action Plan")),
    Column(M.PLAN_ID, "Action Plan ID"),
    Column(M.YEAR, "Year Of Submission", ("Submission Year",)),
    Column(M.END_YEAR, "Action Plan End Year"),
    Column(M.DURATION, "Action Plan Duration (Years)", ("Action Plan Duration",)),
    Column(M.NUMBER, "Commitment Number", ("Comm No", "Comm No.", "Commitment No")),
    Column(M.THEME, "Theme"),
    Column(M.TITLE, "Commitment Title", ("Title",)),
    Column(M.SHORT_TITLE, "Short Title"),
    Column(M.FULL_TEXT, "Full Text", ("Commitment Text", "Description")),
    Column(M.START_DATE, "Start Date"),
    Column(M.END_DATE, "End Date"),
    Column(M.LEAD, "Lead Institution", ("Lead Agency",)),
    Column(M.SUPPORTING, "Supporting Institution(s)", ("Supporting Institutions",)),
    Column(M.URL, "URL", ("Commitment URL", "Link")),
    Column(M.VALUE_ACCESS, "OGP Value Access To Information", ("Value -Info", "Value Info")),
    Column(M.VALUE_PARTICIPATION, "OGP Value Civic Participation", ("Value -Part", "Value Part")),
    Column(M.VALUE_ACCOUNTABILITY, "OGP Value Public Accountability", ("Value -Acc", "Value Acc")),
    Column(M.VALUE_TECHNOLOGY, "OGP Value Technology",
           ("Value -Tech", "Value Tech", "OGP Value Technology And Innovation")),
    Column(M.SPECIFICITY, "Specificity"),
    Column(M.VERIFIABLE, "Verifiable"),
    Column(M.POTENTIAL_IMPACT, "Potential Impact"),
    Column(M.POTENTIAL_FOR_RESULTS, "Potential for Results"),
    Column(M.COMPLETION, "Completion (Progress Report)", ("Completion (Midterm)", "Completion")),
    Column(M.COMPLETION_END, "Completion (End Of Term)"),
    Column(M.CHANGE_IN_COMPLETION, "Change In Completion"),
    Column(M.EARLY_RESULTS, "Early Results"),
    Column(M.DIOG, "Did It Open Government (Overall)",
           ("Did It Open Government", "Did it open government (end of term only)")),
    Column(M.DIOG_ACCESS, "Did It Open Government (Access To Information)"),
    Column(M.DIOG_PARTICIPATION, "Did It Open Government (Civic Participation)"),
    Column(M.DIOG_ACCOUNTABILITY, "Did It Open Government: Public Accountability"),
    Column(M.STARRED_2015, "Starred (2015 Only)"),
    Column(M.STARRED_PROGRESS, "Starred (Current Formula) Progress Report"),
    Column(M.STARRED_END, "Starred (Current Formula) End of Term"),
    Column(M.REPORT_YEAR, "Report Publication Year (Progress Report)"),
    Column(M.REPORT_YEAR_END, "Report Publication Year (End Of Term)"),
    Column(M.CLUSTER, "Cluster"),
    Column(M.CARRIED_FORWARD, "Carried Forward"),
    Column(M.MEMBER_KIND, "Member Kind"),
    Column(M.COUNTRY_CODE, "Country Code"),
    Column(M.LANGUAGE, "Language"),
)  # fmt: skip

#: A file must have these (a row without them cannot be placed).
REQUIRED = (M.ID, M.COUNTRY, M.YEAR, M.PLAN_NUMBER, M.TITLE)

#: OGP's export as published (mid-2020s), column by column: the layout the export writes back.
#: Columns not mapped above are written from each commitment's source data.
OGP_LAYOUT: tuple[str, ...] = (
    "Commitment Unique Identifier", "Country/Locality", "Action Plan Number", "Commitment Number", "Code",
    "Region", "National Or Local", "Commitment Dummy", "Year Of Submission", "Action Plan End Year",
    "Action Plan Duration (Years)", "Theme", "Commitment Title", "Short Title", "Full Text", "Start Date",
    "End Date", "Lead Institution", "Supporting Institution(s)", *FLAGS,
    "Report Publication Year (Progress Report)", "Compound", "Cluster", "Specificity", "_Specificity",
    "Verifiable", "OGP Value Access To Information", "OGP Value Civic Participation",
    "OGP Value Public Accountability", "OGP Value Technology", "_Relevant", "Potential Impact",
    "_Potential Impact", "Completion (Progress Report)", "_CompletionProgress", "Starred (2015 Only)",
    "Starred (Current Formula) Progress Report", "Potential for Results", "_Potential for Results",
    "Cluster (AP Review)", "Cluster Commitment ID(s)", "Report Publication Year (End Of Term)",
    "Completion (End Of Term)", "_CompletionEndTerm", "Change In Completion", "_ChangeCompletion",
    "Early Results", "_Early Results", "Did It Open Government (Overall)", "_OpenGovernment",
    "Did It Open Government (Access To Information)", "_DIOGATI",
    "Did It Open Government (Civic Participation)", "_DIOGCP",
    "Did It Open Government: Public Accountability", "_DIOGPA", "Starred (Current Formula) End of Term",
    "Carried Forward", "Most Recently Assessed", "Star - Most Recently Assessed", "IRM Assessed",
    "Updated? (Website)", "Active Commitment", "Max star", "Ambition Assessed", "Comp Assessed",
    "DIOG Assessed", "Midterm Only", "Max Completion", "Raw Completion", "High Completion",
    "High Ambition", "High DIOG", "Ambitious and complete, or DIOG", "Ambitious but not complete",
    "Complete but not ambitious", "Not complete or ambitious", "Not reviewed", "CHECKSUM",
    "IRM-Based Score", "Binding constraint", "URL", "Latest IRM Report", "Subnational in NAPs",
    "Action Plan ID", "id",
)  # fmt: skip

#: Columns whose cells identify a person: never kept (OGP's older exports had a contact column set).
_PERSONAL = re.compile(r"e-?mail|telephone|phone|contact ?name|contact ?position|contact person")


def column_key(name: str) -> str:
    """A header compared without case, spaces or punctuation ("&" is "and"); a leading "_" is
    kept, since OGP prefixes its numeric codes of a scale with it ("_Specificity")."""
    coded = "_" if name.strip().startswith("_") else ""
    return coded + re.sub(r"[^0-9a-z+]", "", name.casefold().replace("&", "and"))


def _index() -> dict[str, M]:
    out: dict[str, M] = {}
    for c in COLUMNS:
        for name in (c.name, *c.aliases):
            out[column_key(name)] = c.meaning
    return out


_BY_KEY = _index()
NAMES: dict[M, str] = {c.meaning: c.name for c in COLUMNS}
#: Policy-area flag columns: key → the flag's name as OGP writes it.
AREA_FLAGS: dict[str, str] = {column_key(f): f for f in FLAGS}


def meaning_of(header: str) -> M | None:
    return _BY_KEY.get(column_key(header))


def area_flag_of(header: str) -> str | None:
    """The policy area a header flags, or None (meanings are matched first: "Open Data" is an area)."""
    return AREA_FLAGS.get(column_key(header))


def personal(header: str) -> bool:
    return bool(_PERSONAL.search(" ".join(header.casefold().split())))
