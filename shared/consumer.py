"""The idempotent event consumer: decode, apply in one transaction with an inbox row, commit the
offset only afterwards; retry with back-off; dead-letter what can never be handled.

Why each choice:

* **Batch subscriber, manual ack.** FastStream reads up to ``max_records`` and hands us the batch;
  we apply the records one by one, in partition order, then commit once. Committing per batch
  instead of per record is what makes ≥1,000 events/s possible while every record still has its
  own transaction. Nothing is committed before it is applied (at-least-once).
* **Retries in place.** A failing record is retried with exponential back-off *before* the next
  record, so per-plan order holds. After ``max_attempts`` it goes to the dead-letter topic and
  the partition moves on.
* **Poison is not retried.** Not CloudEvents, not JSON, an unknown type or data that does not
  match the contract will never succeed: straight to the dead-letter topic with the reason.
* **Only the owner may say it.** An event whose ``ce_source`` is not its type's owning service,
  or that arrives on another topic than its contract's, is poison too (``unexpected_source``,
  with the expected and actual source in the dead letter's headers): a well-formed
  ``plan_submitted`` from anyone else must not open a review (:mod:`shared.events.catalog`).
* **Bounded metric labels.** ``event_type`` is a declared contract's type, ``tombstone`` or
  ``unknown``: whoever can write a topic must not be able to add time series without limit.
* **Infrastructure errors are not poison.** If Postgres is unreachable every record would fail;
  dead-lettering them all would be wrong. The batch is nacked (FastStream seeks back to its first
  record) after a back-off and read again; the inbox skips what was already applied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import chain
from typing import Any
from uuid import UUID, uuid5

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared import metrics, telemetry
from shared.events.base import Event, Tombstone
from shared.events.catalog import check_sender, metric_type
from shared.events.envelope import TRACE_HEADERS, PoisonMessage, Received, decode, headers_dict
from shared.events.topics import dead_letter_topic
from shared.faults import fault_point
from shared.logging import get_logger
from shared.privacy import scrub
from shared.reactions import Dispatch, Handler
from shared.uow import TOMBSTONE_TYPE, UnitOfWork, unit_of_work

log = get_logger(__name__)

#: Namespace of the ids given to tombstones (which carry no CloudEvents id of their own).
_TOMBSTONE_IDS = UUID("5d0c4d7e-2b61-4c35-9d1e-8a3f4b6c7e21")
tracer = trace.get_tracer("sharaka.consumer")


#: Errors that mean "the platform is unwell", not "this message is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


class DeadLetterHeaders:
    REASON = "dlq_reason"
    DETAIL = "dlq_detail"
    ATTEMPTS = "dlq_attempts"
    TOPIC = "dlq_source_topic"
    PARTITION = "dlq_source_partition"
    OFFSET = "dlq_source_offset"
    CONSUMER = "dlq_consumer"
    FAILED_AT = "dlq_failed_at"
    #: With reason ``unexpected_source``: the owner's ``ce_source`` and the one the record had.
    EXPECTED_SOURCE = "dlq_expected_source"
    ACTUAL_SOURCE = "dlq_actual_source"

    ALL = (
        REASON,
        DETAIL,
        ATTEMPTS,
        TOPIC,
        PARTITION,
        OFFSET,
        CONSUMER,
        FAILED_AT,
        EXPECTED_SOURCE,
        ACTUAL_SOURCE,
    )


class EventConsumer:
    """All of one service's event handlers behind one consumer group."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        handlers: Mapping[type[Event], Handler],
        max_attempts: int = 5,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        topic_prefix: str = "",
        uow_class: type[UnitOfWork] = UnitOfWork,
    ) -> None:
        self.service = service
        self._uow_class = uow_class
        self.prefix = topic_prefix
        self.group_id = f"{topic_prefix}sharaka-{service}"
        self.dead_letter_topic = topic_prefix + dead_letter_topic(service)
        self._pool = pool
        self._producer = producer
        self._handlers = dict(handlers)
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self.subscriber: Any = None

    @property
    def topics(self) -> list[str]:
        # Tombstones arrive on the topics of the contracts they forget; they add no topic.
        return sorted({self.prefix + model.topic for model in self._handlers if model is not Tombstone})

    def decode(self, record: ConsumerRecord[bytes, bytes]) -> Received:
        """The record as a typed event from its owning service. A null value (a tombstone on a
        compacted topic) becomes a :class:`Tombstone` with an id fixed by its position, so the
        inbox applies it once."""
        topic = record.topic.removeprefix(self.prefix)
        if record.value is None:
            source = headers_dict(record.headers or ()).get("ce_source")
            check_sender(None, source, topic)
            key = (record.key or b"").decode("utf-8", errors="replace")
            return Received(
                id=uuid5(_TOMBSTONE_IDS, f"{topic}/{record.partition}/{record.offset}"),
                type=TOMBSTONE_TYPE,
                source=topic,
                subject=key,
                time=None,
                event=Tombstone(source_topic=topic, record_key=key),
                headers={},
            )
        received = decode(record.headers or (), record.value)
        check_sender(received.type, received.source, topic)
        return received

    def backoff(self, attempt: int) -> float:
        return float(min(self._backoff_initial * 2 ** (attempt - 1), self._backoff_max))

    def attach(self, broker: KafkaBroker, *, max_records: int = 200, batch_timeout_ms: int = 20) -> None:
        subscriber = broker.subscriber(
            *self.topics,
            batch=True,
            group_id=self.group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            max_records=max_records,
            batch_timeout_ms=batch_timeout_ms,
            # Retries of one record are bounded well below this, so a slow record never
            # triggers a rebalance loop.
            max_poll_interval_ms=300_000,
            # We decode ourselves: FastStream must not reject non-JSON before we can dead-letter it.
            decoder=_raw_decoder,
            title=f"{self.service} events",
        )
        subscriber(self.on_batch)
        _poll_without_idle_sleep(subscriber)
        self.subscriber = subscriber

    async def on_batch(self, body: Any, msg: KafkaMessage) -> None:
        records: tuple[ConsumerRecord[bytes, bytes], ...] = (
            msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        )
        try:
            for record in await self.apply_batch(records):
                await self.process(record)
        except TRANSIENT_ERRORS as exc:
            log.warning("infrastructure error; batch will be read again", error=repr(exc))
            await asyncio.sleep(self._backoff_max)
            await msg.nack()
            return
        except asyncio.CancelledError:
            await msg.nack()
            raise
        fault_point("consumer.after_commit")
        await msg.ack()

    def _span(self, record: ConsumerRecord[bytes, bytes], headers: dict[str, str]) -> Any:
        """The CONSUMER span of one record, child of the producer's span (its ``traceparent``).

        Attributes per the OpenTelemetry messaging semantic conventions as of 1.27+
        (``messaging.operation.type``, ``messaging.consumer.group.name``,
        ``messaging.kafka.offset``, which replaced ``messaging.kafka.message.offset``)."""
        return tracer.start_as_current_span(
            f"process {record.topic}",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes=self._span_attributes(record),
        )

    def _span_attributes(self, record: ConsumerRecord[bytes, bytes]) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group_id,
        }
        if record.key is not None:
            attributes["messaging.kafka.message.key"] = record.key.decode("utf-8", errors="replace")
        return attributes

    async def apply_batch(
        self, records: tuple[ConsumerRecord[bytes, bytes], ...]
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """The fast path; returns the records left for the careful path (none, usually).

        Most batches are all good events. Each partition's share of the batch is applied in one
        transaction with one inbox statement, and the partitions run side by side on their own
        connections: order only matters within a partition (a plan's events share one), and
        one commit per partition-batch instead of one per event is what makes the consumer
        fast. If anything is unusual in a partition's share (a poison record, a handler that
        raises), its transaction rolls back whole and its records take the careful path, one
        by one, with retries and dead-lettering.
        """
        by_partition: dict[tuple[str, int], list[ConsumerRecord[bytes, bytes]]] = {}
        for record in records:
            by_partition.setdefault((record.topic, record.partition), []).append(record)
        results = await asyncio.gather(
            *(self._apply_partition(part) for part in by_partition.values()), return_exceptions=True
        )
        left: list[ConsumerRecord[bytes, bytes]] = []
        for part, result in zip(by_partition.values(), results, strict=True):
            if isinstance(result, TRANSIENT_ERRORS):
                raise result
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                log.info("batch fell back to one record at a time", error=type(result).__name__)
                left.extend(part)
        return left

    async def _apply_partition(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        work: list[tuple[ConsumerRecord[bytes, bytes], Received, Handler | None]] = []
        for record in records:
            received = self.decode(record)  # PoisonMessage → careful path
            work.append((record, received, self._handlers.get(type(received.event))))
        started = time.perf_counter()
        outcomes: list[tuple[str, str]] = []
        async with unit_of_work(self._pool, self.service, self._uow_class) as uow:
            wanted = [(r, rc) for r, rc, h in work if h is not None]
            fresh = await uow.claim_many(
                self.group_id,
                [(rc.id, rc.type, r.topic, r.partition, r.offset) for r, rc in wanted],
            )
            i = 0
            while i < len(work):
                record, received, handler = work[i]
                i += 1
                if handler is None:
                    outcomes.append((received.type, "ignored"))
                    continue
                if received.id not in fresh:
                    outcomes.append((received.type, "duplicate"))
                    continue
                fresh.discard(received.id)  # the same event twice in one batch
                if isinstance(handler, Dispatch) and handler.batched:
                    # The run of fresh events of this type that follows, applied together.
                    run = [(record, received)]
                    while i < len(work) and work[i][2] is handler and work[i][1].id in fresh:
                        fresh.discard(work[i][1].id)
                        run.append((work[i][0], work[i][1]))
                        i += 1
                    await self._apply_run(uow, handler, run)
                    outcomes.extend((rc.type, "applied") for _, rc in run)
                    continue
                with self._span(record, received.headers) as span:
                    span.set_attribute("messaging.message.id", str(received.id))
                    span.set_attribute("cloudevents.event_type", received.type)
                    await handler(uow, received)
                outcomes.append((received.type, "applied"))
        per_event = (time.perf_counter() - started) / max(1, len(outcomes))
        for event_type, outcome in outcomes:
            metrics.EVENTS_CONSUMED.labels(metric_type(event_type), outcome).inc()
            if outcome == "applied":
                metrics.EVENT_PROCESSING.observe(per_event)

    async def _apply_run(
        self,
        uow: UnitOfWork,
        handler: Dispatch[Any],
        run: list[tuple[ConsumerRecord[bytes, bytes], Received]],
    ) -> None:
        """A batch reaction over ``run``. Each event it publishes continues its cause's trace:
        through the CONSUMER span of that record when spans are exported, otherwise straight
        from the record's own ``traceparent`` (no span would be recorded anyway)."""
        spans: list[trace.Span] = []
        exporting = telemetry.exporting()
        for record, received in run:
            if exporting:
                span = tracer.start_span(
                    f"process {record.topic}",
                    context=propagate.extract(received.headers),
                    kind=SpanKind.CONSUMER,
                    attributes={
                        **self._span_attributes(record),
                        "messaging.message.id": str(received.id),
                        "cloudevents.event_type": received.type,
                        "messaging.batch.message_count": len(run),
                    },
                )
                spans.append(span)
                carrier: dict[str, str] = {}
                propagate.inject(carrier, context=trace.set_span_in_context(span))
            else:
                carrier = {k: v for k, v in received.headers.items() if k in TRACE_HEADERS}
            uow.causes[received.id] = carrier
        try:
            await handler.many(uow, [received for _, received in run])
        except BaseException as exc:
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            for span in spans:
                span.end()
            uow.causes.clear()

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        headers = headers_dict(record.headers or ())
        with self._span(record, headers) as span:
            try:
                received = self.decode(record)
            except PoisonMessage as poison:
                span.set_status(Status(StatusCode.ERROR, poison.reason.value))
                await self.dead_letter(
                    record, poison.reason.value, poison.detail, attempts=1, extra=poison.headers
                )
                metrics.EVENTS_CONSUMED.labels(metric_type(headers.get("ce_type")), "dead_lettered").inc()
                return
            span.set_attribute("messaging.message.id", str(received.id))
            span.set_attribute("cloudevents.event_type", received.type)
            handler = self._handlers.get(type(received.event))
            if handler is None:  # a known contract this service does not care about
                metrics.EVENTS_CONSUMED.labels(metric_type(received.type), "ignored").inc()
                return
            await self._apply_with_retries(record, received, handler, span)

    async def _apply_with_retries(
        self,
        record: ConsumerRecord[bytes, bytes],
        received: Received,
        handler: Handler,
        span: trace.Span,
    ) -> None:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                async with unit_of_work(self._pool, self.service, self._uow_class) as uow:
                    fresh = await uow.claim(
                        self.group_id,
                        received.id,
                        received.type,
                        record.topic,
                        record.partition,
                        record.offset,
                    )
                    if fresh:
                        await handler(uow, received)
                metrics.EVENT_PROCESSING.observe(time.perf_counter() - started)
                metrics.EVENTS_CONSUMED.labels(
                    metric_type(received.type), "applied" if fresh else "duplicate"
                ).inc()
                return
            except TRANSIENT_ERRORS:
                raise
            except Exception as exc:
                if attempt >= self._max_attempts:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, "handler failed"))
                    await self.dead_letter(
                        record, "handler_failed", scrub(f"{type(exc).__name__}: {exc}"), attempts=attempt
                    )
                    metrics.EVENTS_CONSUMED.labels(metric_type(received.type), "dead_lettered").inc()
                    return
                metrics.CONSUMER_RETRIES.inc()
                delay = self.backoff(attempt)
                log.warning(
                    "handler failed; retrying",
                    event_id=str(received.id),
                    event_type=received.type,
                    attempt=attempt,
                    retry_in_s=delay,
                    error=type(exc).__name__,
                )
                await asyncio.sleep(delay)

    async def dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        reason: str,
        detail: str,
        *,
        attempts: int,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        """Park the original bytes with why, where from and how often it was tried (and
        ``extra`` facts of the reason, e.g. the expected and actual source)."""
        added = {
            **(extra or {}),
            DeadLetterHeaders.REASON: reason,
            DeadLetterHeaders.DETAIL: detail[:2000],
            DeadLetterHeaders.ATTEMPTS: str(attempts),
            DeadLetterHeaders.TOPIC: record.topic,
            DeadLetterHeaders.PARTITION: str(record.partition),
            DeadLetterHeaders.OFFSET: str(record.offset),
            DeadLetterHeaders.CONSUMER: self.group_id,
            DeadLetterHeaders.FAILED_AT: datetime.now(UTC).isoformat(),
        }
        original = [(k, v) for k, v in (record.headers or ()) if k not in added]
        await self._producer.send_and_wait(
            self.dead_letter_topic,
            value=record.value,
            key=record.key,
            headers=[*original, *((k, v.encode()) for k, v in added.items())],
        )
        log.error(
            "message dead-lettered",
            reason=reason,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            attempts=attempts,
            dead_letter_topic=self.dead_letter_topic,
        )

    async def update_lag_metrics(self) -> None:
        consumer = getattr(self.subscriber, "consumer", None)
        if consumer is None:
            return
        assignment = list(consumer.assignment())
        if not assignment:
            return
        ends = await consumer.end_offsets(assignment)
        for tp in assignment:
            committed = await consumer.committed(tp)
            lag = max(0, ends[tp] - (committed or 0))
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)


async def _raw_decoder(msg: Any) -> Any:
    return None


def _poll_without_idle_sleep(subscriber: Any) -> None:
    """Replace the batch subscriber's poll with one that returns as soon as records arrive.

    FastStream's batch poll waits ``batch_timeout_ms`` for records and, when none came, *sleeps*
    as long again before the next poll: a record that lands during that sleep waits for it to
    end, which added up to 20 ms to every hop at low rates (half the p50 of plans → IRM). aiokafka's
    ``getmany`` already returns as soon as a fetch brings records, so the wait alone is enough:
    idle, the loop wakes once per ``batch_timeout_ms``; busy, batches form from what the fetcher
    has buffered."""
    timeout_ms, max_records = subscriber.batch_timeout_ms, subscriber.max_records

    async def get_msg(consumer: Any) -> tuple[ConsumerRecord[bytes, bytes], ...]:
        batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return tuple(chain.from_iterable(batches.values()))

    subscriber.get_msg = get_msg
