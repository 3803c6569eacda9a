"""A rolling restart and a scale-out under load, as Kubernetes does them: two replicas of the IRM
(separate processes, one consumer group, one database) take a stream of plan submissions; each is
restarted in turn with SIGTERM, a third is added, and the one holding the relay's leadership is
killed with SIGKILL. Nothing is lost and nothing is applied twice."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import httpx

from devstack.services import ServiceProcess
from shared.events import topics
from shared.events.plans import PlanSubmitted
from tests.conftest import Env
from tests.helpers import as_record, eventually, fetchval, header, produce, read_topic, topic_size

N = 3000
BATCHES = 30


def _record(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    return as_record(PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title=f"Plan {i}", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=1, point_of_contact_id=uuid4(), submitted_at=datetime.now(UTC),
    ))  # fmt: skip


async def _is_leader(replica: ServiceProcess) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(base_url=replica.base_url, timeout=2) as http:
            text = (await http.get("/metrics")).text
        return any(line.startswith("sharaka_outbox_relay_leader") and line.rstrip().endswith(" 1.0")
                   for line in text.splitlines())  # fmt: skip
    return False


async def test_rolling_restart_scale_out_and_a_killed_leader_lose_nothing(env: Env, tmp_path: Path) -> None:
    def replica(i: int) -> ServiceProcess:
        return ServiceProcess("irm", env.env_vars("IRM_", "irm", consumer_batch_max_records=50), tmp_path,
                              log_name=f"irm-{i}")  # fmt: skip

    replicas = [replica(0), replica(1)]
    dsn = replicas[0].env["IRM_DATABASE_URL"]
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            await r.wait_ready()

        async def load() -> None:  # a steady stream while the replicas come and go
            per = N // BATCHES
            for b in range(BATCHES):
                await produce(
                    env.kafka.bootstrap, env.topic(topics.PLANS), [_record(b * per + i) for i in range(per)]
                )
                await asyncio.sleep(0.5)

        feeding = asyncio.create_task(load())

        async def under_way() -> int:  # the restarts start with work applied and work still to come
            return int(await fetchval(dsn, "SELECT count(*) FROM reviews"))

        in_flight = await eventually(under_way, until=lambda n: n >= N // 10, timeout=60)
        assert in_flight < N, "everything was applied before the first restart: nothing was proved"
        for r in list(replicas):  # the rolling restart: one at a time, each back before the next
            assert r.terminate() == 0, r.log_tail()
            r.start()
            await r.wait_ready()
        third = replica(2)  # the scale-out
        third.start()
        await third.wait_ready()
        replicas.append(third)
        leader = None
        for _ in range(50):
            found = [r for r in replicas if await _is_leader(r)]
            if found:
                leader = found[0]
                break
            await asyncio.sleep(0.2)
        assert leader is not None, "no replica reports holding the relay's leadership"
        leader.kill()
        await feeding

        async def all_applied() -> bool:
            return bool(await fetchval(dsn, "SELECT count(*) FROM reviews") == N)

        await eventually(all_applied, timeout=120, every=0.5)
        # Once each: one review, one inbox row and one outbox event per submission.
        assert await fetchval(dsn, "SELECT count(DISTINCT plan_id) FROM reviews") == N
        assert await fetchval(dsn, "SELECT count(*) FROM inbox") == N
        assert (
            await fetchval(
                dsn, "SELECT count(*) FROM outbox WHERE event_type = 'ogp.irm.review_scheduled.v1'"
            )
            == N
        )

        async def published() -> bool:
            n = await fetchval(dsn, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            return bool(n == 0)

        await eventually(published, timeout=60, every=0.5)  # the new leader published what was left
        records = await read_topic(
            env.kafka.bootstrap, env.topic(topics.IRM),
            until=lambda rs: len({header(r, "ce_id") for r in rs}) >= N, timeout=60,
        )  # fmt: skip
        scheduled = {
            header(r, "ce_id") for r in records if header(r, "ce_type") == "ogp.irm.review_scheduled.v1"
        }
        assert len(scheduled) == N  # every event reached Kafka (a re-sent batch repeats ids, adds none)
        assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
    finally:
        for r in replicas:
            r.ensure_stopped()
