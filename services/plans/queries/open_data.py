"""The SQL of the open-data export (``/v1/export/<dataset>.csv|json``) and the stream of its rows.

Each dataset is explicit SQL over explicit columns: contacts are never joined and a plan's
``point_of_contact_id`` is left out, so no e-mail address, phone number or contact name can leak
through a new column by accident. The columns' names, order and meaning are
:mod:`services.plans.exports`' (documented in ``docs/open-data.md``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from services.plans.queries.json_sql import PLAN_COUNT, PLAN_PROGRESS
from shared.db import Row

#: Rows fetched from the cursor at a time (and written per chunk).
CHUNK_ROWS = 500

EXPORT_SQL: dict[str, str] = {
    "members": """
        SELECT id, name, kind, country_code, region, status, status_reason, status_changed_at,
               source_key, created_at
        FROM members ORDER BY name, id""",
    "plans": f"""
        SELECT p.id, p.member_id, m.name AS member_name, p.action_plan_number, p.title, p.start_date,
               p.end_date, p.length_years, p.strands, p.state,
               {PLAN_COUNT} AS commitment_count, {PLAN_PROGRESS} AS progress,
               p.submitted_at, p.implementation_started_at, p.refreshed_at, p.ended_at, p.closed_at,
               p.source_key, p.created_at, p.updated_at
        FROM plans p JOIN members m ON m.id = p.member_id
        ORDER BY m.name, p.action_plan_number NULLS LAST, p.start_date, p.id""",  # noqa: S608
    "commitments": """
        SELECT c.id, c.plan_id, c.member_id, c.number, c.title, c.texts, c.original_language,
               c.state, c.start_date, c.end_date, c.lead_agency, c.responsible_person,
               c.supporting_government, c.supporting_other, c.value_access_to_information,
               c.value_civic_participation, c.value_public_accountability,
               c.value_technology_innovation, c.policy_areas, c.budget_amount, c.budget_currency,
               c.sdg_targets, c.other_plan_links, c.progress, c.self_assessment, c.irm, c.version,
               c.created_at, c.updated_at, c.source_key, m.name AS member_name, p.action_plan_number
        FROM commitments c JOIN plans p ON p.id = c.plan_id JOIN members m ON m.id = c.member_id
        ORDER BY m.name, p.action_plan_number NULLS LAST, p.start_date, p.id, c.number""",
    "milestones": """
        SELECT m.id, m.commitment_id, m.plan_id, m.number, m.texts, m.start_date, m.end_date,
               m.responsible, m.status, m.weight, m.progress, m.completed_at, m.created_at,
               m.updated_at, c.member_id, c.source_key AS commitment_source_key,
               c.number AS commitment_number
        FROM milestones m JOIN commitments c ON c.id = m.commitment_id
        ORDER BY m.plan_id, c.number, m.number""",
}


async def export_rows(pool: asyncpg.Pool, dataset: str) -> AsyncIterator[list[Row]]:
    """The dataset's rows in chunks, from a server-side cursor inside one read-only REPEATABLE
    READ transaction: one consistent snapshot, constant memory."""
    sql = EXPORT_SQL[dataset]
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        cursor = await conn.cursor(sql)
        while True:
            chunk = await cursor.fetch(CHUNK_ROWS)
            if not chunk:
                return
            yield [dict(r) for r in chunk]
