"""Participation figures: who took part, how, and whether they were answered.

A report covers one round, or a plan's whole co-creation cycle (every round of the plan, plus the
forum meetings linked to it). The counting rules are in :mod:`..domain.reports`; this module only
gathers the facts. Unique participants are people (token subjects), not officials: a government
reply in a thread is not participation.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.consultation.domain.reports import Coverage, InputFacts, Profile, breakdown, coverage
from services.consultation.queries import Conn
from services.consultation.queries.forum import meeting_counts
from shared.errors import NotFound


async def participation(
    conn: Conn, *, min_cell: int, plan_id: UUID | None = None, round_id: UUID | None = None
) -> dict[str, Any]:
    """The report's figures for a round (``round_id``) or a plan's cycle (``plan_id``); the
    breakdowns fold categories under ``min_cell`` people (see :func:`domain.reports.breakdown`)."""
    if round_id is not None:
        scope, where, key = "round", "round_id = $1", round_id
        plan = await conn.fetchrow("SELECT plan_id, member_id FROM rounds WHERE id = $1", round_id)
        if plan is None:
            raise NotFound(f"round {round_id}")
    else:
        assert plan_id is not None
        scope, where, key = "cycle", "plan_id = $1", plan_id
        plan = await conn.fetchrow(
            "SELECT plan_id, member_id FROM co_creation_spaces WHERE plan_id = $1", plan_id
        )
        if plan is None:
            raise NotFound(f"plan {plan_id}")
    rounds = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE state <> 'cancelled') AS rounds,
                   count(*) FILTER (WHERE state <> 'cancelled' AND short_notice) AS short_notice
            FROM rounds WHERE {"id" if scope == "round" else "plan_id"} = $1""",  # noqa: S608 (constant SQL fragments; values are parameters)
        key,
    )
    counts = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE kind = 'submission') AS submissions,
                   count(*) FILTER (WHERE kind = 'comment') AS comments,
                   count(*) FILTER (WHERE hidden) AS hidden
            FROM inputs WHERE {where}""",  # noqa: S608 (constant SQL fragments; values are parameters)
        key,
    )
    profiles = await conn.fetch(
        f"""SELECT DISTINCT ON (author_id) stakeholder_type, region, gender
            FROM inputs WHERE {where} AND NOT official ORDER BY author_id, seq DESC""",  # noqa: S608 (constant SQL fragments; values are parameters)
        key,
    )
    offline = await conn.fetchrow(
        f"""SELECT count(*) AS events, coalesce(sum(participants), 0) AS participants
            FROM offline_events WHERE {where}""",  # noqa: S608 (constant SQL fragments; values are parameters)
        key,
    )
    assert rounds is not None  # aggregates: always one row
    assert counts is not None
    assert offline is not None
    cov = await _coverage(conn, where, key)
    meetings, implementation = await meeting_counts(conn, plan["plan_id"])
    return {
        "scope": scope,
        "plan_id": plan["plan_id"],
        "member_id": plan["member_id"],
        "round_id": round_id,
        "rounds": rounds["rounds"],
        "short_notice_rounds": rounds["short_notice"],
        "submissions": counts["submissions"],
        "comments": counts["comments"],
        "hidden": counts["hidden"],
        "unique_participants": len(profiles),
        "by": breakdown(
            [Profile(p["stakeholder_type"], p["region"], p["gender"]) for p in profiles], min_cell
        ),
        "offline_events": offline["events"],
        "offline_participants": int(offline["participants"]),
        "inputs_needing_response": cov.needing,
        "answered": cov.answered,
        "response_coverage": cov.ratio,
        "median_response_hours": cov.median_hours,
        "forum_meetings": meetings,
        "implementation_meetings": implementation,
    }


async def _coverage(conn: Conn, where: str, key: UUID) -> Coverage:
    facts = await conn.fetch(
        f"""SELECT i.created_at, i.hidden, i.official, r.published_at AS answered_at
            FROM inputs i
            LEFT JOIN response_inputs ri ON ri.input_id = i.id
            LEFT JOIN responses r ON r.id = ri.response_id
            WHERE i.{where}""",  # noqa: S608 (constant SQL fragments; values are parameters)
        key,
    )
    return coverage(InputFacts(f["created_at"], f["hidden"], f["official"], f["answered_at"]) for f in facts)


async def round_coverage(conn: Conn, round_id: UUID) -> Coverage:
    """Only the response figures of a round (one query, not the whole report)."""
    if not await conn.fetchval("SELECT true FROM rounds WHERE id = $1", round_id):
        raise NotFound(f"round {round_id}")
    return await _coverage(conn, "round_id = $1", round_id)


async def published_reports(conn: Conn, plan_id: UUID) -> list[Any]:
    rows = await conn.fetch(
        "SELECT report FROM participation_reports WHERE plan_id = $1 ORDER BY reported_at, id", plan_id
    )
    return [r["report"] for r in rows]
