"""The shutdown shares one deadline: each step gets what the steps before it left."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from shared.runtime import Runtime, ServiceSpec, ShutdownBudget
from shared.settings import ServiceSettings


async def test_steps_share_one_deadline() -> None:
    budget = ShutdownBudget(0.3)
    ran: list[str] = []

    async def work(name: str, seconds: float) -> None:
        ran.append(name)
        await asyncio.sleep(seconds)

    started = time.monotonic()
    assert await budget.step("quick", work("quick", 0.15))
    assert not await budget.step("slow", work("slow", 5))  # gets the ~0.15 s left, not 5
    assert not await budget.step("late", work("late", 0))  # nothing left: never started
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 2  # the slow step alone would take 5 s
    assert ran == ["quick", "slow"]
    assert budget.cut_short == ["slow", "late"]
    assert budget.left() == 0


async def test_a_cap_bounds_one_step_below_what_is_left() -> None:
    budget = ShutdownBudget(10)
    started = time.monotonic()
    assert not await budget.step("capped", asyncio.sleep(5), cap_s=0.1)
    assert time.monotonic() - started < 2  # uncapped it would take 5 s
    assert budget.cut_short == ["capped"] and budget.left() > 9


async def test_a_failing_step_does_not_stop_the_next() -> None:
    budget = ShutdownBudget(1)

    async def boom() -> None:
        raise RuntimeError("broken")

    assert not await budget.step("boom", boom())
    assert await budget.step("next", asyncio.sleep(0))
    assert budget.cut_short == []  # a failure is not a cut


async def test_a_task_cut_short_is_cancelled() -> None:
    budget = ShutdownBudget(0.1)
    task = asyncio.ensure_future(asyncio.sleep(5))
    assert not await budget.step("task", task)
    assert task.cancelled()


def test_left_follows_the_clock() -> None:
    now = [100.0]
    budget = ShutdownBudget(20, clock=lambda: now[0])
    assert budget.left() == 20
    now[0] = 112.5
    assert budget.left() == 7.5
    now[0] = 130
    assert budget.left() == 0


# --- the runtime's whole stop sequence, with parts that hang -----------------------------------
class _Hangs:
    """A part whose stop/close never finishes on its own."""

    def __init__(self, log: list[str], name: str) -> None:
        self._log, self._name = log, name
        self.terminated = False

    async def _forever(self) -> None:
        self._log.append(self._name)
        await asyncio.sleep(3600)

    def stop(self) -> Any:
        return self._forever()

    def close(self) -> Any:
        return self._forever()

    def terminate(self) -> None:
        self.terminated = True
        self._log.append(f"{self._name} terminated")


class _Relay:
    def __init__(self, log: list[str]) -> None:
        self._log = log

    async def stop(self) -> None:
        self._log.append("relay stop")


def _runtime(total_s: float, log: list[str]) -> tuple[Runtime, _Hangs]:
    spec = ServiceSpec(name="fake", title="Fake", description="", migrations=Path("."))
    rt = Runtime(spec, ServiceSettings(graceful_timeout_s=total_s))
    pool = _Hangs(log, "pool close")
    rt.pool = pool  # type: ignore[assignment]
    rt.broker = _Hangs(log, "consumers")  # type: ignore[assignment]
    rt._broker_started = True
    rt.producer = _Hangs(log, "producer")
    rt.relay = _Relay(log)  # type: ignore[assignment]
    rt._relay_task = asyncio.ensure_future(asyncio.sleep(3600))
    return rt, pool


async def test_runtime_stop_is_bounded_in_total_and_terminates_the_pool() -> None:
    log: list[str] = []
    rt, pool = _runtime(0.4, log)
    rt._spawn(asyncio.sleep(3600), "worker")  # a background loop that ignores `stopping`
    started = time.monotonic()
    await rt.stop()
    elapsed = time.monotonic() - started
    # Each hanging step alone would wait forever (FastStream's own graceful timeout, the
    # producer's flush): together they get 0.4 s, and the pool is terminated, not closed.
    assert elapsed < 2.5  # well under any one hanging step's own wait
    assert rt.stopping.is_set()
    assert log[0] == "consumers" and "relay stop" in log
    assert pool.terminated
    await asyncio.sleep(0)  # let the cancelled tasks see their cancellation
    assert rt._relay_task.cancelled()
    assert all(t.done() for t in rt._tasks)


async def test_runtime_stop_gives_later_steps_what_earlier_ones_left() -> None:
    log: list[str] = []
    rt, _pool = _runtime(5, log)
    budget = ShutdownBudget(0.3)
    started = time.monotonic()
    await rt.stop(budget)  # the caller's budget (HTTP drain already spent part of it) wins
    assert time.monotonic() - started < 0.6
    assert budget.cut_short[0] == "consumers"
    assert "pool" in budget.cut_short
