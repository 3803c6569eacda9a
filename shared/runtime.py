"""One service process: HTTP API, Kafka consumers and outbox relay, started and stopped in the
right order.

Start: logging/telemetry → Postgres pool → migrations → topics → producer → relay → consumers →
HTTP. Stop (SIGTERM/SIGINT): HTTP stops taking requests → consumers finish and commit their
in-flight batch → relay publishes what is committed → producer flushes → pool closes. Each step
is bounded so the process always exits inside Kubernetes' termination grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
import uvloop
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker

from shared.auth import Authenticator
from shared.consumer import EventConsumer
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate, pending_migrations
from shared.events.base import Event
from shared.events.topics import dead_letter_topic
from shared.http import create_app
from shared.kafka import TopicSpec, ensure_topics, make_broker, make_producer
from shared.logging import configure_logging, get_logger
from shared.outbox import OutboxRelay, update_backlog_metrics
from shared.reactions import Handler, Reactions
from shared.settings import ServiceSettings
from shared.telemetry import configure_telemetry
from shared.uow import UnitOfWork, unit_of_work

log = get_logger(__name__)

BackgroundTask = Callable[["Runtime"], Awaitable[None]]
#: The service's reactions to other services' events, built once the runtime (settings) exists.
ReactionsFactory = Callable[["Runtime"], "Reactions[Any] | Mapping[type[Event], Handler]"]


@dataclass
class ServiceSpec:
    """What makes a service itself; everything else is the same for all of them."""

    name: str
    title: str
    description: str
    migrations: Path
    routers: Sequence[APIRouter] = ()
    reactions: ReactionsFactory | None = None
    #: The service's unit of work (its repositories on one transaction); use cases, reactions and
    #: timers all get one of these.
    uow: type[UnitOfWork] = UnitOfWork
    #: Topics this service publishes to (created when missing).
    produces: Sequence[TopicSpec] = ()
    #: Long-running loops of the service (e.g. delivery workers); they get the runtime and must
    #: return when ``runtime.stopping`` is set.
    background: Sequence[BackgroundTask] = ()
    version: str = "0.1.0"


@dataclass
class Runtime:
    spec: ServiceSpec
    settings: ServiceSettings
    pool: asyncpg.Pool = field(init=False)
    producer: AIOKafkaProducer = field(init=False)
    broker: KafkaBroker = field(init=False)
    relay: OutboxRelay = field(init=False)
    consumer: EventConsumer | None = field(init=False, default=None)
    app: FastAPI = field(init=False)
    stopping: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(init=False, default_factory=list)
    _relay_task: asyncio.Future[None] = field(init=False)
    _metrics_task: asyncio.Future[None] | None = field(init=False, default=None)
    _migrated: bool = field(init=False, default=False)
    _broker_started: bool = field(init=False, default=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def migrations(self) -> list[Any]:
        return load_migrations(("shared", SHARED_MIGRATIONS), (self.name, self.spec.migrations))

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        configure_logging(self.name, s.log_level)
        configure_telemetry(self.name)
        self.pool = await create_pool(s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max)
        await migrate(self.pool, self.migrations())
        self._migrated = True

        handlers = self._handlers()
        consumed = sorted({m.topic for m in handlers})
        topics = [
            *self.spec.produces,
            *(TopicSpec(t, s.kafka_default_partitions) for t in consumed),
        ]
        if handlers:
            topics.append(TopicSpec(dead_letter_topic(self.name), s.kafka_default_partitions))
        prefixed = [TopicSpec(s.kafka_topic_prefix + t.name, t.partitions, t.compacted) for t in topics]
        if s.kafka_create_topics:
            await ensure_topics(s.kafka_bootstrap, _dedupe(prefixed), s)

        self.producer = make_producer(s.kafka_bootstrap, f"sharaka-{self.name}", s)
        await self.producer.start()
        self.relay = OutboxRelay(
            dsn=s.database_url,
            pool=self.pool,
            producer=self.producer,
            batch_size=s.relay_batch_size,
            poll_interval_s=s.relay_poll_interval_s,
            retention_days=s.relay_retention_days,
            topic_prefix=s.kafka_topic_prefix,
            coalesce_s=s.relay_coalesce_s,
            drain_timeout_s=min(10.0, s.graceful_timeout_s),
        )
        self._relay_task = asyncio.ensure_future(self.relay.run())

        self.broker = make_broker(s.kafka_bootstrap, f"sharaka-{self.name}", s.graceful_timeout_s, s)
        if handlers:
            self.consumer = EventConsumer(
                service=self.name,
                pool=self.pool,
                producer=self.producer,
                handlers=handlers,
                max_attempts=s.consumer_max_attempts,
                backoff_initial_s=s.consumer_backoff_initial_s,
                backoff_max_s=s.consumer_backoff_max_s,
                topic_prefix=s.kafka_topic_prefix,
                uow_class=self.spec.uow,
            )
            self.consumer.attach(
                self.broker,
                max_records=s.consumer_batch_max_records,
                batch_timeout_ms=s.consumer_batch_timeout_ms,
            )
            await self.broker.start()
            self._broker_started = True
        for task in self.spec.background:
            self._spawn(task(self), getattr(task, "__name__", "background"))
        self._metrics_task = asyncio.ensure_future(self._metrics_loop())
        log.info("service started", topics_consumed=consumed)

    def _handlers(self) -> dict[type[Event], Handler]:
        if self.spec.reactions is None:
            return {}
        made = self.spec.reactions(self)
        return dict(made.handlers if isinstance(made, Reactions) else made)

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[Any]:
        """A unit of work of this service's kind (``spec.uow``), committed on a clean exit."""
        async with unit_of_work(self.pool, self.name, self.spec.uow) as uow:
            yield uow

    async def stop(self) -> None:
        self.stopping.set()
        if self._metrics_task is not None:
            # Nothing to finish there, and a lag query may wait on a group coordinator that is
            # going away: waiting for it held every shutdown for the whole graceful timeout.
            self._metrics_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._metrics_task
        if self._broker_started:
            # FastStream waits up to graceful_timeout for the batch in hand, which acks (commits)
            # its offsets before the consumer leaves the group.
            with contextlib.suppress(Exception):
                await self.broker.stop()
        for task in self._tasks:  # background loops watch `stopping` and finish their batch
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=self.settings.graceful_timeout_s)
        # The relay stops last among the writers: it publishes what the others just committed.
        await self.relay.stop()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._relay_task, timeout=self.settings.graceful_timeout_s)
        with contextlib.suppress(Exception):
            await self.producer.stop()  # flushes whatever is still buffered
        await self.pool.close()
        log.info("service stopped")

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}-{name}")
        self._tasks.append(task)

    async def _metrics_loop(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._update_metrics(), timeout=5)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=5)

    async def _update_metrics(self) -> None:
        await update_backlog_metrics(self.pool)
        if self.consumer is not None:
            await self.consumer.update_lag_metrics()

    async def readiness(self) -> dict[str, bool]:
        checks = {"postgres": False, "migrations": False, "kafka": False}
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), timeout=2)
            checks["postgres"] = True
            checks["migrations"] = self._migrated and not await pending_migrations(
                self.pool, self.migrations()
            )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=2)
            checks["kafka"] = True
        return checks

    def build_app(self) -> FastAPI:
        from shared.auth import Authenticator

        app = create_app(
            service=self.name,
            title=self.spec.title,
            description=self.spec.description,
            version=self.spec.version,
            readiness=self.readiness,
            max_body_bytes=self.settings.http_max_body_bytes,
        )
        app.state.runtime = self
        app.state.authenticator = Authenticator(self.settings)
        for router in self.spec.routers:
            app.include_router(router)
        self.app = app
        return app


async def runtime_of(request: Request) -> Runtime:
    """FastAPI dependency: the running service (its pool, settings...). A coroutine because
    FastAPI runs a plain ``def`` dependency in its thread pool: a thread hop per request for an
    attribute lookup."""
    rt: Runtime = request.app.state.runtime
    return rt


def _dedupe(specs: Sequence[TopicSpec]) -> list[TopicSpec]:
    seen: dict[str, TopicSpec] = {}
    for s in specs:
        seen.setdefault(s.name, s)
    return list(seen.values())


async def serve(spec: ServiceSpec, settings: ServiceSettings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    runtime = Runtime(spec, settings)
    app = runtime.build_app()
    await runtime.start()
    # Everything allocated so far lives as long as the process: moving it out of the collector's
    # reach turns ~70 ms full collections (seen as p99 spikes on every endpoint) into short ones.
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
        lifespan="off",
    )
    server = uvicorn.Server(config)
    # The process owns SIGTERM/SIGINT (below): uvicorn must neither take them nor re-raise them.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server_task = asyncio.create_task(server.serve())
    log.info("http listening", host=settings.http_host, port=settings.http_port)
    stop_wait = asyncio.create_task(stop.wait())
    await asyncio.wait({server_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    server.should_exit = True  # stop taking requests, let in-flight ones finish
    with contextlib.suppress(Exception):
        await server_task
    stop_wait.cancel()
    await runtime.stop()


def run(spec: ServiceSpec, settings: ServiceSettings) -> None:
    """uvloop: a faster event loop for the HTTP server, the consumers and the relay alike."""
    uvloop.run(serve(spec, settings))


__all__ = ["Authenticator", "Runtime", "ServiceSpec", "run", "runtime_of", "serve"]
