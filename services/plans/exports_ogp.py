"""The commitments export in OGP's own column layout (``/v1/export/commitments.csv?layout=ogp``):
the columns of OGP's commitments database, in its order, so that OGP, and anyone holding its
spreadsheets, can read Sharaka's data as their own, and so that importing this export gives
the same commitments as the import it came from (the round trip the tests hold).

Each mapped column is written from what the platform stores, in a form the import reads back
to the same value (a scale's label, ``ND``/``NR``/``NA`` for a field not assessed, ISO dates);
every other column of the layout from the commitment's source data; source data under columns
the layout does not have comes last, in name order. Only public data: the same rule as the
other exports (no contact is joined).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pycountry

from services.plans.domain.policy_areas import FLAGS, area_name
from services.plans.imports.ogp_assessment import CURRENT_SCALES, LEGACY_KEY, LEGACY_SCALES
from services.plans.imports.ogp_cells import REASON_CODES, label_of
from services.plans.imports.ogp_layout import NAMES, OGP_LAYOUT, M, column_key
from services.plans.queries.open_data import CHUNK_ROWS
from shared.db import Row

SQL = """
    SELECT c.id, c.source_key, c.title, c.texts, c.original_language, c.start_date, c.end_date,
           c.lead_agency, c.supporting_government, c.value_access_to_information,
           c.value_civic_participation, c.value_public_accountability, c.value_technology_innovation,
           c.policy_areas, c.irm, c.source_data,
           coalesce(m.source_key, m.name) AS member_key, m.kind AS member_kind,
           m.country_code, m.region, p.action_plan_number, p.start_date AS plan_start,
           p.length_years, p.ogp_id
    FROM commitments c JOIN plans p ON p.id = c.plan_id JOIN members m ON m.id = c.member_id
    ORDER BY m.name, p.action_plan_number NULLS LAST, p.start_date, p.id, c.number"""
EXTRA_COLUMNS = "SELECT DISTINCT jsonb_object_keys(source_data) AS k FROM commitments ORDER BY 1"

_FLAG_AREAS = {area_name(f): f for f in FLAGS}
_KIND_LABELS = {"national": "National", "local": "Local", "parliament": "Parliament"}
#: The scales the import keeps in each block of ``irm.legacy_import``, as it keeps them.
_LEGACY_FIELDS = (*LEGACY_SCALES, M.CHANGE_IN_COMPLETION)
_CURRENT_FIELDS = tuple(CURRENT_SCALES)


def _yes(value: Any) -> str:
    return "" if value is None else ("1" if value else "0")


def _alpha3(alpha2: str | None) -> str:
    found = pycountry.countries.get(alpha_2=alpha2) if alpha2 else None
    return found.alpha_3 if found is not None else (alpha2 or "")


def _scale(block: Row, key: str) -> str:
    """A scale field's label, or the code of the reason it was not assessed."""
    if key in block:
        return label_of(str(block[key]))
    reason = block.get("not_assessed", {}).get(key)
    return REASON_CODES.get(reason, "") if reason else ""


def mapped_cells(r: Row) -> dict[str, str]:
    """The mapped columns of one commitment, by the layout's names."""
    lang = r["original_language"]
    texts = r["texts"] or {}
    legacy: Row = (r["irm"] or {}).get(LEGACY_KEY, {})
    current: Row = legacy.get("current", {})
    plan_year = r["plan_start"].year
    areas = set(r["policy_areas"] or [])
    out: dict[M, str] = {
        M.ID: r["source_key"] or str(r["id"]),
        M.COUNTRY: r["member_key"],
        M.CODE: _alpha3(r["country_code"]),
        M.REGION: r["region"] or "",
        M.NATIONAL_OR_LOCAL: _KIND_LABELS.get(r["member_kind"], ""),
        M.PLAN_NUMBER: str(r["action_plan_number"] or ""),
        M.PLAN_ID: r["ogp_id"] or legacy.get("ogp_action_plan_id", ""),
        M.YEAR: str(plan_year),
        M.END_YEAR: str(plan_year + r["length_years"]),
        M.DURATION: str(r["length_years"]),
        M.NUMBER: legacy.get("ogp_commitment_number", ""),
        M.THEME: "; ".join(sorted(a for a in areas if a not in _FLAG_AREAS)),
        M.TITLE: texts.get("title", {}).get(lang) or r["title"],
        M.SHORT_TITLE: texts.get("short_title", {}).get(lang, ""),
        M.FULL_TEXT: texts.get("objective", {}).get(lang, ""),
        M.START_DATE: r["start_date"].isoformat() if r["start_date"] else "",
        M.END_DATE: r["end_date"].isoformat() if r["end_date"] else "",
        M.LEAD: r["lead_agency"] or "",
        M.SUPPORTING: "; ".join(r["supporting_government"] or []),
        M.URL: legacy.get("url", ""),
        M.VALUE_ACCESS: _yes(r["value_access_to_information"]),
        M.VALUE_PARTICIPATION: _yes(r["value_civic_participation"]),
        M.VALUE_ACCOUNTABILITY: _yes(r["value_public_accountability"]),
        M.VALUE_TECHNOLOGY: _yes(r["value_technology_innovation"]),
        M.VERIFIABLE: (
            ("Yes" if current["verifiable"] else "No")
            if "verifiable" in current
            else REASON_CODES.get(legacy.get("not_assessed", {}).get("verifiable", ""), "")
        ),
        M.REPORT_YEAR: str(legacy.get(M.REPORT_YEAR.value, "")),
        M.REPORT_YEAR_END: str(legacy.get(M.REPORT_YEAR_END.value, "")),
        M.CLUSTER: legacy.get("cluster", ""),
        M.CARRIED_FORWARD: _yes(legacy.get("carried_forward")),
    }
    for m in _LEGACY_FIELDS:
        out[m] = _scale(legacy, m.value)
    scales = {**current, "not_assessed": legacy.get("not_assessed", {})}
    for m in _CURRENT_FIELDS:
        out[m] = _scale(scales, m.value)
    starred = legacy.get("ogp_starred", {})
    for m in (M.STARRED_2015, M.STARRED_PROGRESS, M.STARRED_END):
        out[m] = _yes(starred.get(m.value))
    cells = {NAMES[m]: v for m, v in out.items()}
    for flag in FLAGS:
        cells[flag] = "1" if area_name(flag) in areas else "0"
    return cells


def ogp_row(r: Row, columns: list[str]) -> list[str]:
    """One commitment's cells in ``columns``' order: mapped values first, else its source data
    (under the same column, compared as the import compares headers)."""
    mapped = mapped_cells(r)
    source: dict[str, str] = {column_key(k): v for k, v in (r["source_data"] or {}).items()}
    return [mapped.get(name) or source.get(column_key(name), "") for name in columns]


async def columns_of(conn: Any) -> list[str]:
    """The layout, then the source data's other columns (an older export's, say)."""
    known = {column_key(c) for c in OGP_LAYOUT}
    extra = [r["k"] for r in await conn.fetch(EXTRA_COLUMNS) if column_key(r["k"]) not in known]
    return [*OGP_LAYOUT, *extra]


async def ogp_csv_stream(pool: asyncpg.Pool) -> AsyncIterator[bytes]:
    """The whole export in one read-only REPEATABLE READ snapshot, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        columns = await columns_of(conn)
        writer.writerow(columns)
        yield buffer.getvalue().encode()
        cursor = await conn.cursor(SQL)
        row: Callable[[Row], list[str]] = lambda r: ogp_row(r, columns)  # noqa: E731
        while chunk := await cursor.fetch(CHUNK_ROWS):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(row(dict(r)) for r in chunk)
            yield buffer.getvalue().encode()
