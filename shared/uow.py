"""The unit of work: one Postgres transaction that holds a state change, the events it produced
(outbox) and, for a consumer, the record that the triggering event was handled (inbox).

Because all three commit or roll back together, an event is never published for a change that did
not happen, and an event is never applied twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from uuid import UUID, uuid4

import asyncpg
from opentelemetry import propagate

from shared.events.base import Event
from shared.events.envelope import Envelope, Received, source_uri


class EventSink(Protocol):
    """What a use case needs of a unit of work besides its repositories: a place to hand the
    events its change caused. Every service's unit-of-work interface extends this."""

    def publish(self, event: Event, *, time: datetime | None = None, cause: Received | None = None) -> object:
        """``cause``: the consumed event this one follows from, when a batch reaction applies
        several at once (its trace continues from that event, not from the batch)."""
        ...


@dataclass(slots=True)
class _Pending:
    envelope: Envelope
    trace: dict[str, str]

    def row(self) -> tuple[object, ...]:
        """The outbox row's values, in :data:`OUTBOX_COLUMNS` order."""
        e = self.envelope
        return (e.id, e.topic, e.subject, e.type, e.source, e.time, e.data.decode(),
                self.trace.get("traceparent"), self.trace.get("tracestate"))  # fmt: skip


#: The outbox's ``event_type`` of a tombstone row (its payload is NULL; Kafka gets a null value).
TOMBSTONE_TYPE = "tombstone"


@dataclass(frozen=True, slots=True)
class _PendingTombstone:
    topic: str
    key: str
    service: str

    def row(self) -> tuple[object, ...]:
        return (uuid4(), self.topic, self.key, TOMBSTONE_TYPE, source_uri(self.service),
                datetime.now(UTC), None, None, None)  # fmt: skip


#: The columns an event's outbox row fills, in the order of :func:`outbox_row`.
OUTBOX_COLUMNS = "event_id, topic, key, event_type, source, event_time, payload, traceparent, tracestate"


def _pending(
    event: Event, service: str, time: datetime | None = None, carrier: dict[str, str] | None = None
) -> _Pending:
    if carrier is None:
        carrier = {}
        propagate.inject(carrier)  # the request's (or consumed event's) trace continues on Kafka
    return _Pending(Envelope.wrap(event, service=service, time=time), carrier)


def outbox_row(event: Event, service: str) -> tuple[object, ...]:
    """An event's outbox values (:data:`OUTBOX_COLUMNS`), for a hot path that writes the row in
    the same statement as the change itself instead of through :meth:`UnitOfWork.publish`."""
    return _pending(event, service).row()


@dataclass
class UnitOfWork:
    """The Postgres side of one transaction. A service subclasses it to add its repositories
    (``uow.plans``, ``uow.reviews``…) built on ``conn`` in ``__post_init__``; use cases see only
    the service's unit-of-work *interface* (a Protocol in its ``store.py``), so unit tests run
    them against in-memory repositories instead."""

    conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record] | asyncpg.Connection
    service: str
    _pending: list[_Pending | _PendingTombstone] = field(default_factory=list)
    #: The trace context of each consumed event a batch reaction is applying, by event id (set
    #: by the consumer): what an event published with ``cause=`` carries.
    causes: dict[UUID, dict[str, str]] = field(default_factory=dict)

    def publish(
        self, event: Event, *, time: datetime | None = None, cause: Received | None = None
    ) -> Envelope:
        """Queue an event; it reaches the outbox when the transaction commits, and Kafka after."""
        carrier = self.causes.get(cause.id) if cause is not None else None
        pending = _pending(event, self.service, time, carrier)
        self._pending.append(pending)
        return pending.envelope

    def forget(self, topic: str, key: str) -> None:
        """Queue a tombstone for ``key`` on a compacted topic: once compacted, Kafka keeps nothing
        that was published under that key (how personal data leaves a private topic)."""
        self._pending.append(_PendingTombstone(topic, key, self.service))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: when it fails, its changes *and the events it queued* are undone,
        and the outer unit of work may go on (e.g. one bad item in a batch)."""
        mark = len(self._pending)
        try:
            async with self.conn.transaction():
                yield
        except BaseException:
            del self._pending[mark:]
            raise

    async def claim(
        self,
        consumer: str,
        event_id: UUID,
        event_type: str,
        topic: str,
        partition: int,
        offset: int,
    ) -> bool:
        """Record that ``consumer`` handles ``event_id``; False for a duplicate."""
        status = await self.conn.execute(
            """INSERT INTO inbox
                   (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
            consumer,
            event_id,
            event_type,
            topic,
            partition,
            offset,
        )
        return bool(status == "INSERT 0 1")

    async def claim_many(self, consumer: str, events: list[tuple[UUID, str, str, int, int]]) -> set[UUID]:
        """:meth:`claim` for a batch in one statement: the ids not handled before."""
        if not events:
            return set()
        rows = await self.conn.fetch(
            """INSERT INTO inbox
                   (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
               SELECT $1, e.id, e.type, e.topic, e.part, e.off
               FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[])
                    AS e(id, type, topic, part, off)
               ON CONFLICT DO NOTHING
               RETURNING event_id""",
            consumer,
            [e[0] for e in events],
            [e[1] for e in events],
            [e[2] for e in events],
            [e[3] for e in events],
            [e[4] for e in events],
        )
        return {r["event_id"] for r in rows}

    async def flush(self) -> None:
        if not self._pending:
            return
        await self.conn.executemany(
            f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",  # noqa: S608
            [p.row() for p in self._pending],
        )
        self._pending.clear()


U = TypeVar("U", bound=UnitOfWork)


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, service: str, cls: type[U] = UnitOfWork) -> AsyncIterator[U]:  # type: ignore[assignment]
    """One transaction: commit the change and its outbox rows together, or neither."""
    async with pool.acquire() as conn, conn.transaction():
        uow = cls(conn, service)
        yield uow
        await uow.flush()
