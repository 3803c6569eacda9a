"""The whole loop: one ``PlanSubmitted`` committed in plans → IRM's review, consultation's closed
co-creation space and notifications' e-mail, against a raw Kafka baseline.

``uv run python -m bench.loop`` starts its own Kafka, PostgreSQL and SMTP catcher, runs plans
(outbox relay), irm, consultation and notifications as separate processes with a database each,
and drives them as plans' request handlers do: plans created (``ContactRegistered`` +
``PlanCreated``) before each scenario, then one ``unit_of_work(pool, "plans")`` transaction per
``PlanSubmitted``. Each service's effect is read from its own database. It then runs the same
message bytes through a plain aiokafka producer and consumer (``bench.lib.raw``).
See ``bench/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.e2e import parse_latency
from bench.lib import RESULTS, log
from bench.lib.cpu import CpuMeter, infra_sources, one
from bench.lib.harness import parse, parser, run_main
from bench.lib.machine import code_identity, machine_facts
from bench.lib.profile import PySpy
from bench.lib.raw import Result, run_raw_scenarios
from bench.lib.service import picked, service_env, settings_of, tunables
from bench.loop_report import render
from bench.loop_run import CONSUMERS, Loop
from devstack.kafka import KafkaNode
from devstack.mail import MailDaemon
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from services.consultation.service import SPEC as CONSULTATION_SPEC
from services.consultation.settings import ConsultationSettings
from services.irm.service import SPEC as IRM_SPEC
from services.irm.settings import IrmSettings
from services.notifications.service import SPEC as NOTIFICATIONS_SPEC
from services.notifications.settings import NotificationsSettings
from services.plans.service import SPEC as PLANS_SPEC
from services.plans.settings import PlansSettings
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.logging import configure_logging
from shared.runtime import ServiceSpec
from shared.settings import ServiceSettings

SERVICES: dict[str, ServiceSpec] = {
    "plans": PLANS_SPEC,
    "irm": IRM_SPEC,
    "consultation": CONSULTATION_SPEC,
    "notifications": NOTIFICATIONS_SPEC,
}
#: Defaults that the caller's environment may override (``NOTIFICATIONS_SMTP_CONNECTIONS=16``...).
_SERVICE_DEFAULTS = {"LOG_LEVEL": "INFO"}
_CONSUMER_SETTINGS = ("consumer_batch_max_records", "consumer_batch_timeout_ms", "db_pool_max",
                      "relay_batch_size", "relay_coalesce_s", "log_level")  # fmt: skip


def _settings(procs: dict[str, ServiceProcess]) -> dict[str, Any]:
    """What each service reads from its environment (defaults plus the caller's overrides)."""
    classes: dict[str, type[ServiceSettings]] = {
        "plans": PlansSettings,
        "irm": IrmSettings,
        "consultation": ConsultationSettings,
        "notifications": NotificationsSettings,
    }
    read = {name: settings_of(cls, procs[name].env) for name, cls in classes.items()}
    return {
        "plans": picked(read["plans"], "relay_batch_size", "relay_poll_interval_s", "relay_coalesce_s",
                        "db_pool_max", "log_level"),
        "irm": picked(read["irm"], *_CONSUMER_SETTINGS),
        "consultation": picked(read["consultation"], *_CONSUMER_SETTINGS),
        "notifications": picked(read["notifications"], *_CONSUMER_SETTINGS, "smtp_connections",
                                "delivery_batch_size", "delivery_chunk_size", "delivery_poll_interval_s"),
        "overrides": {k: v for name in SERVICES for k, v in tunables(name).items()},
    }  # fmt: skip


async def bench(args: argparse.Namespace, kafka: KafkaNode, pg: PostgresCluster, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    prefix = f"loop{run_id}."
    log_dir = RESULTS / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    mail = MailDaemon(tmp / "mail")
    mail.start()
    pools: dict[str, asyncpg.Pool] = {}
    procs: dict[str, ServiceProcess] = {}
    profiler = PySpy(shutil.which("py-spy") if args.profile else None, log_dir)
    try:
        for name, spec in SERVICES.items():
            database = f"{name}_{run_id}"
            pg.create_database(database)
            size = max(args.writers, 10) if name == "plans" else 4
            pools[name] = await create_pool(pg.dsn(database), min_size=2, max_size=size)
            # The schema exactly as the service migrates it (it finds it applied when it starts).
            await migrate(
                pools[name], load_migrations(("shared", SHARED_MIGRATIONS), (name, spec.migrations))
            )
            infra = {"DATABASE_URL": pg.dsn(database), "KAFKA_BOOTSTRAP": kafka.bootstrap,
                     "KAFKA_TOPIC_PREFIX": prefix, "HTTP_PORT": str(free_port())}  # fmt: skip
            if name == "notifications":
                infra |= {"SMTP_HOST": mail.host, "SMTP_PORT": str(mail.port)}
            procs[name] = ServiceProcess(name, service_env(name, infra, _SERVICE_DEFAULTS), log_dir)
        pg_version = str(await pools["plans"].fetchval("SHOW server_version"))
        pg_settings = {
            s: str(await pools["plans"].fetchval(f"SHOW {s}"))
            for s in ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
        }
        facts = machine_facts(kafka, pg_version, pg_settings)
        code = code_identity()
        settings = _settings(procs) | {"bench_writers": args.writers}
        meter = CpuMeter(infra_sources(kafka.pid, pg.pid))
        meter.sources["smtp catcher"] = lambda: one(mail.pid or 0)
        loop = Loop(pools, procs, meter, args.writers)

        async def start(name: str) -> None:
            procs[name].start()
            await procs[name].wait_ready()
            meter.sources[name] = lambda: one(procs[name].pid)

        results: list[Result] = []
        if not args.skip_sharaka:
            for name in SERVICES:
                await start(name)
                loop.running.add(name)
            log("loop: warm-up")
            await loop.run("warm-up", args.warmup, rate=None)
            for rate, seconds in args.latency:
                n = int(rate * seconds)
                log(f"loop: latency at {rate:g}/s, {n} events")
                results.append(await loop.run(f"loop latency @{rate:g}/s", n, rate=rate))

            def profile() -> None:
                for name in CONSUMERS:
                    profiler.start(name, procs[name].pid, args.profile_seconds)

            log(f"loop: throughput, {args.events} events, {args.writers} writers")
            results.append(await loop.run(f"loop throughput ({args.writers} writers)", args.events,
                                          rate=None, on_submit=profile))  # fmt: skip
            profiler.wait()
            for name in CONSUMERS if args.drain else ():
                log(f"loop: {name} drain, {args.drain} events piled up in Kafka while it is stopped")
                results.append(await loop.drain(f"{name} drain (consumer alone)", name, args.drain,
                                                start=start))  # fmt: skip
            for proc in procs.values():
                proc.ensure_stopped()
            for name in SERVICES:
                meter.sources.pop(name, None)
        if not args.skip_raw:
            irm_settings = settings_of(IrmSettings, procs["irm"].env)
            results += await run_raw_scenarios(
                prefix=prefix, warmup=args.warmup, latency=args.latency, events=args.events,
                bootstrap=kafka.bootstrap, max_records=irm_settings.consumer_batch_max_records,
                batch_timeout_ms=irm_settings.consumer_batch_timeout_ms, meter=meter, log_dir=log_dir,
            )  # fmt: skip
    finally:
        profiler.wait()
        for proc in procs.values():
            proc.ensure_stopped()
        for pool in pools.values():
            await pool.close()
        mail.stop()
    return {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code,
        "machine": facts,
        "settings": settings,
        "results": [asdict(r) for r in results],
        "profiles": sorted(p.name for p in log_dir.glob("profile-*")),
    }


def main(argv: Sequence[str] | None = None) -> None:
    options = parser("bench.loop", __doc__)
    options.add_argument("--events", type=int, default=2_000, help="events for the throughput runs")
    options.add_argument("--writers", type=int, default=8, help="concurrent plans transactions")
    options.add_argument("--latency", type=parse_latency, default=parse_latency("200:10,1000:2"),
                         help="fixed-rate runs as RATE:SECONDS,... (default 200:10,1000:2)")  # fmt: skip
    options.add_argument("--drain", type=int, default=1_500,
                         help="events for each consumer's drain run (0 to skip)")  # fmt: skip
    options.add_argument("--warmup", type=int, default=200, help="events before measuring (not reported)")
    options.add_argument("--skip-raw", action="store_true")
    options.add_argument("--skip-sharaka", action="store_true")
    options.add_argument("--profile", action="store_true",
                         help="py-spy the three consumers during the throughput run")  # fmt: skip
    options.add_argument("--profile-seconds", type=int, default=15)
    args = parse(options, "loop-latest.json", argv)
    if args.profile and shutil.which("py-spy") is None:
        log("--profile: py-spy is not on PATH; running without profiles")
    configure_logging("bench", "WARNING")
    run_main(lambda kafka, pg, tmp: bench(args, kafka, pg, tmp), args, name="loop", render=render)


if __name__ == "__main__":
    main()
