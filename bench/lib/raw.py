"""The raw baseline of ``bench.e2e``: the same record bytes the plans relay sends, through a plain
producer to a plain group consumer in another process (:mod:`bench.lib.raw_consumer`), no
database; and :class:`Result`, one row of the end-to-end table, Sharaka's or this baseline's."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.lib import REPO, log
from bench.lib.cpu import CpuMeter, CpuSnapshot, ms_per
from bench.lib.pacing import paced
from bench.lib.raw_consumer import SENT_HEADER
from bench.lib.stats import summarize
from shared.events.envelope import Envelope, KafkaRecord
from shared.events.plans import PlanSubmitted
from shared.kafka import TopicSpec, ensure_topics, make_producer


@dataclass
class Result:
    scenario: str
    system: str
    events: int
    completed: int
    target_rate: float | None
    elapsed_s: float
    events_per_s: float
    #: Commits (Sharaka) or sends acknowledged (raw) per second, seen by the load generator alone.
    offered_per_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    #: Sharaka only: time from plans commit to each stage, ms.
    stages_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Sharaka only, from IRM's /metrics: mean time per event inside its transaction, and the
    #: share of the run the consumer spent inside transactions (1.0 = never waiting for Kafka).
    irm_apply: dict[str, float] = field(default_factory=dict)
    #: Sharaka only: mean rows per relay pass (rows sharing one ``published_at``), per service.
    relay_rows_per_pass: dict[str, float] = field(default_factory=dict)
    cpu_cores: dict[str, float] = field(default_factory=dict)
    #: CPU milliseconds each part spent per completed event (cores * duration / events).
    cpu_ms_per_event: dict[str, float] = field(default_factory=dict)
    #: Busiest processes that are not part of the benchmark (cores), to explain ``other``.
    other_top: dict[str, float] = field(default_factory=dict)

    @classmethod
    def measured(
        cls,
        scenario: str,
        system: str,
        *,
        events: int,
        target_rate: float | None,
        elapsed_s: float,
        writer_s: float,
        latencies_ms: list[float],
        completed: int,
        cpu: tuple[CpuSnapshot, CpuSnapshot],
        cpu_events: int,
        extra_s: dict[str, float] | None = None,
        extra_pids: tuple[int, ...] = (),
        **more: Any,
    ) -> Result:
        """A row from what a scenario measured: ``events`` sent in ``writer_s``, ``completed`` of
        them in ``elapsed_s``, and the CPU between two snapshots, per each of ``cpu_events``."""
        cores, others = CpuMeter.cores(*cpu, extra_s, extra_pids)
        return cls(
            scenario=scenario,
            system=system,
            events=events,
            completed=completed,
            target_rate=target_rate,
            elapsed_s=round(elapsed_s, 3),
            events_per_s=round(completed / elapsed_s, 1) if elapsed_s > 0 else 0.0,
            offered_per_s=round(events / writer_s, 1),
            latency_ms=summarize(latencies_ms),
            cpu_cores=cores,
            cpu_ms_per_event=ms_per(cores, cpu[1].wall - cpu[0].wall, cpu_events, total="total (ours + irq)"),
            other_top=others,
            **more,
        )


def plan_submitted(member_id: uuid.UUID) -> PlanSubmitted:
    """The event both systems carry."""
    return PlanSubmitted(
        plan_id=uuid.uuid4(),
        member_id=member_id,
        title="Plan d'action national 2025-2027",
        start_date=date(2025, 9, 1),
        end_date=date(2027, 8, 31),
        commitment_count=12,
        point_of_contact_id=uuid.uuid4(),
        submitted_at=datetime.now(UTC),
    )


async def run_raw(
    name: str,
    *,
    bootstrap: str,
    topic: str,
    count: int,
    rate: float | None,
    max_records: int,
    batch_timeout_ms: int,
    meter: CpuMeter,
    log_dir: Path,
) -> Result:
    """Same record bytes as the relay sends, plain producer → plain group consumer (other process)."""
    await ensure_topics(bootstrap, [TopicSpec(topic, 3)])
    out_file = log_dir / f"raw-{topic}.json"
    consumer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.lib.raw_consumer", "--bootstrap", bootstrap, "--topic", topic,
        "--group", f"{topic}.group", "--count", str(count), "--out", str(out_file),
        "--max-records", str(max_records), "--batch-timeout-ms", str(batch_timeout_ms),
        "--timeout", str(60 + count / 200),
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert consumer.stdout is not None
    line = await asyncio.wait_for(consumer.stdout.readline(), timeout=90)
    if line.strip() != b"READY":
        raise RuntimeError(f"raw consumer did not start: {line!r}")
    records: list[KafkaRecord] = [
        Envelope.wrap(plan_submitted(uuid.uuid4()), service="plans").to_record() for _ in range(count)
    ]
    producer = make_producer(bootstrap, "bench-raw")
    await producer.start()
    try:
        cpu0 = meter.snapshot()
        first_send_ns = time.time_ns()
        w0 = time.perf_counter()
        futures: list[asyncio.Future[Any]] = []

        async def send(i: int) -> None:
            rec = records[i]
            headers = [*rec.headers, (SENT_HEADER, str(time.time_ns()).encode())]
            futures.append(await producer.send(topic, value=rec.value, key=rec.key, headers=headers))

        if rate is None:
            for i in range(count):
                await send(i)
        else:
            await paced(rate, count, send)
        await asyncio.gather(*futures)
        writer_s = time.perf_counter() - w0
        await asyncio.wait_for(consumer.wait(), timeout=120 + count / 200)
        cpu1 = meter.snapshot()
    finally:
        await producer.stop()
        if consumer.returncode is None:
            consumer.terminate()
            await consumer.wait()
    data = json.loads(out_file.read_text(encoding="utf-8"))
    lat: list[float] = data["latencies_ms"]
    return Result.measured(
        name,
        "raw",
        events=count,
        target_rate=rate,
        elapsed_s=(data["last_recv_ns"] - first_send_ns) / 1e9,
        writer_s=writer_s,
        latencies_ms=lat,
        completed=len(lat),
        cpu=(cpu0, cpu1),
        cpu_events=len(lat),
        extra_s={"raw consumer": data["cpu_s"]},
        extra_pids=(consumer.pid,),
    )


async def run_raw_scenarios(
    *,
    prefix: str,
    warmup: int,
    latency: list[tuple[float, float]],
    events: int,
    bootstrap: str,
    max_records: int,
    batch_timeout_ms: int,
    meter: CpuMeter,
    log_dir: Path,
) -> list[Result]:
    """The baseline rows every Kafka benchmark prints beside its own: a warm-up (not reported),
    each fixed rate of ``latency`` (RATE, SECONDS) and ``events`` as fast as possible, with the
    consumer batching as the service's does (``max_records``, ``batch_timeout_ms``)."""
    common: dict[str, Any] = {
        "bootstrap": bootstrap,
        "max_records": max_records,
        "batch_timeout_ms": batch_timeout_ms,
        "meter": meter,
        "log_dir": log_dir,
    }
    log("raw: warm-up")
    await run_raw("warm-up", topic=f"{prefix}raw.warmup", count=warmup, rate=None, **common)
    results: list[Result] = []
    for rate, seconds in latency:
        n = int(rate * seconds)
        log(f"raw: latency at {rate:g}/s, {n} events")
        results.append(await run_raw(f"raw latency @{rate:g}/s", topic=f"{prefix}raw.lat{rate:g}",
                                     count=n, rate=rate, **common))  # fmt: skip
    log(f"raw: throughput, {events} events")
    results.append(
        await run_raw("raw throughput", topic=f"{prefix}raw.tp", count=events, rate=None, **common)
    )
    return results
