"""The outbox relay: publishes committed outbox rows to Kafka in id order, then marks them.

* One active relay per service: the leader holds a Postgres advisory lock on a dedicated
  connection; standbys retry. Several concurrent relays would interleave rows and break the
  per-plan order subscribers rely on.
* It always reads *unpublished* rows, never ``id > last_seen``: a row whose transaction commits
  late (a lower id committed after a higher one) is still picked up on the next pass.
* A crash between publish and mark republishes the batch: a duplicate, never a loss. Consumers
  are idempotent by event id.
* Woken by LISTEN/NOTIFY from the insert trigger, with a polling fallback in case a notification
  is missed (connection blip, failover).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import metrics
from shared.events.envelope import CONTENT_TYPE, SPECVERSION, dataschema_uri
from shared.logging import get_logger

log = get_logger(__name__)

_RELAY_LOCK = 0x5A4A_0002

_FETCH = """
SELECT id, event_id, topic, key, event_type, source, event_time, payload, traceparent, tracestate
FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1
"""


def record_headers(row: asyncpg.Record | dict[str, Any]) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode headers for one outbox row, plus its trace context."""
    headers = [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", str(row["event_id"]).encode()),
        ("ce_source", row["source"].encode()),
        ("ce_type", row["event_type"].encode()),
        ("ce_time", row["event_time"].isoformat().encode()),
        ("ce_subject", row["key"].encode()),
        ("ce_dataschema", dataschema_uri(row["event_type"]).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if row["traceparent"]:
        headers.append(("traceparent", row["traceparent"].encode()))
    if row["tracestate"]:
        headers.append(("tracestate", row["tracestate"].encode()))
    return headers


class OutboxRelay:
    def __init__(
        self,
        *,
        dsn: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        retention_days: int = 7,
        topic_prefix: str = "",
        coalesce_s: float = 0.005,
    ) -> None:
        self._dsn = dsn
        self._pool = pool
        self._producer = producer
        self._batch_size = batch_size
        self._poll = poll_interval_s
        self._retention_days = retention_days
        self._prefix = topic_prefix
        self._coalesce = coalesce_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lock_conn: asyncpg.Connection | None = None
        self.is_leader = False

    # --- the loop ---------------------------------------------------------------------------
    async def run(self, drain_timeout_s: float = 10.0) -> None:
        """Run until :meth:`stop`; survives Kafka and Postgres outages by retrying with back-off.

        On stop, the leader publishes what is already committed before it lets go of the lock,
        so a rolling restart does not leave events waiting for the next leader's first poll."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                if not await self._become_leader():
                    await self._sleep(self._poll * 5)
                    continue
                await self._lead()
                backoff = 0.5
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, Exception) as exc:
                if self._stopping.is_set():
                    break
                log.warning("outbox relay error; retrying", error=repr(exc), backoff_s=backoff)
                await self._release()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        if self.is_leader:
            try:
                published = await self.drain(drain_timeout_s)
                log.info("outbox drained at shutdown", published=published)
            except Exception as exc:
                log.warning("outbox not fully drained at shutdown", error=repr(exc))
        await self._release()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _become_leader(self) -> bool:
        if self._lock_conn is None or self._lock_conn.is_closed():
            self._lock_conn = await asyncpg.connect(self._dsn)
        got = await self._lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK)
        if got:
            self.is_leader = True
            metrics.RELAY_LEADER.set(1)
            await self._lock_conn.add_listener("outbox", self._on_notify)
            log.info("outbox relay is leader")
        return bool(got)

    async def _release(self) -> None:
        self.is_leader = False
        metrics.RELAY_LEADER.set(0)
        if self._lock_conn is not None and not self._lock_conn.is_closed():
            with contextlib.suppress(Exception):
                await self._lock_conn.close(timeout=2)
        self._lock_conn = None

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _lead(self) -> None:
        last_purge = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            if self._lock_conn is None or self._lock_conn.is_closed():
                raise ConnectionError("lost the relay lock connection")
            self._wake.clear()
            sent = await self.publish_once()
            if loop.time() - last_purge > 3600:
                await self._purge()
                last_purge = loop.time()
            if sent < self._batch_size:
                await self._sleep(self._poll)
                # Woken by the first commit of a burst: let the burst gather for a few ms, so
                # one pass (one Kafka produce, one UPDATE) carries many rows instead of one.
                if self._coalesce and not self._stopping.is_set():
                    await asyncio.sleep(self._coalesce)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    # --- one batch ----------------------------------------------------------------------------
    async def publish_once(self) -> int:
        """Publish up to one batch of unpublished rows; return how many were published."""
        rows = await self._pool.fetch(_FETCH, self._batch_size)
        if not rows:
            return 0
        futures = []
        for row in rows:
            # send() only enqueues; the batch is flushed by the producer and awaited together.
            fut = await self._producer.send(
                self._prefix + row["topic"],
                value=row["payload"].encode(),
                key=row["key"].encode(),
                headers=record_headers(row),
            )
            futures.append(fut)
        await asyncio.gather(*futures)
        await self.mark_published([r["id"] for r in rows])
        metrics.OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    async def mark_published(self, ids: Sequence[int]) -> None:
        await self._pool.execute(
            "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])",
            list(ids),
        )

    async def drain(self, timeout_s: float = 10.0) -> int:
        """Publish everything committed so far (used at shutdown); returns rows published."""
        total = 0
        async with asyncio.timeout(timeout_s):
            while (n := await self.publish_once()) > 0:
                total += n
        return total

    async def _purge(self) -> None:
        await self._pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(days => $1)",
            self._retention_days,
        )


async def update_backlog_metrics(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(
        """SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age
           FROM outbox WHERE published_at IS NULL"""
    )
    assert row is not None
    metrics.OUTBOX_BACKLOG.set(row["n"])
    metrics.OUTBOX_OLDEST_AGE.set(float(row["age"] or 0.0))
