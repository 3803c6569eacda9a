"""Reviews as the API shows them: the public sees dates and states, a draft only while it is out
for public comment or once published (and only the comments made in public); IRM and OGP staff
see everything, the researcher and every comment included."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.db import Row

_COLUMNS = (
    "r.id, r.plan_id, r.member_id, r.kind, r.state, r.opened_on, r.due_date, r.scheduled_at, "
    "r.state_changed_at, r.comments_until, r.published_on, r.report_title, r.report_url, r.withdrawn_reason"
)
#: Drafts are public in these states.
PUBLIC_DRAFT = ("public_comment", "published")


async def reviews(
    pool: asyncpg.Pool,
    plan_id: UUID | None,
    member_id: UUID | None,
    limit: int,
    state: str | None = None,
    year: int | None = None,
) -> list[Row]:
    """By plan, member, state and year opened (``opened_on``: the day the review started, as a
    finding's year is the year found), soonest due first."""
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM reviews r
            WHERE ($1::uuid IS NULL OR r.plan_id = $1) AND ($2::uuid IS NULL OR r.member_id = $2)
              AND ($3::text IS NULL OR r.state = $3)
              AND ($4::int IS NULL OR extract(year FROM r.opened_on) = $4)
            ORDER BY r.due_date, r.id LIMIT $5""",  # noqa: S608  (constant column list, values bound)
        plan_id, member_id, state, year, limit,
    )  # fmt: skip
    return [dict(r) for r in rows]


async def review(pool: asyncpg.Pool, review_id: UUID, *, staff: bool = False) -> Row | None:
    """One review; ``draft_url`` when the draft is public (or to staff); with ``staff`` the
    researcher as well."""
    row = await pool.fetchrow(
        f"""SELECT {_COLUMNS}, r.draft_url, r.researcher_id, r.assigned_at, s.name AS researcher_name
            FROM reviews r LEFT JOIN researchers s ON s.id = r.researcher_id
            WHERE r.id = $1""",  # noqa: S608  (constant column list)
        review_id,
    )
    if row is None:
        return None
    out = dict(row)
    if not staff:
        for name in ("researcher_id", "assigned_at", "researcher_name"):
            out.pop(name)
        if out["state"] not in PUBLIC_DRAFT:
            out["draft_url"] = None
    return out


async def comments(pool: asyncpg.Pool, review_id: UUID, *, staff: bool = False) -> list[Row] | None:
    """The comments on a review's draft: to staff all of them, with author and the note; to the
    public those made in public comment, once the draft is public (None: the draft is not)."""
    state = await pool.fetchval("SELECT state FROM reviews WHERE id = $1", review_id)
    if state is None or (not staff and state not in PUBLIC_DRAFT):
        return None
    rows = await pool.fetch(
        """SELECT id, phase, author, author_role, body AS text, received_at, considered_note,
                  considered_by, considered_at
           FROM review_comments
           WHERE review_id = $1 AND ($2 OR phase = 'public_comment')
           ORDER BY received_at, id""",
        review_id,
        staff,
    )
    out = [dict(r) for r in rows]
    if not staff:
        for c in out:
            c.pop("author")
            c.pop("considered_by")
    return out


async def researchers(pool: asyncpg.Pool, limit: int) -> list[Row]:
    rows = await pool.fetch(
        "SELECT id, subject, name, ties, registered_at FROM researchers ORDER BY name, id LIMIT $1", limit
    )
    return [dict(r) for r in rows]
