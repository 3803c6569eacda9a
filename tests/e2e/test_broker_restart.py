"""Kill the Kafka broker itself mid-stream: the relay and the consumer ride it out, nothing is
lost and nothing is applied twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from services.plans.use_cases import commitments, members
from services.plans.use_cases import plans as plan_cases
from shared.auth import Principal
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.events import topics
from shared.events.plans import MemberKind, PlanState
from tests.conftest import Env
from tests.helpers import (
    applies,
    caught_up,
    consumed,
    eventually,
    fetchval,
    install_apply_probe,
    plans_use_case,
    topic_size,
)

STAFF = Principal("staff-1", frozenset({"staff"}), frozenset())
PLANS = 120


@pytest.fixture
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    """A broker of this test's own: the session's broker must not be killed under other tests."""
    node = KafkaNode(tmp_path_factory.mktemp("kafka-chaos"))
    node.install()
    node.start()
    yield node
    node.stop()


async def test_broker_killed_and_restarted_loses_nothing(
    env: Env, pg: PostgresCluster, own_kafka: KafkaNode, tmp_path: Path
) -> None:
    env.kafka = own_kafka  # every service below talks to the broker we are about to kill
    plans_env = env.env_vars("PLANS_", "plans", TIMERS_ENABLED="false")
    irm = ServiceProcess("irm", env.env_vars("IRM_", "irm"), tmp_path)
    plans = ServiceProcess("plans", plans_env, tmp_path)
    irm_dsn = irm.env["IRM_DATABASE_URL"]
    pool = await create_pool(plans_env["PLANS_DATABASE_URL"])
    try:
        await migrate(
            pool, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", Path("services/plans/migrations")))
        )
        for p in (plans, irm):
            p.start()
        for p in (plans, irm):
            await p.wait_ready()
        await install_apply_probe(irm_dsn)
        member = await plans_use_case(
            pool, members.create_member, members.CreateMember("Chaos", MemberKind.NATIONAL, None)
        )

        async def submit_one(i: int) -> None:
            plan = await plans_use_case(
                pool,
                plan_cases.create_plan,
                plan_cases.CreatePlan(
                    STAFF,
                    member.id,
                    f"P{i}",
                    date(2025, 1, 1),
                    date(2027, 1, 1),
                    plan_cases.ContactDetails("C", None, None, "en"),
                ),
            )
            await plans_use_case(
                pool,
                plan_cases.transition_plan,
                plan_cases.TransitionPlan(STAFF, plan.id, PlanState.CO_CREATION),
            )
            await plans_use_case(
                pool,
                commitments.add_commitment,
                commitments.AddCommitment(
                    STAFF, plan.id, {"texts": {"title": {"en": "c"}}, "original_language": "en"}
                ),
            )
            await plans_use_case(
                pool,
                plan_cases.transition_plan,
                plan_cases.TransitionPlan(STAFF, plan.id, PlanState.SUBMITTED),
            )

        for i in range(PLANS // 2):
            await submit_one(i)
        await eventually(lambda: _reviews_at_least(irm_dsn, 1), timeout=60)
        own_kafka.kill()  # SIGKILL the broker while events are in flight
        # In flight at the kill: submissions written but not yet applied downstream.
        at_kill = int(await fetchval(irm_dsn, "SELECT count(*) FROM reviews"))
        assert at_kill < PLANS // 2, "the broker died after everything was applied: nothing in flight"
        # The services see the outage (not a sleep standing for it).
        await eventually(lambda: _kafka_down(plans), timeout=30)
        for i in range(PLANS // 2, PLANS):  # plans keeps committing: the outbox holds the events
            await submit_one(i)
        waiting = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert waiting >= PLANS // 2 * 4  # every event of the second half, at least, is waiting
        own_kafka.start()
        await eventually(lambda: _reviews_at_least(irm_dsn, PLANS), timeout=180, every=0.5)
        # Until the IRM acknowledged everything on the topic: any redelivery has been handled.
        group, plans_topic = f"{env.prefix}sharaka-irm", env.topic(topics.PLANS)
        await eventually(lambda: caught_up(own_kafka.bootstrap, group, [plans_topic]), timeout=120, every=0.5)
        assert await fetchval(irm_dsn, "SELECT count(*) FROM reviews") == PLANS
        assert await fetchval(irm_dsn, "SELECT count(DISTINCT plan_id) FROM reviews") == PLANS
        assert await fetchval(irm_dsn, "SELECT count(*) FROM outbox") == PLANS  # one ReviewScheduled each
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
        # Each submission applied once, counted where no unique constraint could absorb a repeat,
        # and nothing parked on the dead-letter topic (where a failed repeat would go).
        probe = await applies(irm_dsn)
        assert len(probe) == PLANS and set(probe.values()) == {1}
        assert await topic_size(own_kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
        async with httpx.AsyncClient(base_url=irm.base_url) as http:
            metrics = (await http.get("/metrics")).text
        assert consumed("dead_lettered", metrics) == 0
        assert consumed("applied", metrics, event_type="ogp.plans.plan_submitted.v1") == PLANS
    finally:
        for p in (irm, plans):
            p.ensure_stopped()
        await pool.close()


async def _kafka_down(service: ServiceProcess) -> bool:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as http:
        r = await http.get("/readyz")
    assert r.status_code == 200, r.text  # still ready: the outbox takes the writes
    return r.json()["checks"]["kafka"] is False


async def _reviews_at_least(dsn: str, n: int) -> bool:
    return int(await fetchval(dsn, "SELECT count(*) FROM reviews")) >= n
