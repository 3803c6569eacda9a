"""The Kafka side of ``bench.consultation_comments``, run as its own process.

A plain aiokafka group consumer (earliest offset, batches of up to 500 records, 10 ms wait) on
the given topics. It prints ``READY`` once it owns partitions, then one line per comment event it
receives, ``<receive time, ns since the epoch> <round id> <comment id>``, flushed after each
batch; other event types are skipped. It stops on SIGTERM and prints ``CPU <seconds>`` last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

from aiokafka import AIOKafkaConsumer

COMMENT_ADDED = b"ogp.consultation.comment_added.v1"


async def watch(args: argparse.Namespace) -> None:
    consumer = AIOKafkaConsumer(
        *args.topics.split(","),
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await consumer.start()
    out = sys.stdout
    try:
        deadline = time.monotonic() + 60
        while not consumer.assignment() or len(consumer.assignment()) < args.partitions:
            if time.monotonic() > deadline:
                raise TimeoutError("no partitions assigned within 60 s")
            await consumer.getmany(timeout_ms=100)
        print("READY", flush=True)
        cpu0 = time.process_time()
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=10, max_records=500)
            if not batch:
                continue
            now_ns = time.time_ns()
            lines = []
            for records in batch.values():
                for record in records:
                    if dict(record.headers or ()).get("ce_type") != COMMENT_ADDED or record.value is None:
                        continue
                    data = json.loads(record.value)
                    lines.append(f"{now_ns} {data['round_id']} {data['comment_id']}\n")
            if lines:
                out.write("".join(lines))
                out.flush()
        print(f"CPU {time.process_time() - cpu0:.3f}", flush=True)
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated")
    parser.add_argument("--group", required=True)
    parser.add_argument("--partitions", type=int, default=1, help="wait until this many are assigned")
    asyncio.run(watch(parser.parse_args()))


if __name__ == "__main__":
    main()
