"""Small helpers for tests: HTTP problem answers, and Kafka and Postgres looked at directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from services.plans.store import PgPlansUnitOfWork
from shared.events.base import Event
from shared.events.envelope import Envelope
from shared.uow import unit_of_work

T = TypeVar("T")
C = TypeVar("C")


def assert_problem(
    r: httpx.Response, status: int, field: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem answer with ``status``: the status code, the content type, the
    body's own ``status``, no traceback leaked, ``field`` among the ``errors`` and the ``rule``
    when given. Returns the body, for the test's own further checks."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    assert "Traceback" not in r.text
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    if rule is not None:
        assert body.get("rule") == rule, body
    return body


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool] = lambda _: False,
    timeout: float = 10.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything on ``topic`` from the beginning, without a consumer group; stops when ``until``
    holds or after ``timeout`` seconds."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
            if until(records):
                break
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 20.0, every: float = 0.1) -> T:
    """Poll ``check`` until it returns a truthy value; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        last = value
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]
) -> None:
    """Send raw (key, value, headers) records in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        # Enqueue everything, then wait once: the idempotent producer keeps the order.
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def as_record(event: Event, *, service: str = "plans") -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    rec = Envelope.wrap(event, service=service).to_record()
    return rec.key, rec.value, rec.headers


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for k, v in record.headers or ():
        if k == name:
            return bytes(v).decode()
    return None


async def fetchval(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def plans_use_case(
    pool: asyncpg.Pool, use_case: Callable[[PgPlansUnitOfWork, C], Awaitable[T]], cmd: C
) -> T:
    """Run one plans use case in a unit of work of its own (one transaction with its outbox):
    set-up through the service's own rules and events, as a request would do it."""
    async with unit_of_work(pool, "plans", PgPlansUnitOfWork) as uow:
        return await use_case(uow, cmd)
