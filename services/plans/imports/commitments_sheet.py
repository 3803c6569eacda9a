"""OGP's commitments spreadsheet: its columns, and one row checked and turned into what the
platform stores (no I/O). Every problem of a row is reported at once, under the column's name;
the commitment's own fields go through the API's model, so the limits are the same as over HTTP.

The column rules are documented for users in ``docs/open-data.md``."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.plans.imports.csv_table import CsvSpec, flag, http_url, label, slug, whole_number
from services.plans.imports.report import FieldError, RowFailure, err
from services.plans.schemas import CommitmentIn
from shared.db import Row
from shared.events.plans import Language, MemberKind
from shared.scales import legacy_star

#: Key of the commitment's ``irm`` block that keeps what OGP's database said about it.
LEGACY_KEY = "legacy_import"
LEGACY_SCALE_VERSION = "legacy-2014"
FIRST_OGP_YEAR = 2011  # OGP was launched in September 2011

C_ID = "Commitment Unique Identifier"
C_COUNTRY = "Country/Locality"
C_REGION = "Region"
C_THEME = "Theme"
C_YEAR = "Year Of Submission"
C_PLAN = "Action Plan Number"
C_NUMBER = "Commitment Number"
C_TITLE = "Commitment Title"
C_SHORT = "Short Title"
C_FULL = "Full Text"
C_LEAD = "Lead Institution"
C_SUPPORT = "Supporting Institution(s)"
C_URL = "URL"
C_ACCESS = "OGP Value Access To Information"
C_PARTICIPATION = "OGP Value Civic Participation"
C_ACCOUNTABILITY = "OGP Value Public Accountability"
C_TECHNOLOGY = "OGP Value Technology"
C_SPECIFICITY = "Specificity"
C_IMPACT = "Potential Impact"
C_COMPLETION = "Completion (Progress Report)"
C_DIOG = "Did It Open Government (Overall)"
# Sharaka's own optional columns (OGP's spreadsheet has none of them).
C_KIND = "Member Kind"
C_CODE = "Country Code"
C_LANGUAGE = "Language"

COMMITMENTS_CSV = CsvSpec(
    required=(C_ID, C_COUNTRY, C_YEAR, C_PLAN, C_TITLE),
    optional=(
        C_REGION, C_THEME, C_NUMBER, C_SHORT, C_FULL, C_LEAD, C_SUPPORT, C_URL, C_ACCESS,
        C_PARTICIPATION, C_ACCOUNTABILITY, C_TECHNOLOGY, C_SPECIFICITY, C_IMPACT, C_COMPLETION,
        C_DIOG, C_KIND, C_CODE, C_LANGUAGE,
    ),
)  # fmt: skip

VALUE_COLUMNS = {
    C_ACCESS: "access_to_information",
    C_PARTICIPATION: "civic_participation",
    C_ACCOUNTABILITY: "public_accountability",
    C_TECHNOLOGY: "technology_innovation",
}
#: Legacy IRM scales (OGP's 2014 methodology): spreadsheet label → stored value.
LEGACY_SCALES: dict[str, tuple[str, tuple[str, ...]]] = {
    C_SPECIFICITY: ("specificity", ("none", "low", "medium", "high")),
    C_IMPACT: ("potential_impact", ("none", "minor", "moderate", "transformative")),
    C_COMPLETION: ("completion", ("not started", "limited", "substantial", "complete")),
    C_DIOG: ("did_it_open_government", ("worsened", "did not change", "marginal", "major", "outstanding")),
}
LEGACY_COLUMNS = (*LEGACY_SCALES, C_NUMBER, C_URL)
#: Field names of the commitment (as the API and pydantic name them) → spreadsheet column.
FIELD_COLUMNS = {
    "title": C_TITLE,
    "objective": C_FULL,
    "short_title": C_SHORT,
    "lead_agency": C_LEAD,
    "supporting_government": C_SUPPORT,
    "policy_areas": C_THEME,
    "original_language": C_LANGUAGE,
    **{f"values.{v}": c for c, v in VALUE_COLUMNS.items()},
    **{f"value_{v}": c for c, v in VALUE_COLUMNS.items()},
}


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    """One valid row of the spreadsheet, in the platform's terms."""

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

    @property
    def plan_key(self) -> str:
        return f"{self.country}#{self.plan_number}"


def parse_commitment(line: int, cells: dict[str, str], present: set[str]) -> CommitmentRow:
    """Validate one row (no I/O); every problem of the row is reported at once."""
    errors: list[FieldError] = []

    def cell(column: str) -> str:
        return cells.get(column, "")

    def check(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except RowFailure as f:
            errors.extend(f.errors)
            return None

    key = cell(C_ID)
    if not key:
        errors.append(err(C_ID, "required"))
    elif len(key) > 200:
        errors.append(err(C_ID, "longer than 200 characters"))
    country = cell(C_COUNTRY)
    if not country:
        errors.append(err(C_COUNTRY, "required"))
    elif len(country) > 300:
        errors.append(err(C_COUNTRY, "longer than 300 characters"))
    year: int | None = None
    if not cell(C_YEAR):
        errors.append(err(C_YEAR, "required"))
    else:
        year = check(whole_number, C_YEAR, cell(C_YEAR), FIRST_OGP_YEAR, datetime.now(UTC).year + 1)
    plan_number: int | None = None
    if not cell(C_PLAN):
        errors.append(err(C_PLAN, "required"))
    else:
        plan_number = check(whole_number, C_PLAN, cell(C_PLAN), 1, 50)

    kind: MemberKind | None = None
    if cell(C_KIND):
        try:
            kind = MemberKind(label(cell(C_KIND)))
        except ValueError:
            allowed = ", ".join(k.value for k in MemberKind)
            errors.append(err(C_KIND, f"{cell(C_KIND)!r} is not one of: {allowed}"))
    code = cell(C_CODE).upper() or None
    if code is not None and not re.fullmatch(r"[A-Z]{2}", code):
        errors.append(err(C_CODE, f"{cell(C_CODE)!r} is not an ISO 3166-1 alpha-2 code"))
    region = cell(C_REGION) or None
    if region is not None and len(region) > 100:
        errors.append(err(C_REGION, "longer than 100 characters"))

    lang = Language.EN
    if cell(C_LANGUAGE):
        try:
            lang = Language(cell(C_LANGUAGE).casefold())
        except ValueError:
            allowed = ", ".join(v.value for v in Language)
            errors.append(err(C_LANGUAGE, f"{cell(C_LANGUAGE)!r} is not one of: {allowed}"))

    # The commitment's own fields go through the API's model: same limits, same normalisation.
    body: Row = {"original_language": lang.value, "title": cell(C_TITLE)}
    if cell(C_FULL):
        body["objective"] = cell(C_FULL)
    if C_LEAD in present:
        body["lead_agency"] = cell(C_LEAD) or None
    if C_SUPPORT in present:
        body["supporting_government"] = [s.strip() for s in re.split(r"[;\n]", cell(C_SUPPORT)) if s.strip()]
    if C_THEME in present:
        body["policy_areas"] = [t.strip() for t in re.split(r"[;,]", cell(C_THEME)) if t.strip()]
    flags = {name: check(flag, col, cell(col)) for col, name in VALUE_COLUMNS.items() if col in present}
    values = {name: v for name, v in flags.items() if v is not None}
    if values:
        body["values"] = values
    fields: Row = {}
    if not cell(C_TITLE):
        errors.append(err(C_TITLE, "required"))
    else:
        try:
            model = CommitmentIn.model_validate(body)
        except ValidationError as exc:
            for e in exc.errors():
                loc = [str(p) for p in e["loc"] if not isinstance(p, int)]
                if any(p.startswith("dict[") for p in loc):
                    continue  # the {language: text} branch of a text field: a cell is a string
                name = ".".join(p for p in loc if p != "constrained-str")
                errors.append(err(FIELD_COLUMNS.get(name, name), e["msg"]))
        else:
            fields = model.to_fields(lang)
            fields["original_language"] = lang.value
            short = cell(C_SHORT)
            if short:
                if len(short) > 500:
                    errors.append(err(C_SHORT, "longer than 500 characters"))
                fields["texts"]["short_title"] = {lang.value: short}

    legacy: Row | None = None
    if any(c in present for c in LEGACY_COLUMNS):
        legacy = {}
        for col, (name, labels) in LEGACY_SCALES.items():
            if not cell(col):
                continue
            given = label(cell(col))
            if given not in labels:
                errors.append(err(col, f"{cell(col)!r} is not one of: {', '.join(labels)}"))
            else:
                legacy[name] = slug(given)
        if cell(C_NUMBER):
            if len(cell(C_NUMBER)) > 20:
                errors.append(err(C_NUMBER, "longer than 20 characters"))
            legacy["ogp_commitment_number"] = cell(C_NUMBER)
        if cell(C_URL):
            if not http_url(cell(C_URL)):
                errors.append(err(C_URL, f"{cell(C_URL)!r} is not an http(s) URL"))
            legacy["url"] = cell(C_URL)
        if legacy:
            legacy["scale_version"] = LEGACY_SCALE_VERSION

    if errors:
        raise RowFailure(errors)
    assert year is not None
    assert plan_number is not None
    return CommitmentRow(
        line, key, country, kind, code, region, year, plan_number, fields, C_LANGUAGE in present, legacy
    )


def _legacy_star(block: Row, relevant: bool, report_year: int | None) -> bool | None:
    """OGP's legacy star by the report year's rule (``shared.scales.legacy_star``): specific,
    relevant, a potential impact over the year's bar, and at least substantially complete.
    Unknown (None) until all three scales are known."""
    return legacy_star(
        specificity=block.get("specificity"),
        relevant=relevant,
        potential_impact=block.get("potential_impact"),
        completion=block.get("completion"),
        report_year=report_year,
    )


def desired_values(row: CommitmentRow, current: Row | None) -> Row:
    """What the commitment's columns should be after this row, for the columns the row speaks
    for. Texts are merged (a language or text the file does not give is kept); the legacy block
    replaces the previous one."""
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
        if block:
            core = ("value_access_to_information", "value_civic_participation", "value_public_accountability")
            # The sheet has no report-year column: without a year the rule as first published
            # applies (moderate or transformative), as the importer always did.
            star = _legacy_star(block, any(bool(out.get(k, base.get(k, False))) for k in core), None)
            if star is not None:
                block["star"] = star
            irm[LEGACY_KEY] = block
        else:
            irm.pop(LEGACY_KEY, None)
        out["irm"] = irm
    return out
