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
* Traced when spans are exported (:func:`shared.telemetry.exporting`): one PRODUCER span per
  record, ``send <topic>``, child of the trace context stored with the row (the HTTP request or
  consumed event that wrote it), and the record carries the span's own ``traceparent``, so a
  trace runs HTTP → outbox → Kafka → consumer. Attributes follow the OpenTelemetry messaging
  semantic conventions as of 1.27+ (``messaging.operation.type=send``, which replaced
  ``publish``). Without an exporter no span is built: the relay is a hot path.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared import locks, metrics, telemetry
from shared.events.envelope import CONTENT_TYPE, SPECVERSION, dataschema_uri
from shared.faults import fault_point
from shared.leader import LeaderRunner
from shared.logging import get_logger

log = get_logger(__name__)
tracer = trace.get_tracer("sharaka.outbox")
_TRACE_HEADERS = ("traceparent", "tracestate")

# The id as text and the payload as UTF-8 bytes, which is what Kafka gets: no UUID object and no
# str → bytes round trip per row in Python (a NULL payload, a tombstone, stays NULL).
_FETCH = """
SELECT id, event_id::text AS event_id, topic, key, event_type, source, event_time,
       convert_to(payload, 'UTF8') AS payload, traceparent, tracestate
FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1
"""

_SPECVERSION = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE = ("content-type", CONTENT_TYPE.encode())


@functools.lru_cache(maxsize=256)
def _constant_headers(source: str, event_type: str) -> tuple[tuple[str, bytes], ...]:
    """The headers every record of one type from one source shares, encoded once (a service
    publishes a handful of types)."""
    return (
        ("ce_source", source.encode()),
        ("ce_type", event_type.encode()),
        ("ce_dataschema", dataschema_uri(event_type).encode()),
    )


def record_headers(row: asyncpg.Record | dict[str, Any]) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode headers for one outbox row, plus its trace context."""
    source, ce_type, dataschema = _constant_headers(row["source"], row["event_type"])
    headers = [
        _SPECVERSION,
        ("ce_id", str(row["event_id"]).encode()),
        source,
        ce_type,
        ("ce_time", row["event_time"].isoformat().encode()),
        ("ce_subject", row["key"].encode()),
        dataschema,
        _CONTENT_TYPE,
    ]
    if row["traceparent"]:
        headers.append(("traceparent", row["traceparent"].encode()))
    if row["tracestate"]:
        headers.append(("tracestate", row["tracestate"].encode()))
    return headers


def _producer_span(topic: str, row: asyncpg.Record | dict[str, Any]) -> trace.Span:
    """The PRODUCER span of one record, child of the context the row was written in."""
    stored = {k: row[k] for k in _TRACE_HEADERS if row[k]}
    return tracer.start_span(
        f"send {topic}",
        context=propagate.extract(stored),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.destination.name": topic,
            "messaging.kafka.message.key": row["key"],
            "messaging.message.id": str(row["event_id"]),
        },
    )


def _traced(headers: list[tuple[str, bytes]], span: trace.Span) -> list[tuple[str, bytes]]:
    """The record's headers with the producer span as its trace context (what consumers
    continue), instead of the context stored with the row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    kept = [(k, v) for k, v in headers if k not in _TRACE_HEADERS]
    return [*kept, *((k, v.encode()) for k, v in carrier.items())]


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
        spans: list[trace.Span] = []
        tracing = telemetry.exporting()
        try:
            for row in rows:
                # send() only enqueues; the batch is flushed by the producer and awaited together.
                tombstone = row["payload"] is None
                topic = self._prefix + row["topic"]
                # A tombstone has no CloudEvents attributes but its source, which consumers check
                # against the topic's owner (shared.events.catalog.check_sender).
                headers = [("ce_source", row["source"].encode())] if tombstone else record_headers(row)
                if tracing:
                    span = _producer_span(topic, row)
                    spans.append(span)
                    if not tombstone:
                        headers = _traced(headers, span)
                fut = await self._producer.send(
                    topic,
                    value=row["payload"],
                    key=row["key"].encode(),
                    headers=headers,
                )
                futures.append(fut)
        except BaseException as exc:  # a send refused outright: no span is left open
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.end()
            raise
        if spans:
            await self._await_traced(futures, spans)
        else:
            await asyncio.gather(*futures)
        fault_point("relay.after_send")
        await self.mark_published([r["id"] for r in rows])
        metrics.OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    @staticmethod
    async def _await_traced(futures: list[Any], spans: list[trace.Span]) -> None:
        """Await the batch's deliveries, ending each record's span with its partition and
        offset, or with the error that failed it."""
        results = await asyncio.gather(*futures, return_exceptions=True)
        failure: BaseException | None = None
        for span, result in zip(spans, results, strict=True):
            if isinstance(result, BaseException):
                failure = failure or result
                span.record_exception(result)
                span.set_status(Status(StatusCode.ERROR, type(result).__name__))
            else:
                span.set_attribute("messaging.destination.partition.id", str(result.partition))
                span.set_attribute("messaging.kafka.offset", result.offset)
            span.end()
        if failure is not None:
            raise failure

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
