"""Plain-row reads for the read side, which works with rows as the database returns them. The
write side uses the typed repositories (:mod:`services.plans.store.postgres`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.plans.store.columns import COMMITMENT_COLUMNS


async def get_commitment(conn: Any, commitment_id: UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT {COMMITMENT_COLUMNS} FROM commitments c WHERE c.id = $1", commitment_id)  # noqa: S608
    return dict(r) if r else None
