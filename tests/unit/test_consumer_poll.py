"""The consumer's batch poll returns what the fetcher has as soon as it has it, and never sleeps
after an empty poll (FastStream's own poll sleeps ``batch_timeout_ms`` more, which delayed every
event that arrived meanwhile)."""

from __future__ import annotations

import time
from typing import Any, cast

from faststream.kafka import KafkaBroker

from shared.consumer import EventConsumer
from shared.events.plans import PlanSubmitted


class _Fetcher:
    def __init__(self, batches: list[dict[str, list[str]]]) -> None:
        self.batches = batches
        self.calls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[str, list[str]]:
        self.calls.append((timeout_ms, max_records))
        return self.batches.pop(0) if self.batches else {}


async def _noop(uow: Any, received: Any) -> None:
    return None


async def test_an_empty_poll_does_not_sleep_and_records_of_all_partitions_come_flat() -> None:
    consumer = EventConsumer(
        service="irm", pool=cast(Any, None), producer=cast(Any, None), handlers={PlanSubmitted: _noop}
    )
    consumer.attach(KafkaBroker("127.0.0.1:9"), max_records=7, batch_timeout_ms=300)
    fetcher = _Fetcher([{}, {"p0": ["a", "b"], "p1": ["c"]}])
    started = time.perf_counter()
    assert await consumer.subscriber.get_msg(fetcher) == ()
    assert time.perf_counter() - started < 0.1  # FastStream's poll would sleep 0.3 s here
    assert await consumer.subscriber.get_msg(fetcher) == ("a", "b", "c")
    assert fetcher.calls == [(300, 7), (300, 7)]  # the wait is the fetcher's, bounded by the setting
