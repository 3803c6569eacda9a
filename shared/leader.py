"""One active runner among replicas, elected with a Postgres advisory lock.

The outbox relay and the periodic jobs (the OGP timers, rounds that open and close at set times)
must not run in every replica at once: two relays would interleave a plan's events, and two timer
runners would only waste work and make noise in the logs. This is the platform's one leader loop;
every such job runs under it with its key from :mod:`shared.locks`.

The lock is held on a dedicated connection; when that session ends, the lock goes with it, so a
leader whose connection drops stops acting at once and a standby takes over within
``lock_retry_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
from prometheus_client import Counter, Gauge

from shared.logging import get_logger
from shared.telemetry import tracer

log = get_logger(__name__)

LEADER = Gauge("sharaka_leader", "1 when this process is the active runner of a periodic job", ["job"])
#: Lets an operator see a job is alive between findings, and a test wait for whole passes
#: instead of sleeping and hoping some ran.
PASSES = Counter("sharaka_leader_passes_total", "Passes of a periodic job finished by this process", ["job"])

#: One pass of the job; it asks ``should_continue()`` between batches and returns counts to log.
Pass = Callable[[Callable[[], bool]], Awaitable[dict[str, int]]]


class LeaderRunner:
    """Runs ``work`` every ``interval_s`` while it holds the advisory lock ``lock_key``.

    ``next_wait()`` may shorten the sleep between passes (a round due to open in 3 s should not
    wait for a 60 s interval); a NOTIFY on the ``listen`` channel, or ``wake()``, starts the next
    pass now (e.g. after a write that made something due sooner), after ``settle_s`` so that a
    burst of writes is handled in one pass rather than one pass each.

    ``final_pass`` runs once at stop while the lock is still held (the relay publishes what is
    committed before a rolling restart hands over). ``verify_every_s`` bounds how often the lock's
    session is proven alive with a round trip (0: before every pass); a lost session is noticed at
    once anyway by the connection's termination listener.
    """

    #: Shortest pause between two passes, whatever ``next_wait`` says.
    MIN_WAIT_S = 0.2

    def __init__(
        self,
        *,
        job: str,
        dsn: str,
        lock_key: int,
        work: Pass,
        interval_s: float,
        lock_retry_s: float,
        stopping: asyncio.Event | None = None,
        next_wait: Callable[[], Awaitable[float | None]] | None = None,
        listen: str | None = None,
        settle_s: float = 0.0,
        final_pass: Callable[[], Awaitable[None]] | None = None,
        verify_every_s: float = 0.0,
        on_leadership: Callable[[bool], None] | None = None,
        log_passes: bool = True,
        trace_passes: bool = True,
    ) -> None:
        self._job = job
        self._dsn = dsn
        self._lock_key = lock_key
        self._work = work
        self._interval_s = interval_s
        self._lock_retry_s = lock_retry_s
        self._stopping = stopping or asyncio.Event()
        self._next_wait = next_wait
        self._listen = listen
        self._settle_s = settle_s
        self._final_pass = final_pass
        self._verify_every_s = verify_every_s
        self._verified_at = -1e9
        self._on_leadership = on_leadership
        self._log_passes = log_passes
        self._trace_passes = trace_passes
        self._wake = asyncio.Event()
        self._lock_conn: asyncpg.Connection | None = None
        self.is_leader = False
        #: Passes completed as leader (for tests and logs).
        self.passes = 0
        self._set_leader(False)

    def _set_leader(self, leader: bool) -> None:
        self.is_leader = leader
        LEADER.labels(job=self._job).set(1 if leader else 0)
        if self._on_leadership is not None:
            self._on_leadership(leader)

    async def run(self) -> None:
        """Until :meth:`stop`: lead or stand by; any error drops the lock and retries later."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                if not await self._become_leader():
                    await self._sleep(self._lock_retry_s)
                    continue
                await self._lead()
                backoff = 0.5
            except Exception as exc:
                if self._stopping.is_set():
                    break
                log.warning("periodic job error; retrying", job=self._job, error=repr(exc), backoff_s=backoff)
                await self._release()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        if self._final_pass is not None and self.holding(stopping_ok=True):
            try:
                await self._final_pass()
            except Exception as exc:
                log.warning("final pass at shutdown did not finish", job=self._job, error=repr(exc))
        await self._release()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def holding(self, *, stopping_ok: bool = False) -> bool:
        return (
            (stopping_ok or not self._stopping.is_set())
            and self.is_leader
            and self._lock_conn is not None
            and not self._lock_conn.is_closed()
        )

    async def _become_leader(self) -> bool:
        if self._lock_conn is None or self._lock_conn.is_closed():
            self._lock_conn = await asyncpg.connect(self._dsn)
            self._lock_conn.add_termination_listener(self._on_lost)
        got = bool(await self._lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key))
        if got:
            if self._listen:
                # Writers NOTIFY this channel when they make something due sooner than the
                # leader's next pass; other replicas' writes reach the leader this way too.
                await self._lock_conn.add_listener(self._listen, self._on_notify)
            self._set_leader(True)
            log.info("periodic job runner is leader", job=self._job)
        return got

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    def _on_lost(self, *_args: object) -> None:
        # Called by asyncpg when the lock's session ends: the lock went with it.
        if self.is_leader:
            self._set_leader(False)
            log.warning("lost the lock connection; standing by", job=self._job)
        self._wake.set()

    async def _release(self) -> None:
        self._set_leader(False)
        if self._lock_conn is not None and not self._lock_conn.is_closed():
            self._lock_conn.remove_termination_listener(self._on_lost)  # a chosen close, not a loss
            with contextlib.suppress(Exception):
                await self._lock_conn.close(timeout=2)  # ends the session: the lock is released
        self._lock_conn = None

    async def _lead(self) -> None:
        while not self._stopping.is_set():
            await self._check_lock()
            self._wake.clear()  # a wake-up from now on asks for another pass
            if self._trace_passes:
                with tracer("sharaka.leader").start_as_current_span(f"{self._job}.pass"):
                    counts = await self._work(self.holding)
            else:
                counts = await self._work(self.holding)
            self.passes += 1
            PASSES.labels(job=self._job).inc()
            if self._log_passes and any(counts.values()):
                log.info("periodic job pass", job=self._job, **counts)
            if not self.holding():
                continue  # stopping, or the lock went during the pass: the checks above decide
            wait = self._interval_s
            if self._next_wait is not None:
                soon = await self._next_wait()
                if soon is not None:
                    # A floor: something due "now" that the pass could not finish (a busy row,
                    # a failing item) must not turn the loop into a busy spin.
                    wait = max(self.MIN_WAIT_S, min(wait, soon))
            woken = await self._sleep(wait, clear=False)
            if woken and self._settle_s and not self._stopping.is_set():
                await asyncio.sleep(self._settle_s)

    async def _check_lock(self) -> None:
        """Prove the session holding the lock is alive before acting on it."""
        conn = self._lock_conn
        if not self.is_leader or conn is None or conn.is_closed():
            raise ConnectionError(f"lost the {self._job} lock connection")
        now = asyncio.get_running_loop().time()
        if now - self._verified_at >= self._verify_every_s:
            await conn.fetchval("SELECT 1", timeout=5)
            self._verified_at = now

    async def _sleep(self, seconds: float, *, clear: bool = True) -> bool:
        """Wait, unless stopping; :meth:`stop`, :meth:`wake` and a lost lock cut the wait short.
        True when something woke it before the time was up."""
        if self._stopping.is_set():
            return False
        if clear:
            self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True


async def run_as_leader(runner: LeaderRunner, stopping: asyncio.Event) -> None:
    """Run ``runner`` until ``stopping`` is set, then let it finish its batch and the lock go."""
    task = asyncio.ensure_future(runner.run())
    stop_wait = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        await runner.stop()
        await task
    finally:
        stop_wait.cancel()
        if not task.done():  # cancelled by a shutdown that ran out of time
            task.cancel()
