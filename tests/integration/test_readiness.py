"""Readiness through a Kafka outage: the service stays ready (the outbox takes the writes), says
Kafka is unreachable (body, gauge, one log line per transition), and catches up once Kafka is
back; without Postgres it is not ready."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from devstack.kafka import KafkaNode
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from tests.conftest import Env, client, running, token
from tests.helpers import eventually, fetchval

STAFF = token("staff")
UNPUBLISHED = (
    "SELECT count(*) FROM outbox WHERE published_at IS NULL AND event_type = 'ogp.plans.member_created.v1'"
)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(str(record.msg))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


@pytest.fixture
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    """A broker of this test's own: the session's broker must not be stopped under other tests."""
    node = KafkaNode(tmp_path_factory.mktemp("kafka-ready"))
    node.install()
    node.start()
    yield node
    node.stop()


@pytest.fixture
def runtime_log() -> Iterator[_Lines]:
    lines = _Lines()
    logger = logging.getLogger("shared.runtime")
    logger.addHandler(lines)
    yield lines
    logger.removeHandler(lines)


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("sharaka_kafka_reachable")


async def _ready(api: httpx.AsyncClient, kafka: str) -> httpx.Response | None:
    r = await api.get("/readyz")
    return r if r.status_code == 200 and r.json()["kafka"] == kafka else None


async def test_ready_while_kafka_is_down_and_writes_wait_in_the_outbox(
    env: Env, own_kafka: KafkaNode, runtime_log: _Lines
) -> None:
    env.kafka = own_kafka
    settings = env.settings(PlansSettings, "plans", timers_enabled=False, graceful_timeout_s=5)
    async with running(PLANS, settings) as rt, client(rt) as api:
        r = await api.get("/readyz")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["kafka"] == "reachable" and body["checks"]["kafka"] is True
        assert body["required"] == ["postgres", "migrations"]
        assert _gauge() == 1

        await asyncio.to_thread(own_kafka.stop)
        down: httpx.Response | None = await eventually(lambda: _ready(api, "unreachable"), timeout=30)
        assert down is not None and down.json() == {
            "status": "ready",
            "checks": {"postgres": True, "migrations": True, "kafka": False},
            "required": ["postgres", "migrations"],
            "kafka": "unreachable",
        }
        assert _gauge() == 0
        created = await api.post(
            "/v1/members", headers=STAFF, json={"name": "Outage", "kind": "national", "country_code": "TN"}
        )
        assert created.status_code == 201, created.text
        dsn = settings.database_url
        assert await fetchval(dsn, UNPUBLISHED) == 1  # taken, waiting for Kafka
        await api.get("/readyz")  # still down: no second line
        assert runtime_log.count("kafka unreachable; writes go to the outbox") == 1

        await asyncio.to_thread(own_kafka.start)
        await eventually(lambda: _ready(api, "reachable"), timeout=60, every=0.5)
        assert _gauge() == 1
        assert runtime_log.count("kafka reachable again") == 1
        await eventually(lambda: _zero(dsn), timeout=90, every=0.5)  # the relay caught up
        assert runtime_log.count("kafka unreachable; writes go to the outbox") == 1


async def _zero(dsn: str) -> bool:
    return int(await fetchval(dsn, UNPUBLISHED)) == 0


async def test_not_ready_without_postgres(env: Env) -> None:
    settings = env.settings(PlansSettings, "plans", timers_enabled=False, graceful_timeout_s=5)
    database = settings.database_url.rsplit("/", 1)[1]
    admin = env.pg.dsn()
    async with running(PLANS, settings) as rt, client(rt) as api:
        assert (await api.get("/readyz")).status_code == 200
        # The service's database stops taking connections and its sessions are cut: to the
        # service that is Postgres being unreachable.
        await fetchval(admin, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        try:
            await fetchval(
                admin,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
            r: httpx.Response | None = await eventually(lambda: _not_ready(api), timeout=20)
            assert r is not None
            body = r.json()
            assert body["status"] == "not ready"
            assert body["checks"]["postgres"] is False and body["checks"]["kafka"] is True
            assert body["kafka"] == "reachable"
        finally:
            await fetchval(admin, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await eventually(lambda: _is_ready(api), timeout=20)


async def _not_ready(api: httpx.AsyncClient) -> httpx.Response | None:
    r = await api.get("/readyz")
    return r if r.status_code == 503 else None


async def _is_ready(api: httpx.AsyncClient) -> bool:
    return (await api.get("/readyz")).status_code == 200
