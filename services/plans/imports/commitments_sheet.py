"""OGP's commitments database: one row checked and turned into what the platform stores (no
I/O). Every problem of a row is reported at once, under the file's own column name; the
commitment's own fields go through the API's model, so the limits are the same as over HTTP.

What a row keeps: the commitment template's fields, the member (country code, national or
local), the plan (OGP's id, its years), every IRM scale of both methodologies with the reason a
field was not assessed, OGP's own stars beside ours, and every cell of a column the import
does not map (the commitment's source data). The column rules are documented for users in
``docs/open-data.md``."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pycountry
from pydantic import ValidationError

from services.plans.domain.policy_areas import area_name
from services.plans.imports.csv_table import label
from services.plans.imports.ogp_assessment import (
    LEGACY_KEY,
    StarCheck,
    assessment,
    relevant,
    star,
    star_checks,
)
from services.plans.imports.ogp_cells import not_assessed, ogp_date, yes_no
from services.plans.imports.ogp_header import Sheet
from services.plans.imports.ogp_layout import NAMES, M
from services.plans.imports.ogp_row import FIRST_OGP_YEAR, RowCells, split_cell, whole
from services.plans.imports.report import FieldError, RowFailure, err
from services.plans.schemas import CommitmentIn
from shared.db import Row
from shared.events.plans import Language, MemberKind
from shared.privacy import redact_contacts

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


# --- one row ---------------------------------------------------------------------------------------


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


def parse_commitment(line: int, cells: Mapping[str, str], sheet: Sheet) -> CommitmentRow:
    """Validate one row (no I/O); every problem of the row is reported at once."""
    r = RowCells(line, cells, sheet)
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
    elif (year := whole(r.cell(M.YEAR), FIRST_OGP_YEAR, datetime.now(UTC).year + 1)) is None:
        r.error(M.YEAR, f"{r.cell(M.YEAR)!r} is not a year between {FIRST_OGP_YEAR} and next year")
    if not r.cell(M.PLAN_NUMBER):
        r.error(M.PLAN_NUMBER, "required")
    elif (plan_number := whole(r.cell(M.PLAN_NUMBER), 1, 50)) is None:
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
    legacy = assessment(r)
    stars = star_checks(r, legacy, fields) if legacy is not None else []
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


def _kind(r: RowCells) -> MemberKind | None:
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


def _code(r: RowCells) -> str | None:
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


def _plan_years(r: RowCells, year: int) -> int | None:
    """The plan's length when the file says it (1 to 4 years in OGP's history)."""
    years = whole(r.cell(M.DURATION), 1, 4) if r.cell(M.DURATION) else None
    if years is None and r.cell(M.END_YEAR):
        end = whole(r.cell(M.END_YEAR), FIRST_OGP_YEAR, 2100)
        years = end - year if end is not None and 1 <= end - year <= 4 else None
    if years is None and (r.cell(M.DURATION) or r.cell(M.END_YEAR)):
        r.warn(M.DURATION, "the plan's length is not 1 to 4 years; a new plan is taken as 2 years")
    return years


def _fields(r: RowCells, lang: Language) -> Row:
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
        body["supporting_government"] = split_cell(r.cell(M.SUPPORTING), r"[;\n]")
    if sheet.has(M.THEME) or sheet.areas:
        themes = split_cell(r.cell(M.THEME), r"[;,]")
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


def _area_flag(r: RowCells, name: str) -> bool:
    value = r.cells.get(name, "")
    try:
        read = yes_no(value)
    except ValueError:
        r.errors.append(err(name, f"{value!r} is not a 0/1 flag"))
        return False
    return read is True


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
            starred = star(block, relevant=relevant(out, base), report_year=block.get(M.REPORT_YEAR.value))
            if starred is not None:
                block["star"] = starred
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
