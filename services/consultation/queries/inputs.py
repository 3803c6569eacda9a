"""Submissions and comments as the public and the moderators read them.

The public never sees who wrote an input beyond the display name its author chose, nor a hidden
input's text; moderators (and staff) see everything, with the audit log."""

from __future__ import annotations

from uuid import UUID

from services.consultation.queries import Conn
from shared.db import Row
from shared.errors import NotFound
from shared.events.consultation import InputKind

#: Columns the public may see. The author's subject, profile and the raw text are not among them.
PUBLIC_COLUMNS = """i.id, i.seq, i.kind, i.round_id, i.plan_id, i.parent_id,
    CASE WHEN i.hidden THEN i.anchor - 'section' - 'quote' ELSE i.anchor END AS anchor, i.alignment,
    i.language, i.created_at, i.official, i.hidden, i.hidden_reason,
    CASE WHEN i.hidden THEN NULL ELSE i.public_title END AS title,
    CASE WHEN i.hidden THEN NULL ELSE i.public_body END AS body,
    CASE WHEN i.hidden THEN NULL ELSE i.links END AS links,
    CASE WHEN i.hidden THEN NULL ELSE i.display_name END AS author,
    (i.display_name IS NULL) AS anonymous"""

# One statement builds the page's JSON: keyset on the round's sequence, limit + 1 rows to know
# whether another page follows. The rows become JSON as ``json`` (text), not ``jsonb``: building
# jsonb and printing it again cost Postgres twice as much per page. The page comes back as UTF-8
# bytes (``bytea``), sent as they are: no decoding into a str and encoding back per request.
_PAGE_SQL = f"""
WITH page AS (
    SELECT {PUBLIC_COLUMNS},
           r.id AS response_id, r.decision, r.rationale, r.published_at AS responded_at
    FROM inputs i
    LEFT JOIN response_inputs ri ON ri.input_id = i.id
    LEFT JOIN responses r ON r.id = ri.response_id
    WHERE i.round_id = $1 AND i.seq > $2 AND ($4::text IS NULL OR i.kind = $4)
    ORDER BY i.round_id, i.seq  -- the order of the (round_id, seq) index, so the planner uses it
    LIMIT $3 + 1
), shown AS (
    SELECT * FROM page ORDER BY seq LIMIT $3
)
SELECT convert_to(json_build_object(
    'items', coalesce((SELECT json_agg(shown ORDER BY shown.seq) FROM shown), '[]'),
    'next_after', CASE WHEN (SELECT count(*) FROM page) > $3 THEN (SELECT max(seq) FROM shown) END
)::text, 'UTF8'), EXISTS (SELECT 1 FROM page)
"""  # noqa: S608 (constant SQL fragments; values are parameters)


async def page_of_round(conn: Conn, round_id: UUID, after: int, limit: int, kind: InputKind | None) -> bytes:
    """The round's inputs after ``after``, as the page's JSON (UTF-8 bytes)."""
    row = await conn.fetchrow(_PAGE_SQL, round_id, after, limit, kind.value if kind else None)
    assert row is not None  # an aggregate: always one row
    body, any_row = row
    if not any_row and not await conn.fetchval("SELECT true FROM rounds WHERE id = $1", round_id):
        raise NotFound(f"round {round_id}")
    page: bytes = body
    return page


async def public_input(conn: Conn, input_id: UUID) -> Row:
    row = await conn.fetchrow(
        f"""SELECT {PUBLIC_COLUMNS},
                   r.id AS response_id, r.decision, r.rationale, r.published_at AS responded_at
            FROM inputs i
            LEFT JOIN response_inputs ri ON ri.input_id = i.id
            LEFT JOIN responses r ON r.id = ri.response_id
            WHERE i.id = $1""",  # noqa: S608 (constant SQL fragments; values are parameters)
        input_id,
    )
    if row is None:
        raise NotFound(f"submission or comment {input_id}")
    return dict(row)


async def replies(conn: Conn, input_id: UUID, after: int, limit: int) -> Row:
    """The direct replies to an input, page by page in the order they came."""
    rows = await conn.fetch(
        f"""SELECT {PUBLIC_COLUMNS} FROM inputs i WHERE i.parent_id = $1 AND i.seq > $2
            ORDER BY i.seq LIMIT $3 + 1""",  # noqa: S608 (constant SQL fragments; values are parameters)
        input_id,
        after,
        limit,
    )
    items = [dict(r) for r in rows[:limit]]
    if not items and not await conn.fetchval("SELECT true FROM inputs WHERE id = $1", input_id):
        raise NotFound(f"submission or comment {input_id}")
    return {"items": items, "next_after": items[-1]["seq"] if len(rows) > limit else None}


async def public_moderation_log(conn: Conn, input_id: UUID) -> list[Row]:
    """What was done to an input and the public reason; who did it is for moderators only."""
    rows = await conn.fetch(
        """SELECT action, public_reason, at FROM moderation_log
           WHERE input_id = $1 AND action <> 'flagged' ORDER BY id""",
        input_id,
    )
    return [dict(r) for r in rows]


async def moderator_view(conn: Conn, input_id: UUID) -> Row:
    """Everything about an input, for moderators: the raw text, who wrote it, the flags, the log."""
    row = await conn.fetchrow(
        """SELECT i.id, i.kind, i.round_id, i.plan_id, i.parent_id, i.title, i.body, i.links,
                  i.display_name, i.official, i.stakeholder_type, i.region, i.gender, i.created_at,
                  i.flags, i.hidden, i.hidden_reason, p.id AS author_id, p.subject AS author_subject
           FROM inputs i JOIN participants p ON p.id = i.author_id WHERE i.id = $1""",
        input_id,
    )
    if row is None:
        raise NotFound(f"submission or comment {input_id}")
    log = await conn.fetch(
        """SELECT action, actor, public_reason, note, at FROM moderation_log
           WHERE input_id = $1 ORDER BY id""",
        input_id,
    )
    return dict(row) | {"log": [dict(r) for r in log]}


async def moderation_queue(conn: Conn, limit: int) -> list[Row]:
    """Flagged inputs not hidden yet, most flagged first."""
    rows = await conn.fetch(
        """SELECT id, kind, round_id, plan_id, title, body, flags, created_at FROM inputs
           WHERE flags > 0 AND NOT hidden ORDER BY flags DESC, seq LIMIT $1""",
        limit,
    )
    return [dict(r) for r in rows]
