"""Reasoned responses (standard 4) and the publication of the "comments and responses" table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.consultation.domain.common import Actor
from services.consultation.domain.responses import (
    Response,
    ResponseTable,
    answerable,
    check_inputs_known,
    check_not_answered,
    unknown_merge_target,
)
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases.rounds import round_for_edit
from shared.events.consultation import Decision, ResponseTablePublished


@dataclass(frozen=True, slots=True)
class Respond:
    who: Actor
    round_id: UUID
    input_ids: list[UUID]
    decision: Decision
    rationale: str
    merged_into_commitment_id: UUID | None = None


async def respond(uow: ConsultationUnitOfWork, cmd: Respond) -> Response:
    """Answer one input or a cluster. Each input is answered once: two officials answering the
    same comment at once get one answer stored and one 409 ``already_answered``."""
    ids = answerable(cmd.input_ids)
    rnd = await round_for_edit(uow, cmd.who, cmd.round_id)
    check_inputs_known(ids, await uow.inputs.of_round(ids, cmd.round_id))
    merged = cmd.merged_into_commitment_id
    if merged is not None and not await uow.commitments.belongs(merged, rnd.plan_id):
        raise unknown_merge_target()
    response, events = Response.answer(
        rnd, ids, cmd.decision, cmd.rationale, merged, now=datetime.now(UTC), by=cmd.who.subject
    )
    # Refusing rolls the whole response back: a cluster is answered whole or not at all.
    check_not_answered(await uow.responses.add(response))
    for event in events:
        uow.publish(event)
    return response


@dataclass(frozen=True, slots=True)
class PublishResponseTable:
    who: Actor
    round_id: UUID
    title: str | None
    base_url: str


async def publish_response_table(
    uow: ConsultationUnitOfWork, cmd: PublishResponseTable
) -> ResponseTablePublished:
    """Freeze the table as it is now and announce it; the plans service files it in the plan's
    repository. Later answers need a new publication (a new document)."""
    rnd = await round_for_edit(uow, cmd.who, cmd.round_id)
    rows = await uow.response_tables.live_rows(cmd.round_id)
    table, event = ResponseTable.publish(
        rnd, rows, cmd.title, cmd.base_url, now=datetime.now(UTC), by=cmd.who.subject
    )
    await uow.response_tables.add(table)
    uow.publish(event)
    return event
