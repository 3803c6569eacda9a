"""The public lists: members, plans and commitments, filtered, in keyset pages; and the
full-text search of commitments.

Each list chooses the page's rows on ids and sort keys first; the JSON is built for those rows
only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from services.plans.queries.json_sql import MEMBER, PLAN_COUNT, PLAN_PROGRESS, commitment, plan
from services.plans.queries.pagination import (
    DEFAULT_LIMIT,
    InvalidCursor,
    Page,
    Where,
    cursor_timestamp,
    cursor_uuid,
    decode_cursor,
    page_of,
)
from shared.events.plans import CommitmentState, MemberKind, MemberStatus, PlanState, Strand


class OgpValue(StrEnum):
    """The OGP values a commitment may be relevant to (each a boolean column)."""

    ACCESS_TO_INFORMATION = "access_to_information"
    CIVIC_PARTICIPATION = "civic_participation"
    PUBLIC_ACCOUNTABILITY = "public_accountability"
    TECHNOLOGY_INNOVATION = "technology_innovation"


#: Column of each value: chosen from this fixed map, never from the client's text.
_VALUE_COLUMN = {v: f"c.value_{v.value}" for v in OgpValue}

#: The JSON of a listed plan (with its summary) and of a listed commitment (no milestones).
_PLAN = plan(PLAN_COUNT, PLAN_PROGRESS)
_COMMITMENT = commitment()

#: Plans running at some time of the year ``{}`` (given twice).
_IN_YEAR = "p.start_date < make_date({} + 1, 1, 1) AND p.end_date >= make_date({}, 1, 1)"


async def list_members(
    conn: Any,
    *,
    kind: MemberKind | None = None,
    region: str | None = None,
    status: MemberStatus | None = None,
    name_prefix: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Members in name order (then id, for a total order)."""
    w = Where()
    if kind is not None:
        w.add("m.kind = {}", kind.value)
    if region is not None:
        w.add("m.region = {}", region)
    if status is not None:
        w.add("m.status = {}", status.value)
    if name_prefix:
        w.add("starts_with(lower(m.name), lower({}))", name_prefix)
    if cursor is not None:
        name, member_id = decode_cursor(cursor, "members")
        if not isinstance(name, str) or "\x00" in name:
            raise InvalidCursor
        w.add("(m.name, m.id) > ({}, {})", name, cursor_uuid(member_id))
    rows = await conn.fetch(
        f"""SELECT m.name, m.id, row_to_json(j)::text AS item
            FROM members m CROSS JOIN LATERAL ({MEMBER}) j
            WHERE {w.sql} ORDER BY m.name, m.id LIMIT {w.param(limit + 1)}""",  # noqa: S608
        *w.args,
    )
    return page_of(rows, limit, "members", ("name", "id"))


async def list_plans(
    conn: Any,
    *,
    member_id: UUID | None = None,
    kind: MemberKind | None = None,
    region: str | None = None,
    strand: Strand | None = None,
    state: PlanState | None = None,
    year: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Plans in creation order. ``year``: plans running at some time of that year."""
    w = Where()
    if member_id is not None:
        w.add("p.member_id = {}", member_id)
    if kind is not None:
        w.add("m.kind = {}", kind.value)
    if region is not None:
        w.add("m.region = {}", region)
    if strand is not None:
        w.add("{} = ANY(p.strands)", strand.value)
    if state is not None:
        w.add("p.state = {}", state.value)
    if year is not None:
        w.add(_IN_YEAR, year, year)
    if cursor is not None:
        created_at, plan_id = decode_cursor(cursor, "plans")
        w.add("(p.created_at, p.id) > ({}, {})", cursor_timestamp(created_at), cursor_uuid(plan_id))
    rows = await conn.fetch(
        f"""SELECT page.created_at, page.id, row_to_json(j)::text AS item
            FROM (SELECT p.id, p.created_at FROM plans p JOIN members m ON m.id = p.member_id
                  WHERE {w.sql} ORDER BY p.created_at, p.id LIMIT {w.param(limit + 1)}) page
            JOIN plans p ON p.id = page.id CROSS JOIN LATERAL ({_PLAN}) j
            ORDER BY page.created_at, page.id""",  # noqa: S608
        *w.args,
    )
    return page_of(rows, limit, "plans", ("created_at", "id"))


#: What a commitment's filters may refer to: its plan ``p`` and its member ``m``.
_COMMITMENT_JOINS = "JOIN plans p ON p.id = c.plan_id JOIN members m ON m.id = c.member_id"


async def list_commitments(
    conn: Any,
    *,
    member_id: UUID | None = None,
    plan_id: UUID | None = None,
    kind: MemberKind | None = None,
    region: str | None = None,
    strand: Strand | None = None,
    state: CommitmentState | None = None,
    value: OgpValue | None = None,
    policy_area: str | None = None,
    year: int | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Commitments (without milestones) in creation order, or by relevance when ``q`` is given.

    ``year`` selects the commitments of plans running at some time of that year.
    """
    w = Where()
    if member_id is not None:
        w.add("c.member_id = {}", member_id)
    if plan_id is not None:
        w.add("c.plan_id = {}", plan_id)
    if kind is not None:
        w.add("m.kind = {}", kind.value)
    if region is not None:
        w.add("m.region = {}", region)
    if strand is not None:
        w.add("{} = ANY(p.strands)", strand.value)
    if state is not None:
        w.add("c.state = {}", state.value)
    if value is not None:
        w.conditions.append(_VALUE_COLUMN[value])
    if policy_area is not None:
        w.add("c.policy_areas @> ARRAY[{}]::text[]", policy_area.lower())
    if year is not None:
        w.add(_IN_YEAR, year, year)
    if q:
        return await _search_commitments(conn, w, q, cursor, limit)
    if cursor is not None:
        created_at, commitment_id = decode_cursor(cursor, "commitments")
        w.add("(c.created_at, c.id) > ({}, {})", cursor_timestamp(created_at), cursor_uuid(commitment_id))
    sql = f"""
        SELECT page.created_at, page.id, row_to_json(j)::text AS item
        FROM (SELECT c.id, c.created_at FROM commitments c {_COMMITMENT_JOINS}
              WHERE {w.sql} ORDER BY c.created_at, c.id LIMIT {w.param(limit + 1)}) page
        JOIN commitments c ON c.id = page.id CROSS JOIN LATERAL ({_COMMITMENT}) j
        ORDER BY page.created_at, page.id"""  # noqa: S608
    rows = await conn.fetch(sql, *w.args)
    return page_of(rows, limit, "commitments", ("created_at", "id"))


# --- search ------------------------------------------------------------------------------------

#: Ranks are ``real`` (float4): a larger number cannot even be sent as a parameter.
_MAX_REAL = 3.4e38

#: The query text in all four languages of the search column, each with its own stemmer, so
#: "budgets" finds "budget", "transparence" finds "transparence budgétaire", and so on.
_TSQUERY = """(websearch_to_tsquery('english', {q}) || websearch_to_tsquery('french', {q})
    || websearch_to_tsquery('spanish', {q}) || websearch_to_tsquery('arabic', {q}))"""


async def _search_commitments(conn: Any, w: Where, q: str, cursor: str | None, limit: int) -> Page:
    """The commitments matching ``q`` (and the filters already in ``w``) by relevance, then id."""
    tsquery = _TSQUERY.format(q=w.param(q))
    w.conditions.append(f"c.search @@ {tsquery}")
    page_filter = "TRUE"
    if cursor is not None:
        rank, commitment_id = decode_cursor(cursor, "search")
        if not isinstance(rank, int | float) or isinstance(rank, bool) or not 0 <= rank <= _MAX_REAL:
            raise InvalidCursor
        r, i = w.param(float(rank)), w.param(cursor_uuid(commitment_id))
        page_filter = f"(hit.rank < {r}::real OR (hit.rank = {r}::real AND hit.id > {i}))"
    sql = f"""
        SELECT page.rank, page.id, row_to_json(j)::text AS item
        FROM (SELECT hit.id, hit.rank
              FROM (SELECT c.id, ts_rank(c.search, {tsquery}) AS rank FROM commitments c {_COMMITMENT_JOINS}
                    WHERE {w.sql}) hit
              WHERE {page_filter}
              ORDER BY hit.rank DESC, hit.id LIMIT {w.param(limit + 1)}) page
        JOIN commitments c ON c.id = page.id CROSS JOIN LATERAL ({_COMMITMENT}) j
        ORDER BY page.rank DESC, page.id"""  # noqa: S608
    rows = await conn.fetch(sql, *w.args)
    return page_of(rows, limit, "search", ("rank", "id"))
