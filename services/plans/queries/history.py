"""The public histories: a member's changes of standing, its eligibility scores year by year, a
commitment's changes and a milestone's progress reports."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Row
from shared.errors import NotFound

_COMMITMENT_EXISTS = "SELECT EXISTS (SELECT 1 FROM commitments WHERE id = $1)"


async def member_status_history(conn: Any, member_id: UUID) -> list[Row]:
    """Oldest first; empty for a member without changes (or unknown)."""
    rows = await conn.fetch(
        """SELECT from_status, to_status, reason, plan_id, source, changed_at
           FROM member_status_history WHERE member_id = $1 ORDER BY changed_at, id""",
        member_id,
    )
    return [dict(r) for r in rows]


async def eligibility_scores(conn: Any, member_id: UUID) -> list[Row]:
    """Each scored year: its inputs and the computed result's fields."""
    rows = await conn.fetch(
        "SELECT year, inputs, result FROM eligibility_scores WHERE member_id = $1 ORDER BY year",
        member_id,
    )
    return [{"year": r["year"], "inputs": r["inputs"], **r["result"]} for r in rows]


async def commitment_history(conn: Any, commitment_id: UUID) -> list[Row]:
    """Who changed what and when, oldest first; :class:`NotFound` without the commitment."""
    rows = await conn.fetch(
        """SELECT at, by, action, changes, version FROM commitment_history
           WHERE commitment_id = $1 ORDER BY id""",
        commitment_id,
    )
    if not rows and not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM commitments WHERE id = $1)", commitment_id
    ):
        raise NotFound(f"commitment {commitment_id}")
    return [dict(r) for r in rows]


async def milestone_updates(conn: Any, milestone_id: UUID) -> list[Row]:
    """The milestone's progress reports, oldest first; empty for an unknown milestone."""
    rows = await conn.fetch(
        """SELECT at, status, progress, note, evidence FROM milestone_updates
           WHERE milestone_id = $1 ORDER BY id""",
        milestone_id,
    )
    return [dict(r) for r in rows]
