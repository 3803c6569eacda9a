"""Reasoned responses and the published table: rules and refusals, in memory."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from services.consultation.domain.inputs import Text
from services.consultation.use_cases import inputs, responses
from shared.errors import Forbidden, Invalid, NotFound, RuleViolation
from shared.events.consultation import Decision, InputKind, ResponsePublished, ResponseTablePublished
from tests.fakes.consultation import FakeConsultationUnitOfWork
from tests.unit.consultation.helpers import GOVERNMENT, OTHER_GOVERNMENT, STAFF, open_round, person, with_plan


async def round_with_inputs(n: int) -> tuple[FakeConsultationUnitOfWork, UUID, UUID, list[UUID]]:
    uow, plan_id, commitment_id = with_plan()
    rnd = await open_round(uow, plan_id, title="Draft plan")
    ids = []
    for i in range(n):
        cmd = inputs.PostInput(
            person(i), rnd.id, InputKind.SUBMISSION, Text(None, f"idea {i}"),
            inputs.RateLimit(10, timedelta(minutes=1)), 1000,
        )  # fmt: skip
        ids.append((await inputs.post_input(uow, cmd)).id)
    uow.events.clear()
    return uow, rnd.id, commitment_id, ids


def answer(round_id: UUID, ids: list[UUID], **over: object) -> responses.Respond:
    values: dict[str, object] = {
        "who": GOVERNMENT, "round_id": round_id, "input_ids": ids, "decision": Decision.ACCEPTED,
        "rationale": "Added as commitment 3",
    }  # fmt: skip
    return responses.Respond(**(values | over))  # type: ignore[arg-type]


async def test_a_cluster_is_answered_once_its_ids_sorted_and_deduplicated() -> None:
    uow, round_id, commitment_id, ids = await round_with_inputs(3)
    response = await responses.respond(
        uow, answer(round_id, [ids[2], ids[0], ids[2]], merged_into_commitment_id=commitment_id)
    )
    assert response.input_ids == sorted([ids[0], ids[2]])
    [event] = uow.events
    assert isinstance(event, ResponsePublished)
    assert (event.response_id, event.input_ids, event.merged_into_commitment_id) == (
        response.id, response.input_ids, commitment_id,
    )  # fmt: skip


async def test_an_answered_input_refuses_the_whole_cluster() -> None:
    uow, round_id, _, ids = await round_with_inputs(3)
    await responses.respond(uow, answer(round_id, [ids[0]]))
    uow.events.clear()
    with pytest.raises(RuleViolation) as err:
        await responses.respond(uow, answer(round_id, [ids[0], ids[1]], who=STAFF))
    assert (err.value.rule, err.value.message) == ("already_answered", f"already answered: {ids[0]}")
    assert uow.events == []


async def test_unknown_inputs_or_commitment_another_member_or_round_are_refused() -> None:
    uow, round_id, _, ids = await round_with_inputs(1)
    stranger = uuid4()
    with pytest.raises(Invalid) as unknown:
        await responses.respond(uow, answer(round_id, [ids[0], stranger]))
    assert unknown.value.message == f"the round has no submission or comment {stranger}"
    assert unknown.value.errors == [("input_ids", f"unknown in this round: {stranger}")]
    with pytest.raises(Invalid) as merged:
        await responses.respond(uow, answer(round_id, ids, merged_into_commitment_id=uuid4()))
    assert merged.value.errors == [("merged_into_commitment_id", "the plan has no such commitment")]
    with pytest.raises(Forbidden):
        await responses.respond(uow, answer(round_id, ids, who=OTHER_GOVERNMENT))
    with pytest.raises(NotFound):
        await responses.respond(uow, answer(uuid4(), ids))
    assert uow.events == [] and uow.tables.responses == {}


async def test_the_table_is_frozen_with_its_counts_and_links() -> None:
    uow, round_id, _, ids = await round_with_inputs(3)
    await responses.respond(uow, answer(round_id, [ids[1]]))
    uow.events.clear()
    cmd = responses.PublishResponseTable(GOVERNMENT, round_id, None, "https://consult.example/")
    event = await responses.publish_response_table(uow, cmd)
    assert uow.events == [event] and isinstance(event, ResponseTablePublished)
    assert (event.title, event.inputs, event.answered) == ("Comments and responses: Draft plan", 3, 1)
    assert event.csv_url == f"https://consult.example/v1/response-tables/{event.table_id}.csv"
    assert event.json_url == f"https://consult.example/v1/response-tables/{event.table_id}.json"
    assert uow.tables.response_tables[event.table_id].rows[1]["decision"] == "accepted"
    with pytest.raises(Forbidden):
        await responses.publish_response_table(
            uow, responses.PublishResponseTable(OTHER_GOVERNMENT, round_id, "T", "https://x")
        )
    assert len(uow.events) == 1
