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
import json
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from bench.lib import RESULTS, log
from bench.lib.cpu import CpuMeter, CpuSnapshot, infra_sources, one
from bench.lib.harness import parse, parser, run_main
from bench.lib.machine import code_identity, machine_facts
from bench.lib.outbox import outbox_mark, published_since, rows_per_relay_pass
from bench.lib.pacing import paced, until
from bench.lib.profile import PySpy
from bench.lib.raw import Result, plan_submitted, run_raw_scenarios
from bench.lib.report import cpu_tables, fmt, latency_table
from bench.lib.service import picked, service_env, settings_of, tunables
from bench.lib.stats import summarize
from devstack.kafka import KafkaNode
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from services.irm.service import SPEC as IRM_SPEC
from services.irm.settings import IrmSettings
from services.plans.service import SPEC as PLANS_SPEC
from services.plans.settings import PlansSettings
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.logging import configure_logging
from shared.uow import UnitOfWork, unit_of_work

#: Defaults that the caller's environment may override (``IRM_CONSUMER_BATCH_MAX_RECORDS=500``...).
_SERVICE_DEFAULTS = {"LOG_LEVEL": "INFO"}


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
    #: How many members a scenario's plans belong to (OGP has about 75 national and 150 local
    #: members; one member submitting every plan would serialise the IRM on its findings lock).
    members: int = 50

    def new_members(self) -> list[uuid.UUID]:
        return [uuid.uuid4() for _ in range(self.members)]

    async def commit_one(self, member_id: uuid.UUID) -> None:
        """What a plans request handler does: one transaction, one event into the outbox."""
        async with unit_of_work(self.plans, "plans", UnitOfWork) as uow:
            uow.publish(plan_submitted(member_id))

    async def _applied(self, members: list[uuid.UUID]) -> int:
        return int(
            await self.irm.fetchval("SELECT count(*) FROM reviews WHERE member_id = ANY($1::uuid[])", members)
        )

    async def _write(self, members: list[uuid.UUID], count: int, rate: float | None, writers: int) -> float:
        """Commit ``count`` events, as fast as ``writers`` can or at ``rate``; returns seconds."""
        w0 = time.perf_counter()
        if rate is None:
            remaining = count

            async def writer() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await self.commit_one(members[remaining % len(members)])

            await asyncio.gather(*(writer() for _ in range(writers)))
        else:
            await paced(rate, count, lambda i: self.commit_one(members[i % len(members)]))
        return time.perf_counter() - w0

    async def run(
        self, name: str, count: int, *, rate: float | None, writers: int, stall_s: float = 30.0
    ) -> Result:
        members = self.new_members()  # they also tag this scenario's reviews
        mark = await outbox_mark(self.plans)
        apply0 = await scrape_processing(self.irm_port)
        cpu0 = self.meter.snapshot()
        writer_s = await self._write(members, count, rate, writers)
        done = await until(lambda: self._applied(members), count, stall_s=stall_s)
        cpu1 = self.meter.snapshot()
        apply1 = await scrape_processing(self.irm_port)
        if done < count:
            log(f"{name}: only {done}/{count} reviews after {stall_s:.0f}s without progress")
        return await self._result(
            name, count, rate, members, mark, (cpu0, cpu1), (apply0, apply1), writer_s, done, False
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
        members = self.new_members()
        mark = await outbox_mark(self.plans)
        stop_irm()
        writer_s = await self._write(members, count, None, writers)
        published = await until(
            lambda: published_since(self.plans, mark), count, stall_s=stall_s, every_s=0.2
        )
        if published < count:
            log(f"{name}: the plans relay published only {published}/{count}")
        restart = asyncio.create_task(start_irm())
        await until(lambda: self._applied(members), 1, stall_s=90, every_s=0.02)
        cpu0 = self.meter.snapshot()
        before = await self._applied(members)
        done = await until(lambda: self._applied(members), count, stall_s=stall_s)
        cpu1 = self.meter.snapshot()
        await restart
        apply1 = await scrape_processing(self.irm_port)  # a fresh process: its counters started at 0
        return await self._result(
            name, count, None, members, mark, (cpu0, cpu1), ((0.0, 0.0), apply1), writer_s,
            done - before, True,
        )  # fmt: skip

    async def _result(
        self,
        name: str,
        count: int,
        rate: float | None,
        members: list[uuid.UUID],
        mark: int,
        cpu: tuple[CpuSnapshot, CpuSnapshot],
        apply: tuple[tuple[float, float], tuple[float, float]],
        writer_s: float,
        events_in_cpu_window: int,
        from_first_effect: bool,
    ) -> Result:
        apply0, apply1 = apply
        out = await self.plans.fetch(
            "SELECT event_id, key, created_at, published_at FROM outbox WHERE id > $1", mark
        )
        reviews = {
            str(r["plan_id"]): r["scheduled_at"]
            for r in await self.irm.fetch(
                "SELECT plan_id, scheduled_at FROM reviews WHERE member_id = ANY($1::uuid[])", members
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
        irm_apply = {
            "mean_ms": round(applied_s / applied_n * 1000, 3) if applied_n else float("nan"),
            "busy_fraction": round(applied_s / elapsed, 3) if elapsed > 0 else float("nan"),
        }
        since = "created_at >= $1 AND published_at IS NOT NULL"
        return Result.measured(
            name,
            "sharaka",
            events=count,
            target_rate=rate,
            elapsed_s=elapsed,
            writer_s=writer_s,
            latencies_ms=effect,
            completed=len(reviews),
            cpu=cpu,
            cpu_events=events_in_cpu_window,
            stages_ms={
                "relay published (outbox.published_at)": summarize(relay),
                "irm claimed (inbox.processed_at)": summarize(claim),
                "irm effect (reviews.scheduled_at)": summarize(effect),
            },
            irm_apply=irm_apply,
            relay_rows_per_pass={
                "plans": await rows_per_relay_pass(self.plans, since, first_commit),
                "irm": await rows_per_relay_pass(self.irm, since, first_commit),
            },
        )


# --- the run -----------------------------------------------------------------------------------
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

    def process(service: str, database: str) -> ServiceProcess:
        infra = {"DATABASE_URL": pg.dsn(database), "KAFKA_BOOTSTRAP": kafka.bootstrap,
                 "KAFKA_TOPIC_PREFIX": prefix, "HTTP_PORT": str(free_port())}  # fmt: skip
        return ServiceProcess(service, service_env(service, infra, _SERVICE_DEFAULTS), log_dir)

    plans, irm = process("plans", plans_db), process("irm", irm_db)
    # What the services will read from that environment (defaults plus the caller's overrides).
    plans_settings = settings_of(PlansSettings, plans.env)
    irm_settings = settings_of(IrmSettings, irm.env)
    settings = {
        "plans": picked(plans_settings, "relay_batch_size", "relay_poll_interval_s", "relay_coalesce_s",
                       "kafka_linger_ms", "db_pool_max", "log_level"),
        "irm": picked(irm_settings, "consumer_batch_max_records", "consumer_batch_timeout_ms",
                     "db_pool_max", "relay_batch_size", "relay_coalesce_s", "kafka_linger_ms", "log_level"),
        "overrides": {**tunables("plans"), **tunables("irm")},
        "bench_writers": args.writers,
        "bench_members": args.members,
    }  # fmt: skip

    meter = CpuMeter(infra_sources(kafka.pid, pg.pid))
    results: list[Result] = []
    profiler = PySpy(shutil.which("py-spy") if args.profile else None, log_dir)
    try:
        if not args.skip_sharaka:
            plans.start()
            await plans.wait_ready()
            irm.start()
            await irm.wait_ready()
            meter.sources["plans (relay)"] = lambda: one(plans.pid)
            meter.sources["irm (consumer)"] = lambda: one(irm.pid)
            sharaka = Sharaka(plans_pool, irm_pool, meter, irm.port, members=args.members)
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
            results += await run_raw_scenarios(
                prefix=prefix, warmup=args.warmup, latency=args.latency, events=args.events,
                bootstrap=kafka.bootstrap, max_records=irm_settings.consumer_batch_max_records,
                batch_timeout_ms=irm_settings.consumer_batch_timeout_ms, meter=meter, log_dir=log_dir,
            )  # fmt: skip
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


# --- report ------------------------------------------------------------------------------------
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
        *latency_table(results),
    ]
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
            f"writers): {fmt(sharaka_tp['offered_per_s'])} tx/s"
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
            cells = [f"{fmt(s.get('p50'))} / {fmt(s.get('p99'))}" for s in r["stages_ms"].values()]
            cells += [fmt(r["irm_apply"].get("mean_ms"), 2), fmt(r["irm_apply"].get("busy_fraction"), 2)]
            passes = r["relay_rows_per_pass"]
            cells.append(f"{fmt(passes.get('plans'))}, {fmt(passes.get('irm'))}")
            lines.append(f"| {r['scenario']} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "irm apply mean: time per event inside its transaction (sharaka_event_processing_seconds);",
            "irm in tx: share of the scenario the consumer spent inside those transactions;",
            "rows/relay pass: outbox rows published per relay pass (1.0 = one Kafka round per event).",
        ]
    order = ["bench", "plans (relay)", "irm (consumer)", "raw consumer", "kafka", "postgres",
             "kernel irq", "other (not ours)", "vm steal", "machine (busy)"]  # fmt: skip
    lines += cpu_tables(results, order, m["cpus_usable"], [
        "CPU ms per event in the throughput runs (what bounds throughput once the cores are full:",
        f"{m['cpus_usable']} cores ÷ total = the most this machine can do):",
    ])  # fmt: skip
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
        lines.append(f"- ≥ 1,000 events/s end to end: {fmt(sharaka_tp['events_per_s'])} → "
                     f"{'MET' if ok else 'MISSED'}")  # fmt: skip
    if low and low["latency_ms"]:
        ok = low["latency_ms"]["p99"] <= 250 and low["completed"] == low["events"]
        lines.append(f"- p99 ≤ 250 ms at 200 events/s: {fmt(low['latency_ms']['p99'])} ms → "
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
    options = parser("bench.e2e", __doc__)
    options.add_argument("--events", type=int, default=20_000, help="events for the throughput runs")
    options.add_argument("--writers", type=int, default=8, help="concurrent plans transactions")
    options.add_argument(
        "--members", type=int, default=50, help="members each scenario's plans belong to (round robin)"
    )
    options.add_argument("--latency", type=parse_latency, default=parse_latency("200:15,1000:10"),
                         help="fixed-rate runs as RATE:SECONDS,... (default 200:15,1000:10)")  # fmt: skip
    options.add_argument("--drain", type=int, default=20_000,
                         help="events for the irm-alone drain run (0 to skip)")  # fmt: skip
    options.add_argument(
        "--warmup", type=int, default=3000,
        help="events before measuring, not reported (enough for Kafka's JVM to compile its hot paths)",
    )  # fmt: skip
    options.add_argument("--skip-raw", action="store_true")
    options.add_argument("--skip-sharaka", action="store_true")
    options.add_argument("--profile", action="store_true",
                         help="py-spy the irm and plans processes during the throughput run")  # fmt: skip
    options.add_argument("--profile-seconds", type=int, default=20)
    args = parse(options, "e2e-latest.json", argv)
    if args.profile and shutil.which("py-spy") is None:
        log("--profile: py-spy is not on PATH; running without profiles")
    configure_logging("bench", "WARNING")
    run_main(lambda kafka, pg, _tmp: bench(args, kafka, pg), args, name="e2e", render=render)


if __name__ == "__main__":
    main()
