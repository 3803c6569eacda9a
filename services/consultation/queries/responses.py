"""Reasoned responses and the "comments and responses" table, live or as published."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from uuid import UUID

from services.consultation.queries import Conn
from shared.db import Row
from shared.errors import NotFound

TABLE_COLUMNS = (
    "input_id",
    "kind",
    "parent_id",
    "anchor_type",
    "commitment_id",
    "alignment",
    "language",
    "author",
    "created_at",
    "text",
    "decision",
    "rationale",
    "responded_at",
)


async def responses_of_round(conn: Conn, round_id: UUID) -> list[Row]:
    if not await conn.fetchval("SELECT true FROM rounds WHERE id = $1", round_id):
        raise NotFound(f"round {round_id}")
    rows = await conn.fetch(
        """SELECT r.id, r.decision, r.rationale, r.merged_into_commitment_id, r.published_at,
                  array_agg(ri.input_id ORDER BY ri.input_id) AS input_ids
           FROM responses r JOIN response_inputs ri ON ri.response_id = r.id
           WHERE r.round_id = $1 GROUP BY r.id ORDER BY r.published_at, r.id""",
        round_id,
    )
    return [dict(r) for r in rows]


async def table_rows(conn: Conn, round_id: UUID) -> list[Row]:
    """The consolidated table: every input of the round with its answer, as the public sees it
    (hidden texts replaced by the moderator's public reason, contact details masked)."""
    if not await conn.fetchval("SELECT true FROM rounds WHERE id = $1", round_id):
        raise NotFound(f"round {round_id}")
    rows = await conn.fetch(
        """SELECT i.id AS input_id, i.kind, i.parent_id, i.anchor->>'type' AS anchor_type,
                  i.commitment_id, i.alignment, i.language,
                  CASE WHEN i.hidden OR i.display_name IS NULL THEN NULL ELSE i.display_name END AS author,
                  i.created_at,
                  CASE WHEN i.hidden THEN '[hidden by moderation: ' || i.hidden_reason || ']'
                       ELSE concat_ws(E'\n\n', i.public_title, i.public_body) END AS text,
                  r.decision, r.rationale, r.published_at AS responded_at
           FROM inputs i
           LEFT JOIN response_inputs ri ON ri.input_id = i.id
           LEFT JOIN responses r ON r.id = ri.response_id
           WHERE i.round_id = $1 ORDER BY i.seq""",
        round_id,
    )
    return [{k: _plain(r[k]) for k in TABLE_COLUMNS} for r in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def to_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # A leading = + - @ would be a formula in a spreadsheet: the text is data, never code.
        writer.writerow({k: _no_formula(v) for k, v in row.items()})
    return out.getvalue()


def _no_formula(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def published_table(conn: Conn, table_id: UUID) -> Row:
    """The table as published, except that moderation still applies: an input hidden since then
    shows its public reason instead of its text and author, as in the live table."""
    row = await conn.fetchrow(
        "SELECT id, round_id, title, inputs, answered, published_at, rows FROM response_tables WHERE id = $1",
        table_id,
    )
    if row is None:
        raise NotFound(f"response table {table_id}")
    table = dict(row)
    hidden = {
        str(r["id"]): r["hidden_reason"]
        for r in await conn.fetch(
            "SELECT id, hidden_reason FROM inputs WHERE id = ANY($1::uuid[]) AND hidden",
            [r["input_id"] for r in table["rows"]],
        )
    }
    if hidden:
        table["rows"] = [
            r | {"text": f"[hidden by moderation: {hidden[r['input_id']]}]", "author": None}
            if r["input_id"] in hidden
            else r
            for r in table["rows"]
        ]
    return table
