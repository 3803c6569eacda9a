"""Kill the consumer at the awkward moment: nothing lost, nothing applied twice."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import httpx

from devstack.services import ServiceProcess
from shared.events import topics
from shared.events.plans import PlanSubmitted
from tests.conftest import Env
from tests.helpers import as_record, eventually, fetchval, produce, read_topic

N = 6000


def _events(n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    return [
        as_record(
            PlanSubmitted(
                plan_id=uuid4(),
                member_id=uuid4(),
                title=f"Plan {i}",
                start_date=date(2025, 1, 1),
                end_date=date(2027, 1, 1),
                commitment_count=1,
                point_of_contact_id=uuid4(),
                submitted_at=datetime.now(UTC),
            )
        )  # fmt: skip
        for i in range(n)
    ]


async def _count(dsn: str, sql: str) -> int:
    return int(await fetchval(dsn, sql))


async def _exactly_once(env: Env, dsn: str) -> None:
    assert await _count(dsn, "SELECT count(*) FROM reviews") == N
    assert await _count(dsn, "SELECT count(DISTINCT plan_id) FROM reviews") == N
    assert await _count(dsn, "SELECT count(*) FROM inbox") == N
    # One ReviewScheduled per plan: an event applied twice would have written two (or, with the
    # unique constraint, ended on the dead-letter topic).
    assert await _count(dsn, "SELECT count(*) FROM outbox") == N
    assert await read_topic(env.kafka.bootstrap, env.topic("sharaka.irm.dlq"), timeout=2) == []


async def test_sigkill_mid_stream_then_restart(env: Env, tmp_path: Path) -> None:
    irm = ServiceProcess("irm", env.env_vars("IRM_", "irm", consumer_batch_max_records=50), tmp_path)
    dsn = irm.env["IRM_DATABASE_URL"]
    try:
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), _events(N))
        irm.start()
        await irm.wait_ready()
        await eventually(lambda: _gt(dsn, N // 10), timeout=60, every=0.02)
        irm.kill()
        killed_at = await _count(dsn, "SELECT count(*) FROM reviews")
        assert killed_at < N, "the kill came too late to prove anything"
        irm.start()
        await irm.wait_ready()
        await eventually(lambda: _gt(dsn, N - 1), timeout=90)
        await _exactly_once(env, dsn)
        async with httpx.AsyncClient(base_url=irm.base_url) as http:
            metrics = (await http.get("/metrics")).text
        applied = _metric(metrics, 'outcome="applied"')
        assert applied == N - killed_at  # the new process applied exactly what was missing
    finally:
        irm.ensure_stopped()


async def test_graceful_shutdown_under_load_commits_in_flight_work(env: Env, tmp_path: Path) -> None:
    irm = ServiceProcess("irm", env.env_vars("IRM_", "irm", consumer_batch_max_records=50), tmp_path)
    dsn = irm.env["IRM_DATABASE_URL"]
    try:
        # The backlog is there before the consumer starts, so the stop lands mid-stream.
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), _events(N))
        irm.start()
        await irm.wait_ready()
        await eventually(lambda: _gt(dsn, N // 10), timeout=60, every=0.02)
        assert irm.terminate() == 0
        stopped_at = await _count(dsn, "SELECT count(*) FROM reviews")
        assert stopped_at < N, "the stop came too late to prove anything"
        # Everything applied before the stop was also published by the relay's final flush.
        assert await _count(dsn, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
        assert '"event": "service stopped"' in irm.log_text()
        irm.start()
        await irm.wait_ready()
        await eventually(lambda: _gt(dsn, N - 1), timeout=90)
        await _exactly_once(env, dsn)
        async with httpx.AsyncClient(base_url=irm.base_url) as http:
            metrics = (await http.get("/metrics")).text
        # Every applied record was committed before exit, so the new process re-read none.
        assert _metric(metrics, 'outcome="duplicate"') == 0
    finally:
        irm.ensure_stopped()


async def _gt(dsn: str, n: int) -> bool:
    return await _count(dsn, "SELECT count(*) FROM reviews") > n


def _metric(text: str, label: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("sharaka_events_consumed_total{") and label in line:
            total += float(re.split(r"\s+", line)[-1])
    return total
