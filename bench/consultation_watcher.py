"""The Kafka side of ``bench.consultation_comments``, run as its own process.

A plain aiokafka group consumer (earliest offset, batches of up to 500 records, 10 ms wait) on
the given topics. It prints ``READY`` once it owns partitions, then one line per comment event it
receives, ``<receive time, ns since the epoch> <round id> <comment id>``, flushed after each
batch; other event types are skipped. It stops on SIGTERM and prints ``CPU <seconds>`` last.

:class:`Watcher` is the benchmark's side: it starts this process and keeps what it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer

from bench.lib import REPO
from bench.lib.raw_consumer import wait_assigned

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
        await wait_assigned(consumer, max(1, args.partitions))
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


class Watcher:
    """The ``bench.consultation_watcher`` process and what it has seen, by round."""

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[int, str]]] = {}
        self.cpu_s = 0.0
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, bootstrap: str, topic_names: Sequence[str], partitions: int) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.consultation_watcher", "--bootstrap", bootstrap,
            "--topics", ",".join(topic_names), "--group", f"{topic_names[0]}.bench-watcher",
            "--partitions", str(partitions),
            cwd=REPO, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=90)
        if line.strip() != b"READY":
            raise RuntimeError(f"watcher did not start: {line!r}")
        self._reader = asyncio.create_task(self._read(self.proc.stdout))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            parts = line.split()
            if parts[0] == b"CPU":
                self.cpu_s = float(parts[1])
                continue
            self.seen.setdefault(parts[1].decode(), []).append((int(parts[0]), parts[2].decode()))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def count(self, round_id: uuid.UUID | str) -> int:
        return len(self.seen.get(str(round_id), ()))

    def arrivals(self, round_id: uuid.UUID | str) -> dict[str, int]:
        return {cid: ns for ns, cid in self.seen.get(str(round_id), ())}

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), timeout=20)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated")
    parser.add_argument("--group", required=True)
    parser.add_argument("--partitions", type=int, default=1, help="wait until this many are assigned")
    asyncio.run(watch(parser.parse_args()))


if __name__ == "__main__":
    main()
