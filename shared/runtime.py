"""One service process: HTTP API, Kafka consumers and outbox relay, started and stopped in the
right order.

Start: logging/telemetry → Postgres pool → migrations → topics → producer → relay → consumers →
HTTP. Stop (SIGTERM/SIGINT): HTTP stops taking requests → consumers finish and commit their
in-flight batch → relay publishes what is committed → producer flushes → pool closes. The whole
sequence shares one deadline, ``GRACEFUL_TIMEOUT_S`` from the moment shutdown begins
(:class:`ShutdownBudget`): each step gets what the steps before it left, a step that runs out is
cut short and logged, and the pool is terminated rather than closed when nothing is left, so the
process exits inside Kubernetes' termination grace period (set it a few seconds above).

Readiness (``/readyz``) needs Postgres and applied migrations, not Kafka: while Kafka is down the
outbox takes the writes and the relay publishes them once it is back, so the API stays in
service. Kafka's state is reported in the body, as the ``sharaka_kafka_reachable`` gauge and as
one warning per transition. Start-up still needs Kafka (topics, producer, consumer group): a pod
that starts during an outage waits for it (with back-off, not ready meanwhile) instead of exiting;
a running one stays ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
import uvloop
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker

from shared import metrics
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
from shared.telemetry import configure_telemetry, flush_telemetry
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
    #: Exact paths whose request bodies have a limit of their own (from the settings) instead of
    #: ``http_max_body_bytes``; their routes read the body as a stream and count it.
    body_limits: Callable[[ServiceSettings], Mapping[str, int]] | None = None
    version: str = "0.1.0"


class ShutdownBudget:
    """One deadline for the whole shutdown: every step is given what is left of it.

    Steps run in order; a step that does not finish in time is cancelled and logged as cut short,
    and a step reached with nothing left is skipped (and logged), so the sum of all the steps
    never exceeds the budget, whatever each of them would wait on its own.
    """

    def __init__(self, total_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total_s = total_s
        self._clock = clock
        self._deadline = clock() + total_s
        #: Names of the steps that were cut short or skipped, in order.
        self.cut_short: list[str] = []

    def left(self) -> float:
        return max(0.0, self._deadline - self._clock())

    async def step(self, name: str, work: Awaitable[Any], *, cap_s: float | None = None) -> bool:
        """Await ``work`` within what is left (and at most ``cap_s``); True when it finished.

        Errors of a step are logged and swallowed: shutdown goes on with the next step.
        """
        allowed = self.left() if cap_s is None else min(cap_s, self.left())
        if allowed <= 0:
            _discard(work)
            self.cut_short.append(name)
            log.warning("shutdown step skipped: budget spent", step=name, budget_s=self.total_s)
            return False
        try:
            await asyncio.wait_for(work, timeout=allowed)
            return True
        except TimeoutError:
            self.cut_short.append(name)
            log.warning(
                "shutdown step cut short", step=name, allowed_s=round(allowed, 3), budget_s=self.total_s
            )
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # shutdown itself is being cancelled, not just this step's work
            log.info("shutdown step cancelled", step=name)
        except Exception as exc:
            log.warning("shutdown step failed", step=name, error=repr(exc))
        return False


def _discard(work: Awaitable[Any]) -> None:
    """Drop a step that will not run: cancel a task, close a coroutine never started."""
    if isinstance(work, asyncio.Future):
        work.cancel()
    elif asyncio.iscoroutine(work):
        work.close()


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
    #: Kafka's last observed state (None until first checked); only transitions are logged.
    _kafka_reachable: bool | None = field(init=False, default=None)

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
        self.producer = await self._connect_kafka(_dedupe(prefixed))
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

    async def _connect_kafka(self, topics: list[TopicSpec]) -> AIOKafkaProducer:
        """The started producer, once Kafka answers (topics created first where that is ours to do).

        A pod may start during a Kafka outage (a node drained with the brokers, a cluster
        restart): exiting would put it in a crash loop whose back-off outlasts the outage, so it
        waits here instead, with back-off, and the startup probe's window bounds the wait."""
        s = self.settings
        delay = 0.5
        while True:
            producer = make_producer(s.kafka_bootstrap, f"sharaka-{self.name}", s)
            try:
                if s.kafka_create_topics:
                    await ensure_topics(s.kafka_bootstrap, topics, s)
                await producer.start()
                return producer
            except KafkaError as exc:
                with contextlib.suppress(Exception):
                    await producer.stop()
                metrics.KAFKA_REACHABLE.set(0)
                log.warning(
                    "kafka not reachable at start-up; waiting",
                    bootstrap=s.kafka_bootstrap,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

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

    async def stop(self, budget: ShutdownBudget | None = None) -> None:
        """Stop everything within ``budget`` (by default ``graceful_timeout_s`` from now)."""
        budget = budget or ShutdownBudget(self.settings.graceful_timeout_s)
        self.stopping.set()
        if self._metrics_task is not None:
            # Nothing to finish there, and a lag query may wait on a group coordinator that is
            # going away: waiting for it held every shutdown for the whole graceful timeout.
            self._metrics_task.cancel()
            await budget.step("metrics", _settled(self._metrics_task))
        if self._broker_started:
            # FastStream waits up to graceful_timeout for the batch in hand, which acks (commits)
            # its offsets before the consumer leaves the group.
            await budget.step("consumers", self.broker.stop())
        # Background loops watch `stopping` and finish their batch.
        if self._tasks and not await budget.step("background", _all_settled(self._tasks)):
            for task in self._tasks:
                task.cancel()  # out of time: the batch in hand is rolled back, not lost
        # The relay stops last among the writers: it publishes what the others just committed.
        await self.relay.stop()
        await budget.step("relay", self._relay_task)
        await budget.step("producer", self.producer.stop())  # flushes whatever is still buffered
        await budget.step("telemetry", flush_telemetry(budget.left()))
        if not await budget.step("pool", self.pool.close()):
            self.pool.terminate()
        log.info(
            "service stopped",
            cut_short=budget.cut_short,
            took_s=round(budget.total_s - budget.left(), 3),
        )

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}-{name}")
        self._tasks.append(task)

    async def _metrics_loop(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(Exception):
                await self.check_kafka()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._update_metrics(), timeout=5)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=5)

    async def _update_metrics(self) -> None:
        await update_backlog_metrics(self.pool)
        if self.consumer is not None:
            await self.consumer.update_lag_metrics()

    async def check_kafka(self) -> bool:
        """Whether a broker answers a metadata request; sets the gauge, logs transitions."""
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=2)
            reachable = True
        except Exception:
            reachable = False
        metrics.KAFKA_REACHABLE.set(1 if reachable else 0)
        if reachable != self._kafka_reachable:
            if not reachable:
                log.warning(
                    "kafka unreachable; writes go to the outbox", bootstrap=self.settings.kafka_bootstrap
                )
            elif self._kafka_reachable is not None:
                log.warning("kafka reachable again")
            self._kafka_reachable = reachable
        return reachable

    async def readiness(self) -> dict[str, bool]:
        """Every check; only :data:`READINESS_REQUIRED` ones decide readiness."""
        checks = {"postgres": False, "migrations": False, "kafka": False}
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pool.fetchval("SELECT 1"), timeout=2)
            checks["postgres"] = True
            checks["migrations"] = self._migrated and not await pending_migrations(
                self.pool, self.migrations()
            )
        checks["kafka"] = await self.check_kafka()
        return checks

    def build_app(self) -> FastAPI:
        from shared.auth import Authenticator

        app = create_app(
            service=self.name,
            title=self.spec.title,
            description=self.spec.description,
            version=self.spec.version,
            readiness=self.readiness,
            required=READINESS_REQUIRED,
            max_body_bytes=self.settings.http_max_body_bytes,
            body_limits=self.spec.body_limits(self.settings) if self.spec.body_limits else None,
        )
        app.state.runtime = self
        app.state.authenticator = Authenticator(self.settings)
        for router in self.spec.routers:
            app.include_router(router)
        self.app = app
        return app


#: The checks /readyz requires; Kafka is reported but not required (the outbox takes the writes).
READINESS_REQUIRED = ("postgres", "migrations")


async def _settled(task: asyncio.Future[Any]) -> None:
    """Wait for a task to end, whatever its outcome (a cancelled one included)."""
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _all_settled(tasks: Sequence[asyncio.Future[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


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
        server_header=False,  # nothing to tell a scanner which server and version answer
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
    budget = ShutdownBudget(settings.graceful_timeout_s)
    server.should_exit = True  # stop taking requests, let in-flight ones finish
    await budget.step("http", _settled(server_task))
    stop_wait.cancel()
    await runtime.stop(budget)


def run(spec: ServiceSpec, settings: ServiceSettings) -> None:
    """uvloop: a faster event loop for the HTTP server, the consumers and the relay alike."""
    uvloop.run(serve(spec, settings))


__all__ = ["Authenticator", "Runtime", "ServiceSpec", "ShutdownBudget", "run", "runtime_of", "serve"]
