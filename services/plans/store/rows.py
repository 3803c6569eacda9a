"""Plain-row reads for the read side (``queries``, ``api_public``, ``exports``) and the importer,
which work with rows as the database returns them. The write side uses the typed repositories
(:mod:`services.plans.store.postgres`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.plans.store.columns import COMMITMENT_COLUMNS, MILESTONE_COLUMNS, PLAN_COLUMNS


async def get_plan(conn: Any, plan_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    """With ``for_update`` the plan row is locked: every change to one plan (and so its events in
    the outbox) is serialised, which is what keeps a plan's events in order on Kafka."""
    lock = " FOR UPDATE OF p" if for_update else ""
    r = await conn.fetchrow(f"SELECT {PLAN_COLUMNS} FROM plans p WHERE p.id = $1{lock}", plan_id)  # noqa: S608
    return dict(r) if r else None


async def get_commitment(conn: Any, commitment_id: UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT {COMMITMENT_COLUMNS} FROM commitments c WHERE c.id = $1", commitment_id)  # noqa: S608
    return dict(r) if r else None


async def commitments_of_plan(
    conn: Any, plan_id: UUID, states: list[str] | None = None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""SELECT {COMMITMENT_COLUMNS} FROM commitments c
            WHERE c.plan_id = $1 AND ($2::text[] IS NULL OR c.state = ANY($2))
            ORDER BY c.number""",  # noqa: S608
        plan_id,
        states,
    )
    return [dict(r) for r in rows]


async def get_milestone(conn: Any, milestone_id: UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT {MILESTONE_COLUMNS} FROM milestones m WHERE m.id = $1", milestone_id)  # noqa: S608
    return dict(r) if r else None
