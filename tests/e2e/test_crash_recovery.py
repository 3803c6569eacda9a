"""Kill a service at the awkward moments, forced by the fault points of :mod:`shared.faults`
(a consumer that committed a batch but not its offsets; a relay whose batch Kafka acknowledged
but which did not mark it): nothing lost, nothing applied twice, and the redelivery that proves
it did happen (``duplicate`` outcomes counted)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import httpx

from devstack.services import ServiceProcess
from services.irm.service import SPEC as IRM
from services.plans.service import SPEC as PLANS
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.events import topics
from shared.events.plans import PlanSubmitted
from tests.conftest import Env
from tests.helpers import (
    applies,
    as_record,
    caught_up,
    committed_offsets,
    consumed,
    eventually,
    fetchval,
    header,
    install_apply_probe,
    produce,
    read_topic,
    submitted_plan,
    topic_size,
)

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
    assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0


async def _migrated(dsn: str) -> None:
    """The IRM's schema, as the service makes it at start, so the apply probe can be installed
    before the first record is read."""
    pool = await create_pool(dsn)
    try:
        await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("irm", IRM.migrations)))
    finally:
        await pool.close()


async def _exited(proc: ServiceProcess) -> bool:
    assert proc.proc is not None
    return proc.proc.poll() is not None


async def test_killed_after_commit_before_ack_then_restart(env: Env, tmp_path: Path) -> None:
    """The awkward moment forced, not hoped for: the fault point exits the process right after
    the fifth batch's transaction committed and before its offsets were. The restarted process
    must read that batch again, recognise every record of it as a duplicate, and apply the rest."""
    irm = ServiceProcess("irm", env.env_vars("IRM_", "irm", consumer_batch_max_records=50), tmp_path)
    dsn = irm.env["IRM_DATABASE_URL"]
    group, plans_topic = f"{env.prefix}sharaka-irm", env.topic(topics.PLANS)
    try:
        await _migrated(dsn)
        await install_apply_probe(dsn)
        await produce(env.kafka.bootstrap, plans_topic, _events(N))
        irm.env["SHARAKA_FAULTS"] = "consumer.after_commit:5"
        irm.start()
        await eventually(lambda: _exited(irm), timeout=90, every=0.05)
        assert irm.proc is not None and irm.proc.returncode == 137, irm.log_tail()
        assert "fault point consumer.after_commit reached (hit 5)" in irm.log_text()

        # The state at the kill: a batch's effects and inbox rows committed, its offsets not.
        in_inbox = await _count(dsn, "SELECT count(*) FROM inbox")
        acknowledged = await committed_offsets(env.kafka.bootstrap, group, plans_topic)
        assert 0 < acknowledged < in_inbox < N, (acknowledged, in_inbox)
        assert await _count(dsn, "SELECT count(*) FROM reviews") == in_inbox

        del irm.env["SHARAKA_FAULTS"]
        irm.start()
        await irm.wait_ready()
        await eventually(lambda: _gt(dsn, N - 1), timeout=90)
        await eventually(lambda: caught_up(env.kafka.bootstrap, group, [plans_topic]), timeout=60)
        probe = await applies(dsn)
        assert len(probe) == N and set(probe.values()) == {1}  # an effect no constraint protects
        await _exactly_once(env, dsn)
        async with httpx.AsyncClient(base_url=irm.base_url) as http:
            metrics = (await http.get("/metrics")).text
        # Exactly the committed-but-unacknowledged records came back, and the inbox caught each.
        assert consumed("duplicate", metrics) == in_inbox - acknowledged
        assert consumed("applied", metrics) == N - in_inbox  # the new process applied what was missing
        assert consumed("dead_lettered", metrics) == 0
    finally:
        irm.ensure_stopped()


async def test_relay_killed_after_send_before_mark_resends_and_the_consumer_dedupes(
    env: Env, tmp_path: Path
) -> None:
    """The relay's awkward moment: Kafka acknowledged the batch, the rows are not marked. The
    restarted relay sends them again (Kafka holds each record twice, under one id) and the
    consuming service applies each once."""
    plans = ServiceProcess("plans", env.env_vars("PLANS_", "plans", timers_enabled="false"), tmp_path)
    irm = ServiceProcess("irm", env.env_vars("IRM_", "irm"), tmp_path)
    plans_dsn, irm_dsn = plans.env["PLANS_DATABASE_URL"], irm.env["IRM_DATABASE_URL"]
    group, plans_topic = f"{env.prefix}sharaka-irm", env.topic(topics.PLANS)
    pool = await create_pool(plans_dsn)
    try:
        await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", PLANS.migrations)))
        plan_id = await submitted_plan(pool)  # all its events wait in the outbox
        rows = int(await pool.fetchval("SELECT count(*) FROM outbox"))
        assert rows >= 4
        irm.start()
        await irm.wait_ready()
        await install_apply_probe(irm_dsn)

        plans.env["SHARAKA_FAULTS"] = "relay.after_send:1"
        plans.start()
        await eventually(lambda: _exited(plans), timeout=90, every=0.05)
        assert plans.proc is not None and plans.proc.returncode == 137, plans.log_tail()
        # The state at the kill: every row on Kafka once, none marked published.
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == rows
        public = await pool.fetch("SELECT event_id FROM outbox WHERE topic = $1", topics.PLANS)
        event_ids = {str(r["event_id"]) for r in public}
        on_kafka = await read_topic(env.kafka.bootstrap, plans_topic, until=lambda rs: len(rs) >= len(public))
        assert sorted(header(r, "ce_id") or "" for r in on_kafka) == sorted(event_ids)

        del plans.env["SHARAKA_FAULTS"]
        plans.start()
        await plans.wait_ready()
        await eventually(
            lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"), timeout=30
        )
        on_kafka = await read_topic(
            env.kafka.bootstrap, plans_topic, until=lambda rs: len(rs) >= 2 * len(public)
        )
        copies = Counter(header(r, "ce_id") for r in on_kafka)
        assert set(copies) == event_ids and set(copies.values()) == {2}  # each sent again, same id

        await eventually(lambda: caught_up(env.kafka.bootstrap, group, [plans_topic]), timeout=60)
        async with httpx.AsyncClient(base_url=irm.base_url) as http:
            metrics = (await http.get("/metrics")).text
        submitted_type = "ogp.plans.plan_submitted.v1"
        assert consumed("applied", metrics, event_type=submitted_type) == 1
        assert consumed("duplicate", metrics, event_type=submitted_type) == 1
        assert consumed("dead_lettered", metrics) == 0
        assert await applies(irm_dsn) == {plan_id: 1}
        assert await _count(irm_dsn, "SELECT count(*) FROM reviews") == 1
        assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
    finally:
        for p in (plans, irm):
            p.ensure_stopped()
        await pool.close()


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
        assert consumed("duplicate", metrics) == 0
    finally:
        irm.ensure_stopped()


async def _gt(dsn: str, n: int) -> bool:
    return await _count(dsn, "SELECT count(*) FROM reviews") > n
