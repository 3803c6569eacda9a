"""SIGKILL the consultation service while people are commenting and while a round is due to
close: every accepted comment is published exactly once, and the round closes exactly once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx

from devstack.services import ServiceProcess
from shared.events import topics
from shared.events.plans import PlanCreated
from tests.conftest import Env, token
from tests.helpers import as_record, eventually, fetchval, header, produce, read_topic

MEMBER = uuid4()
GOV = token("government", sub="gov", member_ids=[str(MEMBER)])


async def test_sigkill_while_commenting_and_before_a_round_closes(env: Env, tmp_path: Path) -> None:
    svc = ServiceProcess(
        "consultation",
        env.env_vars("CONSULTATION_", "consultation", timers_interval_s=0.3, rate_limit_inputs=1000),
        tmp_path,
    )
    dsn = svc.env["CONSULTATION_DATABASE_URL"]
    plan_id = uuid4()
    now = datetime.now(UTC)
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(PlanCreated(
        plan_id=plan_id, member_id=MEMBER, title="Plan", start_date=now.date(), end_date=now.date(),
        point_of_contact_id=uuid4(), created_at=now))])  # fmt: skip
    accepted: list[str] = []
    # The kill is forced at the relay's awkward moment, while the writers write: its 30th batch
    # (a few go by during the set-up) is acknowledged by Kafka and not yet marked published.
    svc.env["SHARAKA_FAULTS"] = "relay.after_send:30"
    try:
        svc.start()
        await svc.wait_ready()
        await eventually(lambda: fetchval(dsn, "SELECT count(*) FROM co_creation_spaces"))
        async with httpx.AsyncClient(base_url=svc.base_url, timeout=10) as http:
            opens = datetime.now(UTC) - timedelta(seconds=1)
            r = await http.post(f"/v1/plans/{plan_id}/rounds", headers=GOV, json={
                "kind": "ideas", "title": "Busy", "opens_at": opens.isoformat(),
                "closes_at": (opens + timedelta(hours=1)).isoformat()})  # fmt: skip
            assert r.status_code == 201, r.text
            busy = r.json()
            r = await http.post(f"/v1/plans/{plan_id}/rounds", headers=GOV, json={
                "kind": "draft_plan", "title": "Closes while down", "opens_at": opens.isoformat(),
                "closes_at": (opens + timedelta(seconds=12)).isoformat()})  # fmt: skip
            assert r.status_code == 201, r.text
            closing = r.json()
            await eventually(lambda: fetchval(dsn, "SELECT count(*) = 2 FROM rounds WHERE state = 'open'"))
            died = asyncio.Event()

            async def writer(n: int) -> None:
                headers = token("participant", sub=f"writer-{n}")
                for i in range(10_000):
                    try:
                        r = await http.post(f"/v1/rounds/{busy['id']}/comments", headers=headers,
                                            json={"body": f"comment {n}-{i}"})  # fmt: skip
                    except httpx.TransportError:
                        # Acceptable only because the process is gone (its sockets close a
                        # moment before it can be reaped): a request in flight has no answer.
                        assert svc.proc is not None
                        await asyncio.to_thread(svc.proc.wait, 10)  # TimeoutExpired: a real error
                        died.set()
                        return
                    assert r.status_code == 201, r.text  # every answer the process gave: accepted
                    accepted.append(r.json()["id"])

            writers = [asyncio.ensure_future(writer(n)) for n in range(16)]
            await asyncio.gather(*writers)
            assert died.is_set()
        assert svc.proc is not None and svc.proc.wait(timeout=10) == 137, svc.log_tail()
        assert "fault point relay.after_send reached (hit 30)" in svc.log_text()
        # The state at the kill: comments were being written, the batch on Kafka is not marked,
        # and the short round has not closed yet.
        assert len(accepted) > 0
        assert await fetchval(dsn, "SELECT count(*) FROM outbox WHERE published_at IS NULL") > 0
        assert await fetchval(dsn, "SELECT state FROM rounds WHERE id = $1", UUID(closing["id"])) == "open"
        del svc.env["SHARAKA_FAULTS"]
        committed = int(await fetchval(dsn, "SELECT count(*) FROM inputs"))
        assert committed >= len(accepted)
        # Deliberate: the closing round's closing time passes while the service is down.
        await asyncio.sleep(
            max(0.0, (datetime.fromisoformat(closing["closes_at"]) - datetime.now(UTC)).total_seconds())
        )

        svc.start()
        await svc.wait_ready()

        def published(records: list) -> list[str]:  # type: ignore[type-arg]
            return [json.loads(r.value)["comment_id"] for r in records
                    if header(r, "ce_type") == "ogp.consultation.comment_added.v1"]  # fmt: skip

        async def all_published() -> bool:
            state = await fetchval(dsn, "SELECT state FROM rounds WHERE id = $1", closing["id"])
            return state == "closed" and not await fetchval(
                dsn, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )

        await eventually(all_published, timeout=30)
    finally:
        svc.ensure_stopped()
    records = await read_topic(env.kafka.bootstrap, env.topic(topics.CONSULTATION),
                               until=lambda rs: len(published(rs)) >= committed, timeout=20)  # fmt: skip
    ids = published(records)
    assert len(set(ids)) == committed  # nothing lost: every committed comment was published
    assert set(accepted) <= set(ids)  # including every one the writers saw a 201 for
    # Nothing twice: the relay may resend a row whose send it could not mark before the kill,
    # but always under the same CloudEvents id, which subscribers' inboxes deduplicate.
    event_ids: dict[str, set[str | None]] = {}
    for r in records:
        if header(r, "ce_type") == "ogp.consultation.comment_added.v1":
            event_ids.setdefault(json.loads(r.value)["comment_id"], set()).add(header(r, "ce_id"))
    assert all(len(v) == 1 for v in event_ids.values())
    assert len(ids) > len(set(ids))  # and the batch sent at the kill was indeed sent again
    closes = [r for r in records if header(r, "ce_type") == "ogp.consultation.consultation_closed.v1"]
    assert [json.loads(r.value)["round_id"] for r in closes] == [closing["id"]]
