"""Findings and procedural reviews as the public API shows them (who recorded them is not shown)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from shared.db import Row

_FINDING = "f.id, f.member_id, f.plan_id, f.cycle, f.reason, f.found_at, f.source"
_REVIEW = """r.id, r.member_id, r.reason, r.started_at, r.lifted_at, r.lift_reason,
    (r.lifted_at IS NULL) AS open,
    jsonb_build_array(to_jsonb(a.id), to_jsonb(b.id)) AS finding_ids,
    jsonb_build_array(to_jsonb(a.plan_id), to_jsonb(b.plan_id)) AS plan_ids,
    jsonb_build_array(a.cycle, b.cycle) AS cycles"""
_REVIEW_FROM = """procedural_reviews r
    JOIN process_findings a ON a.id = r.first_finding_id
    JOIN process_findings b ON b.id = r.second_finding_id"""


async def findings(
    conn: Any, member_id: UUID | None, plan_id: UUID | None, year: int | None, limit: int
) -> list[Row]:
    """By member, plan and year found, oldest first."""
    rows = await conn.fetch(
        f"""SELECT {_FINDING} FROM process_findings f
            WHERE ($1::uuid IS NULL OR f.member_id = $1) AND ($2::uuid IS NULL OR f.plan_id = $2)
              AND ($3::int IS NULL OR extract(year FROM f.found_at AT TIME ZONE 'UTC') = $3)
            ORDER BY f.found_at, f.id LIMIT $4""",  # noqa: S608  (constant column list, values bound)
        member_id, plan_id, year, limit,
    )  # fmt: skip
    return [dict(r) for r in rows]


async def finding(conn: Any, finding_id: UUID) -> Row | None:
    row = await conn.fetchrow(f"SELECT {_FINDING} FROM process_findings f WHERE f.id = $1", finding_id)  # noqa: S608
    return dict(row) if row else None


def _review(row: Any) -> Row:
    out = dict(row)
    for key in ("finding_ids", "plan_ids", "cycles"):
        value = out[key]
        out[key] = json.loads(value) if isinstance(value, str) else value
    return out


async def procedural_reviews(
    conn: Any,
    member_id: UUID | None,
    plan_id: UUID | None,
    year: int | None,
    open_only: bool | None,
    limit: int,
) -> list[Row]:
    """By member, plan (of either finding) and year started, oldest first."""
    rows = await conn.fetch(
        f"""SELECT {_REVIEW} FROM {_REVIEW_FROM}
            WHERE ($1::uuid IS NULL OR r.member_id = $1)
              AND ($2::uuid IS NULL OR a.plan_id = $2 OR b.plan_id = $2)
              AND ($3::int IS NULL OR extract(year FROM r.started_at AT TIME ZONE 'UTC') = $3)
              AND ($4::bool IS NULL OR (r.lifted_at IS NULL) = $4)
            ORDER BY r.started_at, r.id LIMIT $5""",  # noqa: S608
        member_id, plan_id, year, open_only, limit,
    )  # fmt: skip
    return [_review(r) for r in rows]


async def procedural_review(conn: Any, review_id: UUID) -> Row | None:
    row = await conn.fetchrow(f"SELECT {_REVIEW} FROM {_REVIEW_FROM} WHERE r.id = $1", review_id)  # noqa: S608
    return _review(row) if row else None
