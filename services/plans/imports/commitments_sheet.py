"""OGP's commitments database: a file's header read by meaning, and one row checked and turned
into what the platform stores (no I/O). Every problem of a row is reported at once, under the
file's own column name; the commitment's own fields go through the API's model, so the limits
are the same as over HTTP.

What a row keeps: the commitment template's fields, the member (country code, national or
local), the plan (OGP's id, its years), every IRM scale of both methodologies with the reason a
field was not assessed, OGP's own stars beside ours, and every cell of a column the import
does not map (the commitment's source data). The column rules are documented for users in
``docs/open-data.md``."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import pycountry
from pydantic import ValidationError

from services.plans.domain.policy_areas import area_name
from services.plans.imports.csv_table import CsvRecord, http_url, label, read_table
from services.plans.imports.ogp_cells import Scaled, not_assessed, ogp_date, scaled, yes_no
from services.plans.imports.ogp_layout import (
    NAMES,
    REQUIRED,
    M,
    area_flag_of,
    meaning_of,
    personal,
)
from services.plans.imports.report import FieldError, RowFailure, err
from services.plans.schemas import CommitmentIn
from shared.db import Row
from shared.errors import Invalid
from shared.events.plans import Language, MemberKind
from shared.privacy import redact_contacts
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
FIRST_OGP_YEAR = 2011  # OGP was launched in September 2011

# The columns by the name OGP's current export gives them (kept for callers and tests).
C_ID = NAMES[M.ID]
C_COUNTRY = NAMES[M.COUNTRY]
C_REGION = NAMES[M.REGION]
C_THEME = NAMES[M.THEME]
C_YEAR = NAMES[M.YEAR]
C_PLAN = NAMES[M.PLAN_NUMBER]
C_NUMBER = NAMES[M.NUMBER]
C_TITLE = NAMES[M.TITLE]
C_SHORT = NAMES[M.SHORT_TITLE]
C_FULL = NAMES[M.FULL_TEXT]
C_LEAD = NAMES[M.LEAD]
C_SUPPORT = NAMES[M.SUPPORTING]
C_URL = NAMES[M.URL]
C_ACCESS = NAMES[M.VALUE_ACCESS]
C_PARTICIPATION = NAMES[M.VALUE_PARTICIPATION]
C_ACCOUNTABILITY = NAMES[M.VALUE_ACCOUNTABILITY]
C_TECHNOLOGY = NAMES[M.VALUE_TECHNOLOGY]
C_SPECIFICITY = NAMES[M.SPECIFICITY]
C_IMPACT = NAMES[M.POTENTIAL_IMPACT]
C_COMPLETION = NAMES[M.COMPLETION]
C_DIOG = NAMES[M.DIOG]
C_KIND = NAMES[M.MEMBER_KIND]
C_CODE = NAMES[M.COUNTRY_CODE]
C_LANGUAGE = NAMES[M.LANGUAGE]

#: Longest cell each mapped column may hold: the longest in OGP's published database with room
#: to spare (title 603, full text 27,816, lead institution 745, supporting institutions 1,617,
#: theme 118 characters). Longer is a row error naming the column and the length.
LIMITS: dict[M, int] = {
    M.ID: 200, M.COUNTRY: 300, M.REGION: 100, M.CODE: 10, M.PLAN_ID: 100, M.NUMBER: 20,
    M.THEME: 1_000, M.TITLE: 2_000, M.SHORT_TITLE: 2_000, M.FULL_TEXT: 60_000, M.LEAD: 2_000,
    M.SUPPORTING: 5_000, M.URL: 2_000, M.CLUSTER: 1_000,
}  # fmt: skip
#: Longest cell kept as source data.
SOURCE_LIMIT = 60_000

VALUE_COLUMNS = {
    M.VALUE_ACCESS: "access_to_information",
    M.VALUE_PARTICIPATION: "civic_participation",
    M.VALUE_ACCOUNTABILITY: "public_accountability",
    M.VALUE_TECHNOLOGY: "technology_innovation",
}
CORE_VALUES = (M.VALUE_ACCESS, M.VALUE_PARTICIPATION, M.VALUE_ACCOUNTABILITY)
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
_KINDS = {"national": MemberKind.NATIONAL, "local": MemberKind.LOCAL, "legacy local": MemberKind.LOCAL,
          "parliament": MemberKind.PARLIAMENT}  # fmt: skip

#: Field names of the commitment (as the API and pydantic name them) → the meaning of its column.
FIELD_MEANINGS: dict[str, M] = {
    "title": M.TITLE,
    "objective": M.FULL_TEXT,
    "short_title": M.SHORT_TITLE,
    "lead_agency": M.LEAD,
    "supporting_government": M.SUPPORTING,
    "policy_areas": M.THEME,
    "original_language": M.LANGUAGE,
    "start_date": M.START_DATE,
    "end_date": M.END_DATE,
    **{f"values.{v}": c for c, v in VALUE_COLUMNS.items()},
    **{f"value_{v}": c for c, v in VALUE_COLUMNS.items()},
}
#: The same, by OGP's current column names (what a use case's refusal is reported under).
FIELD_COLUMNS = {name: NAMES[m] for name, m in FIELD_MEANINGS.items()}


# --- the header ------------------------------------------------------------------------------------


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


def read_sheet(data: bytes) -> tuple[Sheet, Iterator[CsvRecord]]:
    """The file's columns by meaning, and its records (:class:`Invalid` for a file that cannot
    be imported at all)."""
    header, records = read_table(data, is_header, f"the commitment identifier ({C_ID!r})")
    return read_header(header), records


# --- one row ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StarCheck:
    """OGP's star in one of its columns beside ours by the same rule."""

    column: str
    ogp: bool
    ours: bool


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    """One valid row of the database, in the platform's terms."""

    line: int
    key: str
    country: str
    kind: MemberKind | None  # None: not said (national when the member is created)
    country_code: str | None
    region: str | None
    year: int
    plan_number: int
    #: Column-named commitment fields the row is authoritative for (absent columns are not).
    fields: Row
    #: The file has a Language column: the original language is the file's, not kept.
    language_given: bool
    #: The legacy block: None when the file has none of its columns, {} when its cells are empty.
    legacy: Row | None
    #: The plan's length in years when the file says it, and OGP's id of the plan.
    plan_years: int | None = None
    plan_ogp_id: str | None = None
    #: Cells of the columns not mapped (None: the file has no such column; not written then).
    source: Row | None = None
    warnings: list[FieldError] = field(default_factory=list)
    stars: list[StarCheck] = field(default_factory=list)

    @property
    def plan_key(self) -> str:
        return f"{self.country}#{self.plan_number}"


def _whole(text: str, low: int, high: int) -> int | None:
    try:
        number = int(text.strip().removesuffix(".0"))
    except ValueError:
        return None
    return number if low <= number <= high else None


#: Codes OGP uses that ISO 3166 itself does not assign (user-assigned, in common use).
_USER_ASSIGNED = {"XKX": "XK"}  # Kosovo


def _alpha2(code: str) -> str | None:
    """ISO alpha-2 of OGP's code: alpha-3 for a country, and for a local member the country's
    alpha-2 followed by two letters of its own (GBSC: Scotland, United Kingdom)."""
    code = code.upper()
    if code in _USER_ASSIGNED:
        return _USER_ASSIGNED[code]
    if re.fullmatch(r"[A-Z]{3}", code):
        found = pycountry.countries.get(alpha_3=code)
        return found.alpha_2 if found is not None else None
    if re.fullmatch(r"[A-Z]{4}", code):
        found = pycountry.countries.get(alpha_2=code[:2])
        return found.alpha_2 if found is not None else None
    if re.fullmatch(r"[A-Za-z]{2}", code):
        return code.upper()
    return None


def _split(text: str, pattern: str) -> list[str]:
    if not_assessed(text) is not None:
        return []
    return [s.strip() for s in re.split(pattern, text) if s.strip()]


class _Row:
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


def parse_commitment(line: int, cells: Mapping[str, str], sheet: Sheet) -> CommitmentRow:
    """Validate one row (no I/O); every problem of the row is reported at once."""
    r = _Row(line, cells, sheet)
    for m, limit in LIMITS.items():
        if len(r.cell(m)) > limit:
            r.error(m, f"{len(r.cell(m)):,} characters, longer than the {limit:,} allowed")
    key, country = r.cell(M.ID), r.cell(M.COUNTRY)
    for m, value in ((M.ID, key), (M.COUNTRY, country)):
        if not value:
            r.error(m, "required")
    year = plan_number = None
    if not r.cell(M.YEAR):
        r.error(M.YEAR, "required")
    elif (year := _whole(r.cell(M.YEAR), FIRST_OGP_YEAR, datetime.now(UTC).year + 1)) is None:
        r.error(M.YEAR, f"{r.cell(M.YEAR)!r} is not a year between {FIRST_OGP_YEAR} and next year")
    if not r.cell(M.PLAN_NUMBER):
        r.error(M.PLAN_NUMBER, "required")
    elif (plan_number := _whole(r.cell(M.PLAN_NUMBER), 1, 50)) is None:
        r.error(M.PLAN_NUMBER, f"{r.cell(M.PLAN_NUMBER)!r} is not a whole number between 1 and 50")

    kind = _kind(r)
    code = _code(r)
    region = r.given(M.REGION) or None
    lang = Language.EN
    if r.cell(M.LANGUAGE):
        try:
            lang = Language(r.cell(M.LANGUAGE).casefold())
        except ValueError:
            r.error(
                M.LANGUAGE, f"{r.cell(M.LANGUAGE)!r} is not one of: {', '.join(v.value for v in Language)}"
            )
    fields = _fields(r, lang)
    legacy = _legacy(r, fields)
    stars = _stars(r, legacy) if legacy is not None else []
    if r.errors:
        raise RowFailure(r.errors)
    assert year is not None
    assert plan_number is not None
    source = None
    if sheet.source or r.unread:
        # Public once stored (the record, the export): a way to reach a person typed into a cell
        # of a column we do not know is masked, as in every text the public reads.
        source = {name: redact_contacts(cells[name]) for name in sheet.source if cells.get(name)} | r.unread
        for name, value in source.items():
            if len(value) > SOURCE_LIMIT:
                r.errors.append(
                    err(name, f"{len(value):,} characters, longer than the {SOURCE_LIMIT:,} allowed")
                )
        if r.errors:
            raise RowFailure(r.errors)
    return CommitmentRow(
        line, key, country, kind, code, region, year, plan_number, fields, sheet.has(M.LANGUAGE), legacy,
        plan_years=_plan_years(r, year), plan_ogp_id=r.given(M.PLAN_ID) or None, source=source,
        warnings=r.warnings, stars=stars,
    )  # fmt: skip


def _kind(r: _Row) -> MemberKind | None:
    if r.cell(M.MEMBER_KIND):
        try:
            return MemberKind(label(r.cell(M.MEMBER_KIND)))
        except ValueError:
            r.error(M.MEMBER_KIND, f"{r.cell(M.MEMBER_KIND)!r} is not one of: {', '.join(MemberKind)}")
            return None
    said = label(r.cell(M.NATIONAL_OR_LOCAL))
    if not said or not_assessed(said) is not None:
        return None
    if said not in _KINDS:
        r.warn(
            M.NATIONAL_OR_LOCAL, f"{r.cell(M.NATIONAL_OR_LOCAL)!r} is not national or local; kept as national"
        )
    return _KINDS.get(said)


def _code(r: _Row) -> str | None:
    if r.cell(M.COUNTRY_CODE):  # Sharaka's own column: ISO alpha-2
        given = r.cell(M.COUNTRY_CODE).upper()
        if not re.fullmatch(r"[A-Z]{2}", given):
            r.error(M.COUNTRY_CODE, f"{r.cell(M.COUNTRY_CODE)!r} is not an ISO 3166-1 alpha-2 code")
            return None
        return given
    code = r.cell(M.CODE)
    if not code or not_assessed(code) is not None:
        return None
    alpha2 = _alpha2(code)
    if alpha2 is None:
        r.warn(M.CODE, f"{code!r} is not an ISO 3166 country code; the member keeps none")
    return alpha2


def _plan_years(r: _Row, year: int) -> int | None:
    """The plan's length when the file says it (1 to 4 years in OGP's history)."""
    years = _whole(r.cell(M.DURATION), 1, 4) if r.cell(M.DURATION) else None
    if years is None and r.cell(M.END_YEAR):
        end = _whole(r.cell(M.END_YEAR), FIRST_OGP_YEAR, 2100)
        years = end - year if end is not None and 1 <= end - year <= 4 else None
    if years is None and (r.cell(M.DURATION) or r.cell(M.END_YEAR)):
        r.warn(M.DURATION, "the plan's length is not 1 to 4 years; a new plan is taken as 2 years")
    return years


def _fields(r: _Row, lang: Language) -> Row:
    """The commitment template's fields, through the API's model (same limits, same
    normalisation); "NA" and the like in a text column mean no text."""
    sheet = r.sheet

    def text(m: M) -> str | None:
        value = r.cell(m)
        return None if not value or not_assessed(value) is not None else value

    body: Row = {"original_language": lang.value, "title": r.cell(M.TITLE)}
    if text(M.FULL_TEXT):
        body["objective"] = text(M.FULL_TEXT)
    if sheet.has(M.LEAD):
        body["lead_agency"] = text(M.LEAD)
    if sheet.has(M.SUPPORTING):
        body["supporting_government"] = _split(r.cell(M.SUPPORTING), r"[;\n]")
    if sheet.has(M.THEME) or sheet.areas:
        themes = _split(r.cell(M.THEME), r"[;,]")
        flagged = [area_name(a) for name, a in sheet.areas.items() if _area_flag(r, name)]
        body["policy_areas"] = themes + flagged
    for m in (M.START_DATE, M.END_DATE):
        if sheet.has(m):
            day, warning = ogp_date(r.cell(m), end=m is M.END_DATE)
            if warning:
                r.warn(m, warning)
                r.unread[r.name(m)] = r.cell(m)
            body[m.value] = day
    if body.get("start_date") and body.get("end_date") and body["end_date"] < body["start_date"]:
        r.warn(M.END_DATE, "ends before it starts; the dates are kept as written only")
        for m in (M.START_DATE, M.END_DATE):
            r.unread[r.name(m)] = r.cell(m)
            body[m.value] = None
    values: dict[str, bool] = {}
    for m, name in VALUE_COLUMNS.items():
        if sheet.has(m):
            read = r.flag(m)
            values[name] = read is True
    if values.get("technology_innovation") and not any(values.get(VALUE_COLUMNS[m]) for m in CORE_VALUES):
        r.warn(M.VALUE_TECHNOLOGY, "technology and innovation counts only with a core value; not set")
        values["technology_innovation"] = False
    if values:
        body["values"] = values
    if not r.cell(M.TITLE):
        r.error(M.TITLE, "required")
        return {}
    try:
        model = CommitmentIn.model_validate(body)
    except ValidationError as exc:
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if not isinstance(p, int)]
            if any(p.startswith("dict[") for p in loc):
                continue  # the {language: text} branch of a text field: a cell is a string
            name = ".".join(p for p in loc if p != "constrained-str")
            meaning = FIELD_MEANINGS.get(name)
            r.errors.append(err(r.name(meaning) if meaning else name, e["msg"]))
        return {}
    fields = model.to_fields(lang)
    fields["original_language"] = lang.value
    short = text(M.SHORT_TITLE)
    if short:
        fields["texts"]["short_title"] = {lang.value: short}
    return fields


def _area_flag(r: _Row, name: str) -> bool:
    value = r.cells.get(name, "")
    try:
        read = yes_no(value)
    except ValueError:
        r.errors.append(err(name, f"{value!r} is not a 0/1 flag"))
        return False
    return read is True


def _legacy(r: _Row, fields: Row) -> Row | None:
    """What OGP's database says of the commitment's IRM assessment, both methodologies: the
    legacy scales at the block's top level (as before), the current ones under ``current``,
    each field not assessed under ``not_assessed`` with its reason."""
    sheet = r.sheet
    mapped = (*LEGACY_SCALES, *CURRENT_SCALES, M.VERIFIABLE, M.CHANGE_IN_COMPLETION, M.NUMBER, M.URL,
              M.REPORT_YEAR, M.REPORT_YEAR_END, M.CLUSTER, M.CARRIED_FORWARD, *STAR_COLUMNS)  # fmt: skip
    if not any(sheet.has(m) for m in mapped):
        return None
    block: Row = {}
    reasons: dict[str, str] = {}
    for m, enum in LEGACY_SCALES.items():
        read = r.scale(m, enum)
        if read.value is not None:
            block[m.value] = read.value.value
        elif read.reason:
            reasons[m.value] = read.reason
    current: Row = {}
    for m, enum in CURRENT_SCALES.items():
        read = r.scale(m, enum)
        if read.value is not None:
            current[m.value] = read.value.value
        elif read.reason:
            reasons[m.value] = read.reason
    verifiable = r.flag(M.VERIFIABLE)
    if isinstance(verifiable, bool):
        current["verifiable"] = verifiable
    elif verifiable:
        reasons["verifiable"] = verifiable
    change = r.scale(M.CHANGE_IN_COMPLETION, ChangeInCompletion)
    if change.value is not None:
        block["change_in_completion"] = change.value.value
    elif change.reason:
        reasons["change_in_completion"] = change.reason
    for m in (M.REPORT_YEAR, M.REPORT_YEAR_END):
        if r.cell(m) and not_assessed(r.cell(m)) is None:
            y = _whole(r.cell(m), FIRST_OGP_YEAR, 2100)
            if y is None:
                r.error(m, f"{r.cell(m)!r} is not a year")
            else:
                block[m.value] = y
    carried = r.flag(M.CARRIED_FORWARD)
    if isinstance(carried, bool):
        block["carried_forward"] = carried
    cluster = r.cell(M.CLUSTER)
    if cluster and not_assessed(cluster) is None and cluster != "0":
        block["cluster"] = cluster
    ogp_stars: Row = {}
    for m in STAR_COLUMNS:
        said = r.flag(m)
        if isinstance(said, bool):
            ogp_stars[m.value] = said
    if ogp_stars:
        block["ogp_starred"] = ogp_stars
    if r.cell(M.NUMBER) and not_assessed(r.cell(M.NUMBER)) is None:
        block["ogp_commitment_number"] = r.cell(M.NUMBER)
    if r.cell(M.URL) and not_assessed(r.cell(M.URL)) is None:
        if not http_url(r.cell(M.URL)):
            r.error(M.URL, f"{r.cell(M.URL)!r} is not an http(s) URL")
        block["url"] = r.cell(M.URL)
    if current:
        block["current"] = {"scale_version": CURRENT_SCALE_VERSION, **current}
    if reasons:
        block["not_assessed"] = reasons
    if r.given(M.PLAN_ID):
        block["ogp_action_plan_id"] = r.given(M.PLAN_ID)
    if block:
        block["scale_version"] = LEGACY_SCALE_VERSION
    return block


def _relevant(fields: Row, base: Row | None = None) -> bool:
    core = ("value_access_to_information", "value_civic_participation", "value_public_accountability")
    base = base or {}
    return any(bool(fields.get(k, base.get(k, False))) for k in core)


def _stars(r: _Row, block: Row) -> list[StarCheck]:
    """OGP's star columns beside the versioned rule applied to the same row."""
    if not any(r.sheet.has(m) for m in STAR_COLUMNS):
        return []
    relevant = any(r.flag(m) is True for m in CORE_VALUES if r.sheet.has(m))
    checks: list[StarCheck] = []
    said = block.get("ogp_starred", {})
    for m, (completion, bar_year) in STAR_COLUMNS.items():
        if m.value not in said:
            continue
        ours = legacy_star(
            specificity=block.get(M.SPECIFICITY.value),
            relevant=relevant,
            potential_impact=block.get(M.POTENTIAL_IMPACT.value),
            completion=block.get(completion.value),
            report_year=bar_year,
        )
        if ours is not None:
            checks.append(StarCheck(r.name(m), said[m.value], ours))
    return checks


def desired_values(row: CommitmentRow, current: Row | None) -> Row:
    """What the commitment's columns should be after this row, for the columns the row speaks
    for. Texts are merged (a language or text the file does not give is kept); the legacy block
    and the source data replace the previous ones."""
    base = current or {}
    out: Row = {k: v for k, v in row.fields.items() if k != "texts"}
    merged: dict[str, dict[str, str]] = {k: dict(v) for k, v in base.get("texts", {}).items()}
    for name, by_language in row.fields["texts"].items():
        merged.setdefault(name, {}).update(by_language)
    out["texts"] = merged
    if current is not None and not row.language_given:
        out.pop("original_language", None)
    lang = out.get("original_language") or base["original_language"]
    out["title"] = merged["title"].get(lang) or base.get("title") or next(iter(merged["title"].values()))
    if row.legacy is not None:
        irm = copy.deepcopy(base.get("irm") or {})
        block = dict(row.legacy)
        if set(block) - {"scale_version"}:
            # OGP's star by the rule of the report's year (the rule as first published without one).
            star = legacy_star(
                specificity=block.get("specificity"),
                relevant=_relevant(out, base),
                potential_impact=block.get("potential_impact"),
                completion=block.get("completion"),
                report_year=block.get(M.REPORT_YEAR.value),
            )
            if star is not None:
                block["star"] = star
            irm[LEGACY_KEY] = block
        else:
            irm.pop(LEGACY_KEY, None)
        out["irm"] = irm
    if row.source is not None:
        out["source_data"] = row.source
    return out


def plan_dates(row: CommitmentRow) -> tuple[date, date]:
    """An imported plan runs from 1 January of its year of submission for its years (2 when the
    file does not say), to 31 December of its last year."""
    years = row.plan_years or 2
    return date(row.year, 1, 1), date(row.year + years - 1, 12, 31)
