"""Single records: a member's record, a plan's own record, one commitment, a plan's commitments and
its documents."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.plans.queries.json_sql import (
    MILESTONES_BY_COMMITMENT,
    MILESTONES_OF_COMMITMENT,
    PLAN_COUNT,
    PLAN_PROGRESS,
    commitment,
)
from shared.db import Row

#: The plan's record as its owners see it (``PlanOut``): with the point of contact's opaque id,
#: never the contact's details.
_PLAN = f"""
SELECT p.id, p.member_id, p.title, p.start_date, p.end_date, p.state,
    p.point_of_contact_id, p.created_at, p.submitted_at, p.updated_at, p.length_years, p.strands,
    p.action_plan_number, p.implementation_started_at, p.refreshed_at, p.ended_at, p.closed_at,
    {PLAN_COUNT} AS commitment_count, {PLAN_PROGRESS} AS progress
FROM plans p WHERE p.id = $1
"""  # noqa: S608

_PLAN_COMMITMENTS = f"""
WITH ms AS ({MILESTONES_BY_COMMITMENT}
)
SELECT coalesce((
    SELECT json_agg(j ORDER BY c.number)
    FROM commitments c LEFT JOIN ms ON ms.commitment_id = c.id
    CROSS JOIN LATERAL ({commitment("coalesce(ms.items, '[]'::json)")}) j
    WHERE c.plan_id = p.id), '[]'::json)::text
FROM plans p WHERE p.id = $1
"""  # noqa: S608

_COMMITMENT = f"""
SELECT row_to_json(j)::text FROM commitments c CROSS JOIN LATERAL ({commitment(MILESTONES_OF_COMMITMENT)}) j
WHERE c.id = $1
"""  # noqa: S608

_DOCUMENTS = """SELECT id, type, title, url, language, published_on, created_at FROM documents
   WHERE plan_id = $1 ORDER BY published_on DESC, created_at DESC"""


_MEMBER = """SELECT id, name, kind, country_code, region, status, status_reason, status_changed_at, created_at
   FROM members WHERE id = $1"""


async def member_record(conn: Any, member_id: UUID) -> Row | None:
    """The member as its API shows it (``MemberOut``), or None."""
    r = await conn.fetchrow(_MEMBER, member_id)
    return dict(r) if r else None


async def plan_record(conn: Any, plan_id: UUID) -> Row | None:
    r = await conn.fetchrow(_PLAN, plan_id)
    return dict(r) if r else None


async def plan_commitments_json(conn: Any, plan_id: UUID) -> str | None:
    """The plan's commitments with their milestones as a JSON array, or None without the plan."""
    text: str | None = await conn.fetchval(_PLAN_COMMITMENTS, plan_id)
    return text


async def commitment_json(conn: Any, commitment_id: UUID) -> str | None:
    """The public commitment with its milestones as JSON, or None."""
    text: str | None = await conn.fetchval(_COMMITMENT, commitment_id)
    return text


async def plan_documents(conn: Any, plan_id: UUID) -> list[Row]:
    """The plan's documents, newest first (none, too, for a plan that does not exist)."""
    return [dict(r) for r in await conn.fetch(_DOCUMENTS, plan_id)]
