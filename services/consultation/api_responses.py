"""HTTP API of reasoned responses (standard 4) and the "comments and responses" table."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from services.consultation.api import settings_of
from services.consultation.queries import reports as report_queries
from services.consultation.queries import responses as response_queries
from services.consultation.schemas import ResponseIn, ResponseTableIn
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases import responses
from shared.auth import Principal, Role, require
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["responses"])
#: The CSV answers are documented as CSV (not as the JSON of a default FastAPI route).
_CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}
}
RT = Annotated[Runtime, Depends(runtime_of)]
Organiser = Annotated[Principal, Depends(require(Role.STAFF, Role.GOVERNMENT))]


@router.post("/rounds/{round_id}/responses", status_code=201)
async def respond(round_id: UUID, body: ResponseIn, rt: RT, who: Organiser) -> dict[str, Any]:
    """Answer one input or a cluster with a decision and a rationale. Each input is answered
    once (409 naming those already answered; the cluster is then refused whole)."""
    cmd = responses.Respond(
        who, round_id, body.input_ids, body.decision, body.rationale, body.merged_into_commitment_id
    )
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        answer = await responses.respond(uow, cmd)
    return {
        "id": answer.id,
        "round_id": round_id,
        "input_ids": answer.input_ids,
        "decision": answer.decision.value,
        "rationale": answer.rationale,
        "merged_into_commitment_id": answer.merged_into_commitment_id,
        "published_at": answer.published_at,
    }


@router.get("/rounds/{round_id}/responses")
async def list_responses(round_id: UUID, rt: RT) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return await response_queries.responses_of_round(conn, round_id)


@router.get("/rounds/{round_id}/coverage")
async def coverage(round_id: UUID, rt: RT) -> dict[str, Any]:
    """How many inputs needing an answer got one, and the median time it took (hours)."""
    async with rt.pool.acquire() as conn:
        c = await report_queries.round_coverage(conn, round_id)
    return {
        "round_id": round_id,
        "inputs_needing_response": c.needing,
        "answered": c.answered,
        "response_coverage": c.ratio,
        "median_response_hours": c.median_hours,
    }


@router.get("/rounds/{round_id}/response-table.json")
async def live_table_json(round_id: UUID, rt: RT) -> list[dict[str, Any]]:
    async with rt.pool.acquire() as conn:
        return await response_queries.table_rows(conn, round_id)


@router.get("/rounds/{round_id}/response-table.csv", response_class=Response, responses=_CSV_ANSWER)
async def live_table_csv(round_id: UUID, rt: RT) -> Response:
    async with rt.pool.acquire() as conn:
        rows = await response_queries.table_rows(conn, round_id)
    return _csv(response_queries.to_csv(rows), f"round-{round_id}-responses.csv")


@router.post("/rounds/{round_id}/response-tables", status_code=201)
async def publish_table(round_id: UUID, body: ResponseTableIn, rt: RT, who: Organiser) -> dict[str, Any]:
    """Freeze the table and announce it; it becomes a document of the plan's repository."""
    cmd = responses.PublishResponseTable(who, round_id, body.title, settings_of(rt).public_base_url)
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        event = await responses.publish_response_table(uow, cmd)
    return event.model_dump(mode="json")


@router.get("/response-tables/{table_id}.json")
async def published_table_json(table_id: UUID, rt: RT) -> Response:
    async with rt.pool.acquire() as conn:
        table = await response_queries.published_table(conn, table_id)
    return Response(json.dumps(table["rows"]), media_type="application/json")


@router.get("/response-tables/{table_id}.csv", response_class=Response, responses=_CSV_ANSWER)
async def published_table_csv(table_id: UUID, rt: RT) -> Response:
    async with rt.pool.acquire() as conn:
        table = await response_queries.published_table(conn, table_id)
    return _csv(response_queries.to_csv(table["rows"]), f"responses-{table_id}.csv")


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
