"""PostgreSQL goes away under a running consumer: the batch in hand is not acknowledged and not
dead-lettered (an outage is not poison), it is read again until Postgres is back, then applied
once. On a cluster of this test's own, so the session's cluster stays up for the other tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from devstack.postgres import PostgresCluster
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.plans import PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import (
    applies,
    as_record,
    caught_up,
    committed_offsets,
    consumed,
    eventually,
    install_apply_probe,
    produce,
    topic_size,
)

READ_AGAIN = "infrastructure error; batch will be read again"


@pytest.fixture
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path_factory.mktemp("pg-down"))
    cluster.start()
    yield cluster
    cluster.stop()
    cluster.remove_data()


async def test_postgres_down_the_batch_is_read_again_not_dead_lettered(
    env: Env, own_pg: PostgresCluster, capfd: pytest.CaptureFixture[str]
) -> None:
    name = f"irm_{env.run_id}"
    own_pg.create_database(name)
    settings = env.settings(IrmSettings, "irm", database_url=own_pg.dsn(name), consumer_max_attempts=2)
    group, plans_topic = f"{env.prefix}sharaka-irm", env.topic(topics.PLANS)
    event = PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Outage", start_date=date(2025, 9, 1),
        end_date=date(2027, 8, 31), commitment_count=1, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 10, 31, 12, tzinfo=UTC),
    )  # fmt: skip
    async with running(IRM, settings):
        await install_apply_probe(settings.database_url)
        applied = consumed("applied")
        await asyncio.to_thread(own_pg.stop)
        try:
            await produce(env.kafka.bootstrap, plans_topic, [as_record(event)])

            # Read, failed on the connection, read again: more than once, and never acknowledged.
            logged: list[str] = []

            async def read_again_twice() -> bool:
                logged.append(capfd.readouterr().out)
                return "".join(logged).count(READ_AGAIN) >= 2

            await eventually(read_again_twice, timeout=30, every=0.2)
            assert await committed_offsets(env.kafka.bootstrap, group, plans_topic) == 0
            assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
        finally:
            await asyncio.to_thread(own_pg.start)

        await eventually(lambda: caught_up(env.kafka.bootstrap, group, [plans_topic]), timeout=60)
        assert consumed("applied") - applied == 1
    assert await applies(settings.database_url) == {event.plan_id: 1}
    assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
