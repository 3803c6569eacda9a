"""The forum's operations for callers that hold a pool rather than a request (scripts, the
integration tests): each call opens its own unit of work and runs the use case, as a route would.
The rules are in :mod:`.domain.forum`, the use cases in :mod:`.use_cases.forum`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.consultation.domain.common import Actor
from services.consultation.queries.forum import meeting_counts as meeting_counts
from services.consultation.store import transaction
from services.consultation.timers import emit_forum_overdue as emit_forum_overdue
from services.consultation.use_cases import forum
from shared.events.consultation import MeetingPhase, Sector


async def create_forum(
    pool: asyncpg.Pool,
    who: Actor,
    *,
    member_id: UUID,
    name: str,
    rules_url: str,
    rules_summary: str | None,
    established_on: date,
) -> dict[str, Any]:
    async with transaction(pool) as uow:
        made = await forum.create_forum(
            uow, forum.CreateForum(who, member_id, name, rules_url, rules_summary, established_on)
        )
    return asdict(made)


async def record_meeting(
    pool: asyncpg.Pool,
    who: Actor,
    forum_id: UUID,
    *,
    held_on: date,
    phase: MeetingPhase,
    plan_id: UUID | None,
    agenda: str,
    minutes_url: str | None,
    attendance: Mapping[Sector, int],
) -> dict[str, Any]:
    cmd = forum.RecordMeeting(who, forum_id, held_on, phase, plan_id, agenda, minutes_url, attendance)
    async with transaction(pool) as uow:
        return asdict(await forum.record_meeting(uow, cmd))


__all__ = ["create_forum", "emit_forum_overdue", "meeting_counts", "record_meeting"]
