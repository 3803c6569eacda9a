"""The outbox relay: publishes committed outbox rows to Kafka in id order, then marks them.

* One active relay per service, elected by the platform's one leader loop
  (:class:`shared.leader.LeaderRunner`, advisory lock on a dedicated connection); standbys
  retry. Several concurrent relays would interleave rows and break the per-plan order
  subscribers rely on.
* It always reads *unpublished* rows, never ``id > last_seen``: a row whose transaction commits
  late (a lower id committed after a higher one) is still picked up on the next pass.
* A crash between publish and mark republishes the batch: a duplicate, never a loss. Consumers
  are idempotent by event id.
* Woken by LISTEN/NOTIFY from the insert trigger, with a polling fallback in case a notification
  is missed (connection blip, failover).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import locks, metrics
from shared.events.envelope import CONTENT_TYPE, SPECVERSION, dataschema_uri
from shared.leader import LeaderRunner
from shared.logging import get_logger

log = get_logger(__name__)

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
    """Publishes the outbox under the platform's one leader loop (:mod:`shared.leader`)."""

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
        drain_timeout_s: float = 10.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._batch_size = batch_size
        self._retention_days = retention_days
        self._prefix = topic_prefix
        self._drain_timeout_s = drain_timeout_s
        self._last_purge = -1e9
        self._runner = LeaderRunner(
            job="outbox-relay",
            dsn=dsn,
            lock_key=locks.OUTBOX_RELAY,
            work=self._pass,
            interval_s=poll_interval_s,
            lock_retry_s=poll_interval_s * 5,
            listen="outbox",
            # Woken by the first commit of a burst: let the burst gather for a few ms, so one
            # pass (one Kafka produce, one UPDATE) carries many rows instead of one.
            settle_s=coalesce_s,
            # On stop, publish what is already committed before the lock goes, so a rolling
            # restart does not leave events waiting for the next leader's first poll.
            final_pass=self._drain_at_shutdown,
            # A pass runs for every burst of commits: prove the lock's session alive once a
            # second, not once a pass (its loss is noticed at once by the termination listener).
            verify_every_s=1.0,
            on_leadership=lambda leader: metrics.RELAY_LEADER.set(1 if leader else 0),
            log_passes=False,
            trace_passes=False,
        )

    @property
    def is_leader(self) -> bool:
        return self._runner.is_leader

    async def run(self) -> None:
        """Until :meth:`stop`; Kafka and Postgres outages are retried with back-off."""
        await self._runner.run()

    async def stop(self) -> None:
        await self._runner.stop()

    async def _pass(self, should_continue: Callable[[], bool]) -> dict[str, int]:
        sent = 0
        while should_continue():
            n = await self.publish_once()
            sent += n
            if n < self._batch_size:
                break
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge > 3600:
            await self._purge()
            self._last_purge = loop.time()
        return {"published": sent}

    async def _drain_at_shutdown(self) -> None:
        published = await self.drain(self._drain_timeout_s)
        log.info("outbox drained at shutdown", published=published)

    # --- one batch ----------------------------------------------------------------------------
    async def publish_once(self) -> int:
        """Publish up to one batch of unpublished rows; return how many were published."""
        rows = await self._pool.fetch(_FETCH, self._batch_size)
        if not rows:
            return 0
        futures = []
        for row in rows:
            # send() only enqueues; the batch is flushed by the producer and awaited together.
            tombstone = row["payload"] is None
            fut = await self._producer.send(
                self._prefix + row["topic"],
                value=None if tombstone else row["payload"].encode(),
                key=row["key"].encode(),
                headers=[] if tombstone else record_headers(row),
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
