"""A service that starts while Kafka is unreachable waits for it instead of exiting.

Exiting would put a pod into a crash loop whose back-off outlasts a short outage. Here the
bootstrap address first has nothing listening; the service must keep trying (its start-up not
finished, not failed), then, once a forwarder to the real broker listens there, finish starting
and apply an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime
from uuid import uuid4

from prometheus_client import REGISTRY

from devstack.ports import free_port
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared import metrics
from shared.events import topics
from shared.events.plans import PlanSubmitted
from shared.runtime import Runtime
from tests.conftest import Env
from tests.helpers import as_record, eventually, produce


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def _forward_to(host: str, port: int) -> asyncio.Server:
    """Something at the bootstrap address at last: a TCP forwarder to the real broker (the broker's
    metadata then points the clients at the broker itself)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", LATE_PORT)


LATE_PORT = free_port()


async def test_a_service_started_during_a_kafka_outage_waits_then_runs(env: Env) -> None:
    settings = env.settings(
        IrmSettings, "irm", kafka_bootstrap=f"127.0.0.1:{LATE_PORT}", kafka_create_topics=True
    )
    rt = Runtime(IRM, settings)
    rt.build_app()
    metrics.KAFKA_REACHABLE.set(-1)
    starting = asyncio.create_task(rt.start())

    async def waiting() -> bool:  # it found Kafka unreachable and is still starting, not failed
        return REGISTRY.get_sample_value("sharaka_kafka_reachable") == 0 and not starting.done()

    await eventually(waiting, timeout=30)
    assert not starting.done(), "start-up gave up while Kafka was unreachable"

    host, port = env.kafka.bootstrap.rsplit(":", 1)
    server = await _forward_to(host, int(port))
    try:
        await asyncio.wait_for(starting, timeout=60)  # raises if start-up failed
        try:
            plan_id = uuid4()
            submitted = PlanSubmitted(
                plan_id=plan_id, member_id=uuid4(), title="Late start", start_date=date(2025, 1, 1),
                end_date=date(2027, 1, 1), commitment_count=1, point_of_contact_id=uuid4(),
                submitted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
            )  # fmt: skip
            await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(submitted)])

            async def reviewed() -> int:
                return int(await rt.pool.fetchval("SELECT count(*) FROM reviews WHERE plan_id = $1", plan_id))

            assert await eventually(reviewed, until=lambda n: n >= 1, timeout=60) == 1
        finally:
            await rt.stop()
    finally:
        server.close()
