"""The notifications service's read side: SQL that answers the delivery log, no domain objects."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg


async def deliveries(
    pool: asyncpg.Pool, plan_id: UUID | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; the recipient is the delivery's own or, for a plan's, its point of contact."""
    rows = await pool.fetch(
        """SELECT d.id, d.cause_event_id, d.template, d.channel, d.plan_id,
                  coalesce(d.recipient_id, pc.contact_id) AS recipient_id, d.status, d.attempts,
                  d.last_error, d.created_at, d.sent_at
           FROM deliveries d LEFT JOIN plan_contacts pc ON pc.plan_id = d.plan_id
           WHERE ($1::uuid IS NULL OR d.plan_id = $1) AND ($2::text IS NULL OR d.status = $2)
           ORDER BY d.created_at DESC LIMIT $3""",
        plan_id,
        status,
        limit,
    )
    return [dict(r) for r in rows]
