"""Reasoned responses (standard 4): the government answers each input, alone or in a cluster,
with a decision and a rationale; the consolidated "comments and responses" table is published
and lands in the plan's document repository through ``ResponseTablePublished``.

An input is answered once (``response_inputs`` has the input as its key), so coverage can never
count an input twice, and two officials answering the same comment at once get one 201 and one
409.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.consultation.domain import RuleViolation
from services.consultation.errors import problem_for
from services.consultation.rounds import round_for_edit
from services.consultation.schemas import ResponseIn, ResponseTableIn
from shared.auth import Principal
from shared.events.consultation import ResponsePublished, ResponseTablePublished
from shared.http import NotFound, Problem, Unprocessable
from shared.uow import unit_of_work

SERVICE = "consultation"

Row = dict[str, Any]

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


async def respond(pool: asyncpg.Pool, who: Principal, round_id: UUID, body: ResponseIn) -> Row:
    now = datetime.now(UTC)
    # The same id twice is one input; sorted, so two overlapping clusters lock their inputs in the
    # same order and one waits for the other instead of deadlocking.
    ids = sorted(set(body.input_ids))
    async with unit_of_work(pool, SERVICE) as uow:
        rnd = await round_for_edit(uow.conn, who, round_id)
        found = {
            r["id"]
            for r in await uow.conn.fetch(
                "SELECT id FROM inputs WHERE id = ANY($1::uuid[]) AND round_id = $2", ids, round_id
            )
        }
        unknown = [str(i) for i in ids if i not in found]
        if unknown:
            raise Problem(
                422,
                "Unprocessable Content",
                f"the round has no submission or comment {', '.join(unknown)}",
                errors=[{"field": "input_ids", "message": f"unknown in this round: {', '.join(unknown)}"}],
            )
        if body.merged_into_commitment_id is not None and not await uow.conn.fetchval(
            "SELECT true FROM commitment_spaces WHERE commitment_id = $1 AND plan_id = $2",
            body.merged_into_commitment_id,
            rnd["plan_id"],
        ):
            raise Unprocessable("merged_into_commitment_id", "the plan has no such commitment")
        response_id = uuid4()
        await uow.conn.execute(
            """INSERT INTO responses (id, round_id, plan_id, decision, rationale,
                                      merged_into_commitment_id, published_at, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            response_id, round_id, rnd["plan_id"], body.decision.value, body.rationale,
            body.merged_into_commitment_id, now, who.subject,
        )  # fmt: skip
        taken = await uow.conn.fetch(
            """INSERT INTO response_inputs (input_id, response_id)
               SELECT unnest($1::uuid[]), $2 ON CONFLICT (input_id) DO NOTHING RETURNING input_id""",
            ids,
            response_id,
        )
        if len(taken) != len(ids):
            answered = sorted(str(i) for i in set(ids) - {r["input_id"] for r in taken})
            # Raising rolls the whole response back: a cluster is answered whole or not at all.
            raise problem_for(RuleViolation("already_answered", f"already answered: {', '.join(answered)}"))
        uow.publish(
            ResponsePublished(
                response_id=response_id,
                round_id=round_id,
                plan_id=rnd["plan_id"],
                input_ids=ids,
                decision=body.decision,
                rationale=body.rationale,
                merged_into_commitment_id=body.merged_into_commitment_id,
                published_at=now,
            )
        )
    return {
        "id": response_id,
        "round_id": round_id,
        "input_ids": ids,
        "decision": body.decision.value,
        "rationale": body.rationale,
        "merged_into_commitment_id": body.merged_into_commitment_id,
        "published_at": now,
    }


async def list_responses(conn: Any, round_id: UUID) -> list[Row]:
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


async def table_rows(conn: Any, round_id: UUID) -> list[Row]:
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


async def publish_table(
    pool: asyncpg.Pool, who: Principal, round_id: UUID, body: ResponseTableIn, base_url: str
) -> Row:
    """Freeze the table as it is now and announce it; the plans service files it in the plan's
    repository. Later answers need a new publication (a new document)."""
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        rnd = await round_for_edit(uow.conn, who, round_id)
        rows = await table_rows(uow.conn, round_id)
        table_id = uuid4()
        answered = sum(1 for r in rows if r["decision"] is not None)
        title = body.title or f"Comments and responses: {rnd['title']}"
        await uow.conn.execute(
            """INSERT INTO response_tables
                   (id, round_id, inputs, answered, published_at, created_by, title, rows)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            table_id, round_id, len(rows), answered, now, who.subject, title, rows,
        )  # fmt: skip
        base = base_url.rstrip("/")
        event = ResponseTablePublished(
            table_id=table_id,
            round_id=round_id,
            plan_id=rnd["plan_id"],
            member_id=rnd["member_id"],
            title=title,
            csv_url=f"{base}/v1/response-tables/{table_id}.csv",
            json_url=f"{base}/v1/response-tables/{table_id}.json",
            inputs=len(rows),
            answered=answered,
            published_at=now,
        )
        uow.publish(event)
    return event.model_dump(mode="json")


async def published_table(conn: Any, table_id: UUID) -> Row:
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
