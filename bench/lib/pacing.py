"""Open-loop load at a fixed rate, and polling until a count is reached."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


async def paced(rate: float, count: int, start: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Open-loop load: job ``i`` starts at ``t0 + i/rate`` whether or not earlier ones finished,
    so a slow commit never hides the latency of the ones behind it."""
    tasks: set[asyncio.Task[None]] = set()
    done: list[asyncio.Task[None]] = []
    t0 = time.perf_counter()
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(start(i))
        tasks.add(task)
        done.append(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*done)


async def until(
    check: Callable[[], Awaitable[int] | int], target: int, *, stall_s: float, every_s: float = 0.1
) -> int:
    """Poll ``check`` (plain or async) until it reaches ``target``; give up after ``stall_s``
    without progress. Returns the last value."""
    last, changed = -1, time.monotonic()
    while True:
        got = check()
        value = await got if inspect.isawaitable(got) else got
        if value >= target:
            return value
        if value != last:
            last, changed = value, time.monotonic()
        elif time.monotonic() - changed > stall_s:
            return value
        await asyncio.sleep(every_s)
