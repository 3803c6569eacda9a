"""End-to-end benchmark: "commit in plans → effect committed in IRM", against a raw Kafka baseline.

``uv run python -m bench.e2e`` starts its own Kafka and Postgres (devstack, in a temp folder),
runs the plans service (outbox relay) and the IRM service (consumer) as separate processes, as
they are deployed, and drives them the way plans' request handlers do: one
``unit_of_work(pool, "plans")`` transaction per ``PlanSubmitted``, straight into the plans
database. It then runs the same message bytes through a plain aiokafka producer and consumer.
See ``bench/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from bench.harness import REPO, RESULTS, log, run_main
from bench.raw_consumer import SENT_HEADER
from devstack.kafka import KafkaNode
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from services.irm.service import SPEC as IRM_SPEC
from services.irm.settings import IrmSettings
from services.plans.service import SPEC as PLANS_SPEC
from services.plans.settings import PlansSettings
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.events.envelope import Envelope, KafkaRecord
from shared.events.plans import PlanSubmitted
from shared.kafka import TopicSpec, ensure_topics, make_producer
from shared.logging import configure_logging
from shared.uow import unit_of_work

T = TypeVar("T")

#: Set for the services whatever the environment says: they point at this run's infrastructure.
_INFRA_KEYS = ("DATABASE_URL", "KAFKA_BOOTSTRAP", "KAFKA_TOPIC_PREFIX", "HTTP_PORT", "HTTP_HOST")
#: Defaults that the caller's environment may override (``IRM_CONSUMER_BATCH_MAX_RECORDS=500``...).
_SERVICE_DEFAULTS = {"LOG_LEVEL": "INFO"}


# --- small utilities ---------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summarize(values_ms: Sequence[float]) -> dict[str, float]:
    s = sorted(values_ms)
    if not s:
        return {}
    return {
        "p50": percentile(s, 50),
        "p95": percentile(s, 95),
        "p99": percentile(s, 99),
        "max": s[-1],
        "mean": sum(s) / len(s),
    }


async def poll_until(
    check: Callable[[], Awaitable[int]], target: int, *, stall_s: float, every_s: float = 0.1
) -> int:
    """Poll ``check`` until it reaches ``target``; give up after ``stall_s`` without progress."""
    last, last_change = -1, time.monotonic()
    while True:
        value = await check()
        if value >= target:
            return value
        if value != last:
            last, last_change = value, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            return value
        await asyncio.sleep(every_s)


def plan_submitted(member_id: uuid.UUID) -> PlanSubmitted:
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


# --- CPU accounting (Linux /proc) ----------------------------------------------------------------
_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_s(pid: int) -> float:
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / _CLK if f else 0.0


def _one(pid: int) -> dict[int, float]:
    return {pid: _cpu_s(pid)} if pid > 0 else {}


def _tree(root: int) -> dict[int, float]:
    """CPU seconds of a process and of each of its direct children (postmaster and backends)."""
    if root <= 0:
        return {}
    out = _one(root)
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                f = _stat_fields(int(entry.name))
                if f and int(f[1]) == root:
                    out[int(entry.name)] = (int(f[11]) + int(f[12])) / _CLK
    return out


def _machine_s() -> tuple[float, float, float]:
    """(busy, irq, steal) CPU seconds of the whole machine. ``irq`` (hard and soft interrupts:
    mostly the loopback network stack) is busy time no process is charged for; ``steal`` is time
    the hypervisor gave to someone else."""
    try:
        parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0
    parts += [0] * (8 - len(parts))
    user, nice, system, _idle, _iowait, irq, softirq, steal = parts[:8]
    return (user + nice + system + irq + softirq) / _CLK, (irq + softirq) / _CLK, steal / _CLK


def _all_procs() -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    text = (entry / "stat").read_text()
                    comm = text[text.index("(") + 1 : text.rindex(")")]
                    f = text.rsplit(")", 1)[1].split()
                    out[int(entry.name)] = (comm, (int(f[11]) + int(f[12])) / _CLK)
    return out


@dataclass
class CpuSnapshot:
    groups: dict[str, dict[int, float]]
    procs: dict[int, tuple[str, float]]
    busy_s: float
    irq_s: float
    steal_s: float
    wall: float


@dataclass
class CpuMeter:
    """Cores used by each part of the system between two snapshots.

    Per PID, so that a process (a Postgres backend) that starts during the window counts from
    zero, and one that ends is left out instead of making its group's total go backwards.
    """

    sources: dict[str, Callable[[], dict[int, float]]]

    def snapshot(self) -> CpuSnapshot:
        groups = {name: fn() for name, fn in self.sources.items()}
        busy, irq, steal = _machine_s()
        return CpuSnapshot(groups, _all_procs(), busy, irq, steal, time.monotonic())

    @staticmethod
    def cores(
        before: CpuSnapshot,
        after: CpuSnapshot,
        extra_s: dict[str, float] | None = None,
        extra_pids: Sequence[int] = (),
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Average cores per part, and the busiest processes that are not ours (by name).

        ``other (not ours)`` is the machine's busy time that our processes do not explain: another
        test run, a build, py-spy, kernel threads.
        """
        wall = after.wall - before.wall
        if wall <= 0:
            return {}, {}
        used: dict[str, float] = {}
        ours: set[int] = set(extra_pids)
        for name, pids in after.groups.items():
            if name in before.groups:
                prev = before.groups[name]
                used[name] = sum(max(0.0, cpu - prev.get(pid, 0.0)) for pid, cpu in pids.items()) / wall
                ours.update(pids)
        used.update({k: v / wall for k, v in (extra_s or {}).items()})
        total_ours = sum(used.values())
        used["machine (busy)"] = (after.busy_s - before.busy_s) / wall
        used["kernel irq"] = (after.irq_s - before.irq_s) / wall
        used["vm steal"] = (after.steal_s - before.steal_s) / wall
        used["other (not ours)"] = max(0.0, used["machine (busy)"] - used["kernel irq"] - total_ours)
        others: dict[str, float] = {}
        for pid, (comm, cpu) in after.procs.items():
            if pid not in ours and pid != os.getpid():
                spent = cpu - before.procs.get(pid, (comm, 0.0))[1]
                if spent > 0:
                    others[comm] = others.get(comm, 0.0) + spent / wall
        top = dict(sorted(others.items(), key=lambda kv: -kv[1])[:4])
        return {k: round(v, 2) for k, v in used.items()}, {
            k: round(v, 2) for k, v in top.items() if v >= 0.01
        }


def per_event_ms(cores: dict[str, float], wall_s: float, events: int) -> dict[str, float]:
    skip = ("machine (busy)", "vm steal", "other (not ours)")
    if events <= 0:
        return {}
    out = {k: round(v * wall_s / events * 1000, 3) for k, v in cores.items() if k not in skip}
    out["total (ours + irq)"] = round(sum(out.values()), 3)
    return out


# --- processes ---------------------------------------------------------------------------------
def service_env(service: str, infra: dict[str, str]) -> dict[str, str]:
    prefix = service.upper() + "_"
    env = dict(os.environ)
    for key, value in _SERVICE_DEFAULTS.items():
        env.setdefault(prefix + key, value)
    env.update({prefix + k: v for k, v in infra.items()})
    env["PYTHONPATH"] = str(REPO)
    return env


def tunables(service: str) -> dict[str, str]:
    """The caller's overrides of a service's settings (infrastructure keys excepted)."""
    prefix = service.upper() + "_"
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith(prefix) and k.removeprefix(prefix) not in _INFRA_KEYS
    }


class PySpy:
    """Optional sampling profiles of the service processes (``--profile``)."""

    def __init__(self, exe: str | None, out_dir: Path) -> None:
        self.exe = exe
        self.out_dir = out_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, pid: int, seconds: int) -> None:
        if self.exe is None:
            return
        for fmt, ext in (("flamegraph", "svg"), ("raw", "txt")):
            out = self.out_dir / f"profile-{name}.{ext}"
            self.procs.append(
                subprocess.Popen(
                    [
                        self.exe,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(seconds),
                        "--rate",
                        "200",
                        "--format",
                        fmt,
                        "--output",
                        str(out),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def wait(self) -> None:
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.terminate()
                p.wait()
        self.procs.clear()


# --- results -----------------------------------------------------------------------------------
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


# --- Sharaka -----------------------------------------------------------------------------------
async def scrape_processing(port: int) -> tuple[float, float]:
    """(sum of seconds, count) of IRM's ``sharaka_event_processing_seconds`` histogram."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    values = {"_sum": 0.0, "_count": 0.0}
    for line in text.splitlines():
        for suffix in values:
            if line.startswith(f"sharaka_event_processing_seconds{suffix} "):
                values[suffix] = float(line.split()[1])
    return values["_sum"], values["_count"]


@dataclass
class Sharaka:
    plans: asyncpg.Pool
    irm: asyncpg.Pool
    meter: CpuMeter
    irm_port: int

    async def commit_one(self, member_id: uuid.UUID) -> None:
        """What a plans request handler does: one transaction, one event into the outbox."""
        async with unit_of_work(self.plans, "plans") as uow:
            uow.publish(plan_submitted(member_id))

    async def _outbox_mark(self) -> int:
        return int(await self.plans.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))

    async def _applied(self, member_id: uuid.UUID) -> int:
        return int(await self.irm.fetchval("SELECT count(*) FROM reviews WHERE member_id = $1", member_id))

    async def _write(self, member_id: uuid.UUID, count: int, rate: float | None, writers: int) -> float:
        """Commit ``count`` events, as fast as ``writers`` can or at ``rate``; returns seconds."""
        w0 = time.perf_counter()
        if rate is None:
            remaining = count

            async def writer() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await self.commit_one(member_id)

            await asyncio.gather(*(writer() for _ in range(writers)))
        else:
            await paced(rate, count, lambda _i: self.commit_one(member_id))
        return time.perf_counter() - w0

    async def run(
        self, name: str, count: int, *, rate: float | None, writers: int, stall_s: float = 30.0
    ) -> Result:
        member_id = uuid.uuid4()  # tags this scenario's reviews
        mark = await self._outbox_mark()
        apply0 = await scrape_processing(self.irm_port)
        cpu0 = self.meter.snapshot()
        writer_s = await self._write(member_id, count, rate, writers)
        done = await poll_until(lambda: self._applied(member_id), count, stall_s=stall_s)
        cpu1 = self.meter.snapshot()
        apply1 = await scrape_processing(self.irm_port)
        if done < count:
            log(f"{name}: only {done}/{count} reviews after {stall_s:.0f}s without progress")
        return await self._result(
            name, count, rate, member_id, mark, (cpu0, cpu1), (apply0, apply1), writer_s, done, False
        )

    async def drain(
        self,
        name: str,
        count: int,
        *,
        writers: int,
        stop_irm: Callable[[], None],
        start_irm: Callable[[], Coroutine[Any, Any, None]],
        stall_s: float = 30.0,
    ) -> Result:
        """The consumer alone: events pile up in Kafka while irm is stopped, then irm starts and
        drains them with the machine to itself (plans idle, no writers). Rate and CPU are taken
        from its first review to its last."""
        member_id = uuid.uuid4()
        mark = await self._outbox_mark()
        stop_irm()
        writer_s = await self._write(member_id, count, None, writers)
        published = await poll_until(lambda: self._published_since(mark), count, stall_s=stall_s, every_s=0.2)
        if published < count:
            log(f"{name}: the plans relay published only {published}/{count}")
        restart = asyncio.create_task(start_irm())
        await poll_until(lambda: self._applied(member_id), 1, stall_s=90, every_s=0.02)
        cpu0 = self.meter.snapshot()
        before = await self._applied(member_id)
        done = await poll_until(lambda: self._applied(member_id), count, stall_s=stall_s)
        cpu1 = self.meter.snapshot()
        await restart
        apply1 = await scrape_processing(self.irm_port)  # a fresh process: its counters started at 0
        return await self._result(
            name, count, None, member_id, mark, (cpu0, cpu1), ((0.0, 0.0), apply1), writer_s,
            done - before, True,
        )  # fmt: skip

    async def _published_since(self, mark: int) -> int:
        return int(
            await self.plans.fetchval(
                "SELECT count(*) FROM outbox WHERE id > $1 AND published_at IS NOT NULL", mark
            )
        )

    async def _result(
        self,
        name: str,
        count: int,
        rate: float | None,
        member_id: uuid.UUID,
        mark: int,
        cpu: tuple[CpuSnapshot, CpuSnapshot],
        apply: tuple[tuple[float, float], tuple[float, float]],
        writer_s: float,
        events_in_cpu_window: int,
        from_first_effect: bool,
    ) -> Result:
        (cpu0, cpu1), (apply0, apply1) = cpu, apply
        out = await self.plans.fetch(
            "SELECT event_id, key, created_at, published_at FROM outbox WHERE id > $1", mark
        )
        reviews = {
            str(r["plan_id"]): r["scheduled_at"]
            for r in await self.irm.fetch(
                "SELECT plan_id, scheduled_at FROM reviews WHERE member_id = $1", member_id
            )
        }
        claimed = {
            r["event_id"]: r["processed_at"]
            for r in await self.irm.fetch(
                "SELECT event_id, processed_at FROM inbox WHERE event_id = ANY($1::uuid[])",
                [r["event_id"] for r in out],
            )
        }

        def ms(later: datetime | None, earlier: datetime) -> float | None:
            return None if later is None else (later - earlier).total_seconds() * 1000

        effect: list[float] = []
        relay: list[float] = []
        claim: list[float] = []
        for r in out:
            for sink, value in (
                (effect, ms(reviews.get(r["key"]), r["created_at"])),
                (relay, ms(r["published_at"], r["created_at"])),
                (claim, ms(claimed.get(r["event_id"]), r["created_at"])),
            ):
                if value is not None:
                    sink.append(value)
        if not out:
            raise RuntimeError(f"{name}: no outbox rows were written")
        first_commit = min(r["created_at"] for r in out)
        last_effect = max(reviews.values()) if reviews else first_commit
        start = min(reviews.values()) if from_first_effect and reviews else first_commit
        elapsed = (last_effect - start).total_seconds()
        applied_s, applied_n = apply1[0] - apply0[0], apply1[1] - apply0[1]
        cores, others = CpuMeter.cores(cpu0, cpu1)
        irm_apply = {
            "mean_ms": round(applied_s / applied_n * 1000, 3) if applied_n else float("nan"),
            "busy_fraction": round(applied_s / elapsed, 3) if elapsed > 0 else float("nan"),
        }
        # published_at is clock_timestamp() per row of the relay's UPDATE: rows less than 1 ms
        # apart were marked by the same pass (passes are at least a Kafka round trip apart).
        passes_sql = """SELECT count(*)::float8 / greatest(count(*) FILTER (WHERE gap IS NULL
                                                                     OR gap > interval '1 ms'), 1)
                        FROM (SELECT published_at - lag(published_at) OVER (ORDER BY published_at) AS gap
                              FROM outbox WHERE created_at >= $1 AND published_at IS NOT NULL) AS t"""
        relay_rows_per_pass = {
            "plans": round(float(await self.plans.fetchval(passes_sql, first_commit)), 2),
            "irm": round(float(await self.irm.fetchval(passes_sql, first_commit)), 2),
        }
        return Result(
            scenario=name,
            system="sharaka",
            events=count,
            completed=len(reviews),
            target_rate=rate,
            elapsed_s=round(elapsed, 3),
            events_per_s=round(len(reviews) / elapsed, 1) if elapsed > 0 else 0.0,
            offered_per_s=round(count / writer_s, 1),
            latency_ms=summarize(effect),
            stages_ms={
                "relay published (outbox.published_at)": summarize(relay),
                "irm claimed (inbox.processed_at)": summarize(claim),
                "irm effect (reviews.scheduled_at)": summarize(effect),
            },
            irm_apply=irm_apply,
            relay_rows_per_pass=relay_rows_per_pass,
            cpu_cores=cores,
            cpu_ms_per_event=per_event_ms(cores, cpu1.wall - cpu0.wall, events_in_cpu_window),
            other_top=others,
        )


# --- raw aiokafka ------------------------------------------------------------------------------
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
        sys.executable, "-m", "bench.raw_consumer", "--bootstrap", bootstrap, "--topic", topic,
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
    cores, others = CpuMeter.cores(cpu0, cpu1, {"raw consumer": data["cpu_s"]}, [consumer.pid])
    elapsed = (data["last_recv_ns"] - first_send_ns) / 1e9
    return Result(
        scenario=name,
        system="raw",
        events=count,
        completed=len(lat),
        target_rate=rate,
        elapsed_s=round(elapsed, 3),
        events_per_s=round(len(lat) / elapsed, 1) if elapsed > 0 else 0.0,
        offered_per_s=round(count / writer_s, 1),
        latency_ms=summarize(lat),
        cpu_cores=cores,
        cpu_ms_per_event=per_event_ms(cores, cpu1.wall - cpu0.wall, len(lat)),
        other_top=others,
    )


# --- the run -----------------------------------------------------------------------------------
def code_identity() -> dict[str, Any]:
    """Which code was measured: the commit, and the files of the system under test that differ."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "shared", "services").splitlines()]
    return {"commit": git("rev-parse", "--short=12", "HEAD") or "?", "uncommitted": dirty}


def machine_facts(kafka: KafkaNode, pg_version: str, pg_settings: dict[str, str]) -> dict[str, Any]:
    jars = sorted(kafka.libs_dir.glob("kafka_2.13-*.jar"))
    kafka_version = jars[0].stem.split("-", 1)[1] if jars else "?"
    cpu_model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_gb = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(mem_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "kafka": f"{kafka_version} (1 KRaft node, heap {kafka.heap})",
        "postgres": pg_version,
        "postgres_settings": pg_settings,
        "packages": {p: version(p) for p in ("aiokafka", "faststream", "asyncpg", "pydantic", "uvloop")},
    }


async def bench(args: argparse.Namespace, kafka: KafkaNode, pg: PostgresCluster) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench{run_id}."
    log_dir = RESULTS / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    plans_db, irm_db = f"plans_{run_id}", f"irm_{run_id}"
    for db in (plans_db, irm_db):
        pg.create_database(db)

    # The schema, exactly as the services migrate it (they find it applied when they start).
    plans_pool = await create_pool(pg.dsn(plans_db), min_size=2, max_size=max(args.writers, 10))
    irm_pool = await create_pool(pg.dsn(irm_db), min_size=2, max_size=4)
    await migrate(
        plans_pool, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", PLANS_SPEC.migrations))
    )
    await migrate(irm_pool, load_migrations(("shared", SHARED_MIGRATIONS), ("irm", IRM_SPEC.migrations)))
    pg_version = str(await plans_pool.fetchval("SHOW server_version"))
    pg_settings = {
        s: str(await plans_pool.fetchval(f"SHOW {s}"))
        for s in ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
    }
    facts = machine_facts(kafka, pg_version, pg_settings)
    code = code_identity()

    plans = ServiceProcess(
        "plans",
        service_env("plans", {"DATABASE_URL": pg.dsn(plans_db), "KAFKA_BOOTSTRAP": kafka.bootstrap,
                              "KAFKA_TOPIC_PREFIX": prefix, "HTTP_PORT": str(free_port())}),
        log_dir,
    )  # fmt: skip
    irm = ServiceProcess(
        "irm",
        service_env("irm", {"DATABASE_URL": pg.dsn(irm_db), "KAFKA_BOOTSTRAP": kafka.bootstrap,
                            "KAFKA_TOPIC_PREFIX": prefix, "HTTP_PORT": str(free_port())}),
        log_dir,
    )  # fmt: skip
    # What the services will read from that environment (defaults plus the caller's overrides).
    with _patched_environ(plans.env):
        plans_settings = PlansSettings()
    with _patched_environ(irm.env):
        irm_settings = IrmSettings()
    settings = {
        "plans": _pick(plans_settings, "relay_batch_size", "relay_poll_interval_s", "relay_coalesce_s",
                       "db_pool_max", "log_level"),
        "irm": _pick(irm_settings, "consumer_batch_max_records", "consumer_batch_timeout_ms",
                     "db_pool_max", "relay_batch_size", "relay_coalesce_s", "log_level"),
        "overrides": {**tunables("plans"), **tunables("irm")},
        "bench_writers": args.writers,
    }  # fmt: skip

    kafka_pid, pg_pid, own_pid = kafka.pid or 0, pg.pid or 0, os.getpid()
    meter = CpuMeter(
        {
            "bench": lambda: _one(own_pid),
            "kafka": lambda: _one(kafka_pid),
            "postgres": lambda: _tree(pg_pid),
        }
    )
    results: list[Result] = []
    profiler = PySpy(shutil.which("py-spy") if args.profile else None, log_dir)
    try:
        if not args.skip_sharaka:
            plans.start()
            await plans.wait_ready()
            irm.start()
            await irm.wait_ready()
            meter.sources["plans (relay)"] = lambda: _one(plans.pid)
            meter.sources["irm (consumer)"] = lambda: _one(irm.pid)
            sharaka = Sharaka(plans_pool, irm_pool, meter, irm.port)
            log("sharaka: warm-up")
            await sharaka.run("warm-up", args.warmup, rate=None, writers=args.writers)
            for rate, seconds in args.latency:
                n = int(rate * seconds)
                log(f"sharaka: latency at {rate:g}/s, {n} events")
                results.append(await sharaka.run(f"sharaka latency @{rate:g}/s", n, rate=rate,
                                                 writers=args.writers))  # fmt: skip
            log(f"sharaka: throughput, {args.events} events, {args.writers} writers")
            for name, svc in (("irm", irm), ("plans", plans)):
                profiler.start(name, svc.pid, args.profile_seconds)
            results.append(await sharaka.run(f"sharaka throughput ({args.writers} writers)", args.events,
                                             rate=None, writers=args.writers))  # fmt: skip
            profiler.wait()
            if args.drain:
                log(f"sharaka: irm drain, {args.drain} events piled up in Kafka while irm is stopped")

                async def start_irm() -> None:
                    irm.start()
                    await irm.wait_ready()

                results.append(await sharaka.drain("sharaka irm drain (consumer alone)", args.drain,
                                                   writers=args.writers, stop_irm=irm.ensure_stopped,
                                                   start_irm=start_irm))  # fmt: skip
            irm.ensure_stopped()
            plans.ensure_stopped()
            meter.sources.pop("plans (relay)", None)
            meter.sources.pop("irm (consumer)", None)
        if not args.skip_raw:
            common: dict[str, Any] = {
                "bootstrap": kafka.bootstrap,
                "max_records": irm_settings.consumer_batch_max_records,
                "batch_timeout_ms": irm_settings.consumer_batch_timeout_ms,
                "meter": meter,
                "log_dir": log_dir,
            }
            log("raw: warm-up")
            await run_raw("warm-up", topic=f"{prefix}raw.warmup", count=args.warmup, rate=None, **common)
            for rate, seconds in args.latency:
                n = int(rate * seconds)
                log(f"raw: latency at {rate:g}/s, {n} events")
                results.append(await run_raw(f"raw latency @{rate:g}/s", topic=f"{prefix}raw.lat{rate:g}",
                                             count=n, rate=rate, **common))  # fmt: skip
            log(f"raw: throughput, {args.events} events")
            results.append(await run_raw("raw throughput", topic=f"{prefix}raw.tp", count=args.events,
                                         rate=None, **common))  # fmt: skip
    finally:
        profiler.wait()
        irm.ensure_stopped()
        plans.ensure_stopped()
        await plans_pool.close()
        await irm_pool.close()
    return {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code,
        "machine": facts,
        "settings": settings,
        "results": [asdict(r) for r in results],
        "profiles": sorted(p.name for p in log_dir.glob("profile-*")),
    }


def _pick(settings: Any, *names: str) -> dict[str, Any]:
    """The named settings that this version of the services has."""
    return {n: getattr(settings, n) for n in names if hasattr(settings, n)}


@contextlib.contextmanager
def _patched_environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- report ------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}"


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    results = report["results"]
    by_name = {r["scenario"]: r for r in results}
    lines = [
        f"## Sharaka end-to-end benchmark ({report['run_at']})",
        "",
        f"- machine: nproc={m['nproc']} (usable {m['cpus_usable']}), {m['cpu_model']}, "
        f"{m['memory_gb']} GB RAM, {m['os']}, Python {m['python']}; "
        f"{m.get('busy_cores_before_start', '?')} cores busy before start (other load)",
        f"- Kafka {m['kafka']}; PostgreSQL {m['postgres']} "
        + "("
        + ", ".join(f"{k}={v}" for k, v in m["postgres_settings"].items())
        + ")",
        "- " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- code: commit {report['code']['commit']}"
        + (
            f", uncommitted changes in {', '.join(report['code']['uncommitted'])}"
            if report["code"]["uncommitted"]
            else ", no uncommitted changes in shared/ or services/"
        ),
        f"- settings: {json.dumps(report['settings'], default=str)}",
        "",
        "| scenario | events | events/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat = r["latency_ms"] if r["target_rate"] is not None else {}
        events = f"{r['completed']:,}" + ("" if r["completed"] == r["events"] else f" of {r['events']:,}")
        lines.append(
            f"| {r['scenario']} | {events} | {_fmt(r['events_per_s'])} | {_fmt(lat.get('p50'))} | "
            f"{_fmt(lat.get('p95'))} | {_fmt(lat.get('p99'))} | {_fmt(lat.get('max'))} |"
        )
    lines += [
        "",
        "events/s: completed / (first commit or send → last effect or receive). Latencies are for the",
        "fixed-rate rows only; under saturation (throughput rows) they measure the queue, see the JSON.",
        "",
    ]
    sharaka_tp = next((r for r in results if r["scenario"].startswith("sharaka throughput")), None)
    raw_tp = by_name.get("raw throughput")
    if sharaka_tp:
        lines.append(
            f"- Sharaka writer-only commit rate (plans transactions, {report['settings']['bench_writers']} "
            f"writers): {_fmt(sharaka_tp['offered_per_s'])} tx/s"
        )
    if sharaka_tp and raw_tp and raw_tp["events_per_s"]:
        lines.append(
            f"- throughput ratio Sharaka/raw: {sharaka_tp['events_per_s'] / raw_tp['events_per_s']:.3f}"
        )
    stage_rows = [r for r in results if r["stages_ms"]]
    if stage_rows:
        lines += [
            "",
            "Sharaka latency by stage, ms after the plans commit (p50 / p99):",
            "",
            "| scenario | relay published | irm claimed | irm effect | irm apply mean ms | irm in tx "
            "| rows/relay pass plans, irm |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in stage_rows:
            cells = [f"{_fmt(s.get('p50'))} / {_fmt(s.get('p99'))}" for s in r["stages_ms"].values()]
            cells += [_fmt(r["irm_apply"].get("mean_ms"), 2), _fmt(r["irm_apply"].get("busy_fraction"), 2)]
            passes = r["relay_rows_per_pass"]
            cells.append(f"{_fmt(passes.get('plans'))}, {_fmt(passes.get('irm'))}")
            lines.append(f"| {r['scenario']} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "irm apply mean: time per event inside its transaction (sharaka_event_processing_seconds);",
            "irm in tx: share of the scenario the consumer spent inside those transactions;",
            "rows/relay pass: outbox rows published per relay pass (1.0 = one Kafka round per event).",
        ]
    order = ["bench", "plans (relay)", "irm (consumer)", "raw consumer", "kafka", "postgres",
             "kernel irq", "other (not ours)", "vm steal", "machine (busy)"]  # fmt: skip
    present = {k for r in results for k in r["cpu_cores"]}
    names = [n for n in order if n in present] + sorted(present - set(order))
    if names:
        lines += [
            "",
            "CPU, cores busy on average during each scenario (1.0 = one core):",
            "",
            "| scenario | " + " | ".join(names) + " | busiest processes not ours |",
            "|---|" + "---:|" * len(names) + "---|",
        ]
        for r in results:
            busiest = ", ".join(f"{k} {v:.2f}" for k, v in r["other_top"].items()) or "—"
            row = " | ".join(_fmt(r["cpu_cores"].get(n), 2) for n in names)
            lines.append(f"| {r['scenario']} | {row} | {busiest} |")
    per_event = [r for r in results if r["target_rate"] is None and r["cpu_ms_per_event"]]
    if per_event:
        seen = {k for r in per_event for k in r["cpu_ms_per_event"]}
        keys = [n for n in names if n in seen] + ["total (ours + irq)"]
        lines += [
            "",
            "CPU ms per event in the throughput runs (what bounds throughput once the cores are full:",
            f"{m['cpus_usable']} cores ÷ total = the most this machine can do):",
            "",
            "| scenario | " + " | ".join(keys) + " | bound events/s |",
            "|---|" + "---:|" * (len(keys) + 1),
        ]
        for r in per_event:
            ms = r["cpu_ms_per_event"]
            bound = (
                m["cpus_usable"] * 1000 / ms["total (ours + irq)"] if ms.get("total (ours + irq)") else None
            )
            row = " | ".join(_fmt(ms.get(k), 3) for k in keys)
            lines.append(f"| {r['scenario']} | {row} | {_fmt(bound, 0)} |")
    noisy = [r for r in results if r["cpu_cores"].get("other (not ours)", 0.0) > 0.25]
    if noisy:
        lines += [
            "",
            "WARNING: other programs used the CPU during "
            + ", ".join(f"{r['scenario']} ({r['cpu_cores']['other (not ours)']:.2f} cores)" for r in noisy)
            + ": those rows understate what this machine can do; rerun on a quiet machine.",
        ]
    low = next((r for r in results if r["system"] == "sharaka" and r["target_rate"] == 200), None)
    lines += ["", "Targets (reported, not asserted):"]
    if sharaka_tp:
        ok = sharaka_tp["events_per_s"] >= 1000
        lines.append(f"- ≥ 1,000 events/s end to end: {_fmt(sharaka_tp['events_per_s'])} → "
                     f"{'MET' if ok else 'MISSED'}")  # fmt: skip
    if low and low["latency_ms"]:
        ok = low["latency_ms"]["p99"] <= 250 and low["completed"] == low["events"]
        lines.append(f"- p99 ≤ 250 ms at 200 events/s: {_fmt(low['latency_ms']['p99'])} ms → "
                     f"{'MET' if ok else 'MISSED'}")  # fmt: skip
    if report["profiles"]:
        lines.append(f"- py-spy profiles of the throughput run: bench/results/logs/ {report['profiles']}")
    return "\n".join(lines)


def parse_latency(spec: str) -> list[tuple[float, float]]:
    """``"200:15,1000:10"`` → [(200.0, 15.0), (1000.0, 10.0)] (events/s : seconds)."""
    out: list[tuple[float, float]] = []
    for part in spec.split(","):
        if part.strip():
            rate, _, seconds = part.partition(":")
            out.append((float(rate), float(seconds or 15)))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--events", type=int, default=20_000, help="events for the throughput runs")
    parser.add_argument("--writers", type=int, default=8, help="concurrent plans transactions")
    parser.add_argument("--latency", type=parse_latency, default=parse_latency("200:15,1000:10"),
                        help="fixed-rate runs as RATE:SECONDS,... (default 200:15,1000:10)")  # fmt: skip
    parser.add_argument("--drain", type=int, default=20_000,
                        help="events for the irm-alone drain run (0 to skip)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=300, help="events before measuring (not reported)")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--skip-sharaka", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the irm and plans processes during the throughput run")  # fmt: skip
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument("--wait-quiet", type=float, default=30.0,
                        help="wait up to this many seconds for other load on the machine to end")  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS / "e2e-latest.json")
    args = parser.parse_args(argv)
    if args.profile and shutil.which("py-spy") is None:
        log("--profile: py-spy is not on PATH; running without profiles")
    configure_logging("bench", "WARNING")
    run_main(
        lambda kafka, pg, _tmp: bench(args, kafka, pg),
        name="e2e",
        json_path=args.json,
        render=render,
        wait_quiet_s=args.wait_quiet,
    )


if __name__ == "__main__":
    main()
