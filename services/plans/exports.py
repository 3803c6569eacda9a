"""Open-data export of the plans service: members, plans, commitments and milestones as CSV and
JSON, for anyone, without a token.

Why it is shaped this way:

* **Only public data.** Each dataset is an explicit column list (here) over explicit SQL
  (:mod:`services.plans.queries.open_data`); contacts are never joined and a plan's
  ``point_of_contact_id`` is left out, so no e-mail address, phone number or contact name can
  leak through a new column by accident.
* **Streaming.** Rows come from a server-side cursor inside one read-only REPEATABLE READ
  transaction (one consistent snapshot, constant memory) and go out in chunks of a few hundred
  rows, so a 50 MB export never sits in memory as one string.
* **One documented column list for both formats.** CSV has the columns in this order (texts one
  column per language, lists joined with ``"; "``); JSON is an array of objects with the same
  keys and native types (lists stay arrays). ``docs/open-data.md`` documents every column, and
  a test keeps the document and :data:`DATASETS` in step.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.plans import queries
from shared.db import Row
from shared.events.plans import Language

#: Languages of the multilingual texts, one column each (``title_en``, ``title_fr``...).
LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "ar")
assert set(LANGUAGES) == {lang.value for lang in Language}, "a new language needs its export columns"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # as documented: uuid, text, integer, number, boolean, date, timestamp, list of text
    meaning: str
    get: Callable[[Row], Any]


@dataclass(frozen=True, slots=True)
class Dataset:
    """The columns of one dataset; its rows come from ``queries.EXPORT_SQL[name]``."""

    name: str
    columns: tuple[Column, ...]


def _col(name: str, type_: str, meaning: str, key: str | None = None) -> Column:
    source = key or name
    return Column(name, type_, meaning, lambda r: r[source])


def _texts(field: str, meaning: str, source: str = "texts") -> list[Column]:
    def getter(lang: str) -> Callable[[Row], Any]:
        return lambda r: (r[source] or {}).get(field, {}).get(lang)

    return [Column(f"{field}_{lang}", "text", f"{meaning} ({lang})", getter(lang)) for lang in LANGUAGES]


def _legacy(name: str, type_: str, meaning: str, key: str) -> Column:
    return Column(name, type_, meaning, lambda r: (r["irm"] or {}).get("legacy_import", {}).get(key))


MEMBERS = Dataset(
    "members",
    (
        _col("id", "uuid", "the member's id in Sharaka"),
        _col("name", "text", "country or locality"),
        _col("kind", "text", "national, local or parliament"),
        _col("country_code", "text", "ISO 3166-1 alpha-2 code, when known"),
        _col("region", "text", "OGP region"),
        _col(
            "status",
            "text",
            "standing: participating, acted_contrary_to_process, under_procedural_review, inactive "
            "or withdrawn",
        ),
        _col("status_reason", "text", "the public reason of the last change of standing"),
        _col("status_changed_at", "timestamp", "when the standing last changed"),
        _col("source_key", "text", "the member's name in OGP's commitments spreadsheet, if imported"),
        _col("created_at", "timestamp", "when the member was recorded"),
    ),
)

PLANS = Dataset(
    "plans",
    (
        _col("id", "uuid", "the action plan's id"),
        _col("member_id", "uuid", "the member (see members)"),
        _col("member_name", "text", "the member's name"),
        _col("action_plan_number", "integer", "1 for the member's first action plan, 2 for the second..."),
        _col("title", "text", "title of the plan"),
        _col("start_date", "date", "start of implementation"),
        _col("end_date", "date", "end of implementation"),
        _col("length_years", "integer", "2 or 4 (local plans vary)"),
        _col("strands", "list of text", "open_government, open_parliament, open_justice, local"),
        _col("state", "text", "draft, co_creation, submitted, implementing, refreshing, ended or closed"),
        _col("commitment_count", "integer", "commitments that are not withdrawn"),
        _col("progress", "number", "mean progress of those commitments, 0-100"),
        _col("submitted_at", "timestamp", "when the plan was submitted (published)"),
        _col("implementation_started_at", "timestamp", "when implementation started"),
        _col("refreshed_at", "timestamp", "when a 4-year plan's refresh window opened"),
        _col("ended_at", "timestamp", "when implementation ended"),
        _col("closed_at", "timestamp", "when the cycle was closed"),
        _col(
            "source_key", "text", "'<member>#<action plan number>' for plans imported from OGP's spreadsheet"
        ),
        _col("created_at", "timestamp", "when the plan was recorded"),
        _col("updated_at", "timestamp", "last change of the plan's state"),
    ),
)

COMMITMENTS = Dataset(
    "commitments",
    (
        _col("id", "uuid", "the commitment's id"),
        _col("source_key", "text", "OGP's Commitment Unique Identifier, for imported commitments"),
        _col("member_id", "uuid", "the member (see members)"),
        _col("member_name", "text", "the member's name"),
        _col("plan_id", "uuid", "the action plan (see plans)"),
        _col("action_plan_number", "integer", "the plan's number for its member"),
        _col("number", "integer", "the commitment's number in its plan"),
        _col("state", "text", "drafted, in_consultation, adopted, implementing, ended or withdrawn"),
        _col("original_language", "text", "language the commitment was written in (en, fr, es, ar)"),
        _col("title", "text", "title in the original language"),
        *_texts("title", "title"),
        *_texts("short_title", "short title"),
        *_texts("problem", "the public problem addressed"),
        *_texts("baseline", "baseline of the problem"),
        *_texts("status_quo", "status quo"),
        *_texts("objective", "what the commitment is (OGP's Full Text for imported commitments)"),
        *_texts("how_it_solves", "how it will help solve the problem"),
        *_texts("ambition", "ambition"),
        _col("start_date", "date", "start of the commitment"),
        _col("end_date", "date", "end of the commitment"),
        _col("lead_agency", "text", "lead implementing agency"),
        _col("responsible_person", "text", "responsible official's name and title, as published in the plan"),
        _col("supporting_government", "list of text", "supporting government institutions"),
        _col("supporting_other", "list of text", "supporting civil society and other institutions"),
        _col("value_access_to_information", "boolean", "relevant to access to information"),
        _col("value_civic_participation", "boolean", "relevant to civic participation"),
        _col("value_public_accountability", "boolean", "relevant to public accountability"),
        _col("value_technology_innovation", "boolean", "relevant to technology and innovation"),
        _col("policy_areas", "list of text", "policy areas (OGP's Theme), lower case"),
        _col("budget_amount", "number", "budget, when given"),
        _col("budget_currency", "text", "ISO 4217 currency of the budget"),
        _col("sdg_targets", "list of text", "linked Sustainable Development Goal targets"),
        _col("other_plan_links", "list of text", "links to other plans"),
        _col("progress", "number", "weighted progress of its milestones, 0-100"),
        Column(
            "self_assessed_completion",
            "text",
            "the government's end-of-term self-assessment: not_started, limited, substantial or completed",
            lambda r: (r["self_assessment"] or {}).get("completion"),
        ),
        _legacy(
            "legacy_specificity",
            "text",
            "IRM specificity (2014 scale): none, low, medium, high",
            "specificity",
        ),
        _legacy(
            "legacy_potential_impact",
            "text",
            "IRM potential impact (2014 scale): none, minor, moderate, transformative",
            "potential_impact",
        ),
        _legacy(
            "legacy_completion",
            "text",
            "IRM completion (progress report): not_started, limited, substantial, complete",
            "completion",
        ),
        _legacy(
            "legacy_did_it_open_government",
            "text",
            "IRM 'did it open government?': worsened, did_not_change, marginal, major, outstanding",
            "did_it_open_government",
        ),
        _legacy(
            "legacy_star", "boolean", "OGP's legacy star commitment, when the three scales are known", "star"
        ),
        _legacy(
            "ogp_commitment_number",
            "text",
            "the commitment's number in OGP's spreadsheet",
            "ogp_commitment_number",
        ),
        _legacy("ogp_url", "text", "the commitment's page on OGP's website", "url"),
        _col("version", "integer", "incremented by every change (see the commitment's public history)"),
        _col("created_at", "timestamp", "when the commitment was recorded"),
        _col("updated_at", "timestamp", "last change"),
    ),
)

MILESTONES = Dataset(
    "milestones",
    (
        _col("id", "uuid", "the milestone's id"),
        _col("commitment_id", "uuid", "its commitment (see commitments)"),
        _col("commitment_source_key", "text", "the commitment's OGP identifier, for imported commitments"),
        _col("commitment_number", "integer", "the commitment's number in its plan"),
        _col("plan_id", "uuid", "the action plan"),
        _col("member_id", "uuid", "the member"),
        _col("number", "integer", "the milestone's number in its commitment"),
        *_texts("title", "verifiable deliverable"),
        *_texts("deliverable", "description of the deliverable"),
        _col("start_date", "date", "planned start"),
        _col("end_date", "date", "planned (or delayed) end"),
        _col("responsible", "text", "responsible institution, as published in the plan"),
        _col("status", "text", "not_started, in_progress, completed, delayed or cancelled"),
        _col("weight", "number", "weight in the commitment's progress"),
        _col("progress", "integer", "0-100"),
        _col("completed_at", "timestamp", "when it was reported completed"),
        _col("created_at", "timestamp", "when the milestone was recorded"),
        _col("updated_at", "timestamp", "last progress report"),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (MEMBERS, PLANS, COMMITMENTS, MILESTONES)}
assert set(DATASETS) == set(queries.EXPORT_SQL), "every dataset needs its SQL, and every SQL its columns"


# --- values ---------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """The JSON form of a column value: ISO dates, strings for UUIDs, numbers for decimals."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def csv_value(value: Any) -> str:
    """The CSV cell: empty for null, ``true``/``false``, lists joined with ``"; "``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(csv_value(v) for v in value)
    return str(json_value(value))


# --- streams --------------------------------------------------------------------------------


async def csv_stream(pool: asyncpg.Pool, dataset: Dataset) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in dataset.columns])
    yield buffer.getvalue().encode()
    async for chunk in queries.export_rows(pool, dataset.name):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([csv_value(c.get(r)) for c in dataset.columns] for r in chunk)
        yield buffer.getvalue().encode()


async def json_stream(pool: asyncpg.Pool, dataset: Dataset) -> AsyncIterator[bytes]:
    """A JSON array, written one object per line so that it also reads well as text."""
    yield b"["
    first = True
    async for chunk in queries.export_rows(pool, dataset.name):
        parts = []
        for r in chunk:
            obj = {c.name: json_value(c.get(r)) for c in dataset.columns}
            parts.append(("\n" if first else ",\n") + json.dumps(obj, ensure_ascii=False, default=json_value))
            first = False
        yield "".join(parts).encode()
    yield b"\n]\n"
