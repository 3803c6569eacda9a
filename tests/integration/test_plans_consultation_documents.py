"""Consultation's documents land in the plan's public repository (OGP co-creation standard 2), on
the real database and broker: the comments-and-responses table of a round (standard 4) and the
minutes of a forum meeting about the plan.

What matters beyond the happy path, and why it is tested here rather than in unit tests: the
consumer's inbox recognises a repeated *event id* only, so the guard against a second document
for a replay under a *new* event id (dead-letter replay, re-publication) is the deterministic
document id and ``ON CONFLICT``; and an event about a plan this service does not know must be
consumed, not dead-lettered, or one foreign plan would park a partition's worth of retries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import ConsumerRecord

from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.events import topics
from shared.events.consultation import ForumMeetingHeld, MeetingPhase, ResponseTablePublished, Sector
from shared.events.plans import DocumentPublished
from shared.runtime import Runtime
from tests.conftest import Env, running, token
from tests.helpers import as_record, eventually, header, produce, read_topic

STAFF = token("staff")
DOCUMENT_PUBLISHED = DocumentPublished.event_type


@pytest.fixture
async def rt(env: Env) -> AsyncIterator[Runtime]:
    async with running(PLANS, env.settings(PlansSettings, "plans")) as runtime:
        yield runtime


async def new_plan(api: httpx.AsyncClient) -> tuple[UUID, UUID]:
    m = await api.post(
        "/v1/members",
        json={"name": "Kenya", "kind": "national", "country_code": "KE", "region": "Africa"},
        headers=STAFF,
    )
    assert m.status_code == 201, m.text
    r = await api.post(
        "/v1/plans",
        headers=STAFF,
        json={
            "member_id": m.json()["id"],
            "title": "Fifth national action plan",
            "start_date": "2025-01-01",
            "end_date": "2027-01-01",
            "point_of_contact": {"name": "A. Otieno", "email": "a@example.org"},
        },
    )
    assert r.status_code == 201, r.text
    return UUID(m.json()["id"]), UUID(r.json()["id"])


def table(plan_id: UUID, member_id: UUID, **overrides: Any) -> ResponseTablePublished:
    fields: dict[str, Any] = {
        "table_id": uuid4(),
        "round_id": uuid4(),
        "plan_id": plan_id,
        "member_id": member_id,
        "title": "Comments and responses: draft action plan",
        "csv_url": "https://consult.example.org/rounds/1/responses.csv",
        "json_url": "https://consult.example.org/rounds/1/responses.json",
        "inputs": 12,
        "answered": 12,
        # 01:30 in Nairobi is still the previous day in UTC: the document is dated 2025-06-01.
        "published_at": datetime(2025, 6, 2, 1, 30, tzinfo=timezone(timedelta(hours=3))),
    }
    return ResponseTablePublished(**{**fields, **overrides})


def meeting(member_id: UUID, plan_id: UUID | None, minutes_url: str | None) -> ForumMeetingHeld:
    return ForumMeetingHeld(
        meeting_id=uuid4(),
        forum_id=uuid4(),
        member_id=member_id,
        held_on=date(2025, 5, 20),
        phase=MeetingPhase.CO_CREATION,
        plan_id=plan_id,
        agenda="Draft commitments",
        minutes_url=minutes_url,
        attendance={Sector.GOVERNMENT: 4, Sector.CIVIL_SOCIETY: 6},
    )


async def documents(rt: Runtime) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch(
        "SELECT id, plan_id, member_id, type, title, url, language, published_on, created_by "
        "FROM documents ORDER BY type"
    )
    return [dict(r) for r in rows]


async def consumed(rt: Runtime, topic: str) -> int:
    """Distinct consultation events the plans consumer has applied (the inbox is its record)."""
    return int(await rt.pool.fetchval("SELECT count(*) FROM inbox WHERE topic = $1", topic))


async def relayed(rt: Runtime) -> bool:
    """Every outbox row is on Kafka, so counting records on the topic is final."""
    return bool(await rt.pool.fetchval("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))


def published_documents(records: list[ConsumerRecord[bytes, bytes]]) -> list[dict[str, Any]]:
    return [json.loads(r.value or b"{}") for r in records if header(r, "ce_type") == DOCUMENT_PUBLISHED]


async def test_consultation_documents_join_the_repository_once(
    env: Env, api: httpx.AsyncClient, rt: Runtime
) -> None:
    mid, pid = await new_plan(api)
    stranger = uuid4()  # a plan this deployment never heard of
    consultation = env.topic(topics.CONSULTATION)

    responses = table(pid, mid)
    minutes = meeting(mid, pid, "https://consult.example.org/forum/minutes-2025-05-20.pdf")
    responses_record = as_record(responses, service="consultation")
    first: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = [
        # Unknown plans first; the meeting shares its member key, hence its partition, with the
        # meetings that follow: the consumer must carry on past it.
        as_record(table(stranger, mid), service="consultation"),
        as_record(meeting(mid, stranger, "https://consult.example.org/m.pdf"), service="consultation"),
        responses_record,
        responses_record,  # the same event twice: the inbox's job
        as_record(minutes, service="consultation"),
        # Nothing to file: no minutes yet, or a meeting about no particular plan.
        as_record(meeting(mid, pid, None), service="consultation"),
        as_record(meeting(mid, None, "https://consult.example.org/general.pdf"), service="consultation"),
        # A table naming another member than the plan's belongs in no repository here.
        as_record(table(pid, uuid4()), service="consultation"),
    ]
    await produce(env.kafka.bootstrap, consultation, first)
    await eventually(lambda: _equals(lambda: consumed(rt, consultation), 7))

    docs = await documents(rt)
    assert docs == [
        {
            "id": minutes.meeting_id,
            "plan_id": pid,
            "member_id": mid,
            "type": "minutes",
            "title": "Forum meeting minutes, 2025-05-20",
            "url": "https://consult.example.org/forum/minutes-2025-05-20.pdf",
            "language": "en",
            "published_on": date(2025, 5, 20),
            "created_by": "consultation",
        },
        {
            "id": responses.table_id,
            "plan_id": pid,
            "member_id": mid,
            "type": "reasoned_response",
            "title": "Comments and responses: draft action plan",
            "url": "https://consult.example.org/rounds/1/responses.csv",
            "language": "en",
            "published_on": date(2025, 6, 1),
            "created_by": "consultation",
        },
    ]
    public = (await api.get(f"/v1/plans/{pid}/documents")).json()
    assert [(d["type"], d["id"]) for d in public] == [
        ("reasoned_response", str(responses.table_id)),
        ("minutes", str(minutes.meeting_id)),
    ]
    assert (await api.get(f"/v1/plans/{stranger}/documents")).json() == []

    # Replays under new event ids, e.g. from the dead-letter topic, after the documents exist;
    # a changed title must not overwrite what the repository already shows.
    await produce(
        env.kafka.bootstrap,
        consultation,
        [
            as_record(responses.model_copy(update={"title": "Renamed"}), service="consultation"),
            as_record(minutes, service="consultation"),
        ],
    )
    await eventually(lambda: _equals(lambda: consumed(rt, consultation), 9))
    assert await documents(rt) == docs

    await eventually(lambda: relayed(rt))
    on_plans = published_documents(
        await read_topic(env.kafka.bootstrap, env.topic(topics.PLANS), timeout=3.0)
    )
    assert sorted((d["type"], d["document_id"]) for d in on_plans) == sorted(
        [("reasoned_response", str(responses.table_id)), ("minutes", str(minutes.meeting_id))]
    )
    by_type = {d["type"]: d for d in on_plans}
    assert by_type["reasoned_response"]["url"] == responses.csv_url
    assert by_type["reasoned_response"]["published_on"] == "2025-06-01"
    assert by_type["reasoned_response"]["plan_id"] == str(pid)
    assert by_type["minutes"]["member_id"] == str(mid)
    assert datetime.fromisoformat(by_type["reasoned_response"]["published_at"]) == responses.published_at
    assert datetime.fromisoformat(by_type["reasoned_response"]["published_at"]).tzinfo is not None

    dead = await read_topic(env.kafka.bootstrap, env.topic(topics.dead_letter_topic("plans")), timeout=2.0)
    assert dead == []


async def test_the_consumer_goes_on_after_an_unknown_plan(
    env: Env, api: httpx.AsyncClient, rt: Runtime
) -> None:
    """Forum events are keyed by the member: a meeting about an unknown plan and then one about
    a known plan share a partition, so the second being filed shows the first neither failed
    nor blocked it."""
    mid, pid = await new_plan(api)
    consultation = env.topic(topics.CONSULTATION)
    unknown = meeting(mid, uuid4(), "https://consult.example.org/forum/elsewhere.pdf")
    await produce(env.kafka.bootstrap, consultation, [as_record(unknown, service="consultation")])
    await eventually(lambda: _equals(lambda: consumed(rt, consultation), 1))
    assert await documents(rt) == []

    good = meeting(mid, pid, "https://consult.example.org/forum/minutes.pdf")
    await produce(env.kafka.bootstrap, consultation, [as_record(good, service="consultation")])
    docs = await eventually(lambda: documents(rt), until=lambda ds: len(ds) >= 1)
    assert [(d["id"], d["type"]) for d in docs] == [(good.meeting_id, "minutes")]
    dead = await read_topic(env.kafka.bootstrap, env.topic(topics.dead_letter_topic("plans")), timeout=2.0)
    assert dead == []


async def _equals(get: Any, expected: int) -> bool:
    return bool(await get() == expected)
