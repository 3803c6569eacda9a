"""The raw baseline's consumer, run as its own process by :mod:`bench.lib.raw`.

A plain aiokafka group consumer with manual offset commit once per batch, the same batch size
and wait as the IRM consumer, no database. It prints ``READY`` once it owns partitions, reads
until it has seen ``--count`` records (or ``--timeout`` passes) and writes, for every record,
receive time minus the producer's ``bench_sent_ns`` header, in ms, to ``--out`` as JSON, with
the CPU seconds it used after ``READY``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

SENT_HEADER = "bench_sent_ns"


async def wait_assigned(consumer: AIOKafkaConsumer, partitions: int) -> None:
    """Poll until the group has given ``consumer`` at least ``partitions`` partitions, then print
    ``READY`` for the process that started this one."""
    deadline = time.monotonic() + 60
    while len(consumer.assignment()) < partitions:
        if time.monotonic() > deadline:
            raise TimeoutError("no partitions assigned within 60 s")
        await consumer.getmany(timeout_ms=100)
    print("READY", flush=True)


async def consume(args: argparse.Namespace) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=300_000,
    )
    await consumer.start()
    latencies_ms: list[float] = []
    first_recv_ns = last_recv_ns = 0
    try:
        await wait_assigned(consumer, 1)
        cpu0 = time.process_time()
        deadline = time.monotonic() + args.timeout
        while len(latencies_ms) < args.count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=args.batch_timeout_ms, max_records=args.max_records)
            if not batch:
                continue
            now_ns = time.time_ns()
            first_recv_ns = first_recv_ns or now_ns
            last_recv_ns = now_ns
            for records in batch.values():
                for record in records:
                    sent = dict(record.headers or ()).get(SENT_HEADER)
                    if sent is not None:
                        latencies_ms.append((now_ns - int(sent)) / 1e6)
            await consumer.commit()
        cpu_s = time.process_time() - cpu0
    finally:
        await consumer.stop()
    return {
        "latencies_ms": latencies_ms,
        "first_recv_ns": first_recv_ns,
        "last_recv_ns": last_recv_ns,
        "cpu_s": cpu_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-records", type=int, default=200)
    parser.add_argument("--batch-timeout-ms", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    result = asyncio.run(consume(args))
    args.out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
