"""Comments benchmark of the consultation service: HTTP request → committed → event on Kafka.

``uv run python -m bench.consultation_comments`` starts its own Kafka and PostgreSQL (devstack, in
a temp folder), runs the consultation service as a separate process (``python -m
services.consultation``, as deployed), announces a plan on the plans topic as the plans service
does, opens rounds through the API, and starts a Kafka consumer in another process
(``bench.consultation_watcher``) that notes when each ``CommentAdded`` event arrives. Then:

* checks (not timed): one comment is 201 and its event reaches Kafka, the same text again is a
  409 ``duplicate_text``, the 11th comment of one person within the minute is a 429;
* ``GET /healthz`` under wrk: the HTTP stack's ceiling on this machine;
* a plain baseline, no HTTP: ``--connections`` asyncio writers, each one ``INSERT`` (autocommit)
  into a plain table, then ``producer.send`` of the same Kafka record the service would publish
  (acks awaited in the background): the database and Kafka work alone, without auth, validation,
  rate limit, duplicate detection and outbox;
* comments under wrk (closed loop, ``--connections`` keep-alive connections, ``--duration`` s): a
  Lua script rotates ``--participants`` pre-minted participant tokens and makes every text
  unique, so that the per-person rate limit and the duplicate check run as in a real round.
  accepted/s = 2xx answers per second of load; published/s = comments whose event is on Kafka,
  per second from the first request to the last event received (the run is not over until
  every accepted comment is on Kafka);
* comments at a fixed rate (``--rate``/s open loop, a small Python HTTP/1.1 client): per comment,
  request start → HTTP answer and → event received by the watcher (end-to-end), with the stages
  in between from the outbox table.

The two comment scenarios run with one service process, then again with ``--replicas`` (default
1,2): replicas on the same database and topic prefix, each on its own port, one wrk per replica
with its share of the connections and of the participants, as two pods behind a Service would
be. The first process keeps the relay's and the timers' leader locks.

Results: a markdown table on stdout, the JSON in ``bench/results/consultation_comments-latest.json``
and the service logs in ``bench/results/logs/``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from bench.consultation_scenarios import (
    RAW_TOPIC,
    TARGET_PER_S,
    Ctx,
    Row,
    checks,
    comments_paced,
    comments_wrk,
    health,
    mint_participants,
    plain,
)
from bench.consultation_setup import Service, cpu_meter, machine_facts, seed_plan
from bench.consultation_watcher import Watcher
from bench.lib import RESULTS, log
from bench.lib.harness import load_options, parse, parser, run_main
from bench.lib.machine import code_identity
from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster
from shared.events import topics
from shared.kafka import TopicSpec, ensure_topics


# --- the run -----------------------------------------------------------------------------------
async def bench(args: argparse.Namespace, kafka: KafkaNode, pg: PostgresCluster, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    service = Service(kafka, pg, run_id, max(args.replicas), log_dir)
    watcher = Watcher()
    rows: list[Row] = []
    try:
        await service.scale(1)
        pool = await asyncpg.create_pool(service.dsn, min_size=1, max_size=2)
        assert pool is not None
        raw_topic = service.prefix + RAW_TOPIC
        await ensure_topics(kafka.bootstrap, [TopicSpec(raw_topic, 3)])
        await watcher.start(kafka.bootstrap, [service.prefix + topics.CONSULTATION, raw_topic], 6)
        plan_id = await seed_plan(service, pool)
        t0 = time.monotonic()
        tokens = await asyncio.to_thread(mint_participants, args.participants, run_id)
        log(f"minted {len(tokens)} participant tokens in {time.monotonic() - t0:.1f}s")
        meter = cpu_meter(kafka, pg, service)
        meter.add_process("watcher", watcher.pid)
        ctx = Ctx(args, service, pool, plan_id, watcher, meter, tokens, tmp, run_id)
        check = await checks(ctx)
        scenarios = args.scenarios.split(",")
        if "health" in scenarios:
            rows.append(await health(ctx))
            log(f"healthz: {rows[-1].accepted_per_s:.0f} req/s")
        if "plain" in scenarios:
            rows.append(await plain(ctx, kafka, pg))
            log(f"plain: {rows[-1].accepted_per_s:.0f} committed/s, {rows[-1].published_per_s} published/s")
        for replicas in sorted(set(args.replicas)):
            await service.scale(replicas)
            label = f"{replicas} replica{'s' if replicas > 1 else ''}"
            if "wrk" in scenarios:
                if args.warmup > 0:
                    await comments_wrk(ctx, duration=args.warmup, name="warm-up", measured=False)
                name = f"comments, wrk, {label}"
                rows.append(await comments_wrk(ctx, duration=args.duration, name=name))
            if "rate" in scenarios:
                for rate in args.rate:
                    rows.append(await comments_paced(ctx, rate, label))
                    r = rows[-1]
                    log(f"{r.name}: e2e p50 {r.end_to_end_ms.get('p50', 0):.1f} ms, "
                        f"p99 {r.end_to_end_ms.get('p99', 0):.1f} ms, statuses {r.statuses}")  # fmt: skip
        settings = service.settings()
        unpublished = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        await pool.close()
    finally:
        await watcher.stop()
        service.stop()
    met = [r.name for r in rows if r.name.startswith("comments, wrk") and r.target_met]
    return {
        "benchmark": "consultation-comments",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "code": code_identity(),
        "target": {"comments_per_s_end_to_end": TARGET_PER_S},
        "target_met": bool(met),
        "target_met_by": met,
        "setup": {
            "connections": args.connections,
            "seconds_per_run": args.duration,
            "warmup_s": args.warmup,
            "participants": args.participants,
            "replicas": sorted(set(args.replicas)),
            "rates": args.rate,
            "rate_seconds": args.rate_duration,
            "service": settings,
            "checks": check,
            "outbox_unpublished_at_end": unpublished,
        },
        "results": [asdict(r) for r in rows],
        "machine": machine_facts(kafka, pg),
    }


def _ms(d: dict[str, float], key: str) -> str:
    v = d.get(key)
    return "-" if v is None else f"{v:.1f}"


def render(report: dict[str, Any]) -> str:
    s = report["setup"]
    svc = s["service"]
    lines = [
        f"Consultation comments benchmark: {' then '.join(map(str, s['replicas']))} service "
        f"process(es), {s['connections']} connections, {s['participants']} participants "
        f"(rate limit {svc['rate_limit_inputs']} per {svc['rate_limit_window_s']:g} s each), "
        f"{report['machine']['cpus']} CPUs shared by service, Postgres, Kafka and load generator",
        "",
        "| scenario | sent | accepted/s | published/s | last event after load s | HTTP p50 / p99 ms "
        "| end-to-end p50 / p99 ms | commit→Kafka p50 / p99 ms | refused "
        "| cores: service / postgres / kafka / client / other |",
        "|---|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for r in report["results"]:
        c = r["cores"]
        refused = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
        client = c.get("load generator", 0.0) + c.get("bench", 0.0)
        pub = "-" if r["published_per_s"] is None else f"{r['published_per_s']:.0f}"
        drain = "-" if r["drain_s"] is None else f"{r['drain_s']:.2f}"
        lines.append(
            f"| {r['name']} | {r['sent']} | {r['accepted_per_s']:.0f} | {pub} | {drain} "
            f"| {_ms(r['http_ms'], 'p50')} / {_ms(r['http_ms'], 'p99')} "
            f"| {_ms(r['end_to_end_ms'], 'p50')} / {_ms(r['end_to_end_ms'], 'p99')} "
            f"| {_ms(r['commit_to_kafka_ms'], 'p50')} / {_ms(r['commit_to_kafka_ms'], 'p99')} "
            f"| {', '.join(f'{k}: {v}' for k, v in refused.items()) or 0} "
            f"| {c.get('service', 0):.2f} / {c.get('postgres', 0):.2f} / {c.get('kafka', 0):.2f} "
            f"/ {client:.2f} / {c.get('other (not ours)', 0):.2f} |"
        )
    for r in report["results"]:
        if r["stages_ms"]:
            lines += ["", f"Stages of {r['name']}, ms from the request's due time:", "",
                      "| stage | p50 | p95 | p99 | max |", "|---|---:|---:|---:|---:|"]  # fmt: skip
            for stage, d in r["stages_ms"].items():
                lines.append(
                    f"| {stage} | {_ms(d, 'p50')} | {_ms(d, 'p95')} | {_ms(d, 'p99')} | {_ms(d, 'max')} |"
                )
    lines += ["", "CPU ms per comment (published):", "",
              "| scenario | service | postgres | kafka | watcher | client | total | rows/relay pass |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in report["results"]:
        p = r["cpu_ms_per_comment"]
        if not p:
            continue
        client = p.get("load generator", 0.0) + p.get("bench", 0.0)
        rpp = "-" if r["relay_rows_per_pass"] is None else f"{r['relay_rows_per_pass']:.1f}"
        lines.append(f"| {r['name']} | {p.get('service', 0):.2f} | {p.get('postgres', 0):.2f} "
                     f"| {p.get('kafka', 0):.2f} | {p.get('watcher', 0):.2f} | {client:.2f} "
                     f"| {p.get('total', 0):.2f} | {rpp} |")  # fmt: skip
    met = f"met by {', '.join(report['target_met_by'])}" if report["target_met"] else "NOT met"
    checks = s["checks"]
    lines += [
        "",
        f"Checks: first comment {checks['first_status']}, same text again {checks['duplicate_status']} "
        f"({checks['duplicate_rule']}), comment {checks['accepted_before_limit'] + 1} of one person "
        f"{checks.get('rate_limited_status')} (Retry-After {checks.get('retry_after')} s); "
        f"outbox rows left unpublished at the end: {s['outbox_unpublished_at_end']}.",
        f"Target: >= {TARGET_PER_S:.0f} comments/s accepted and published end to end: {met}.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    options = parser("bench.consultation_comments", __doc__)
    load_options(options, per="wrk run", warmup=3.0, warmup_help="before")
    options.add_argument("--replicas", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2],
                         help="service processes to run the comment scenarios with, in turn (default 1,2): "
                              "replicas on one database, own ports, the load split between them")  # fmt: skip
    options.add_argument("--participants", type=int, default=10_000,
                         help="distinct participant tokens the load rotates through")  # fmt: skip
    options.add_argument("--rate", type=float, action="append", default=None,
                         help="fixed-rate run(s), comments per second (default 200)")  # fmt: skip
    options.add_argument("--rate-duration", type=float, default=15.0, help="seconds of each fixed-rate run")
    options.add_argument("--scenarios", default="health,plain,wrk,rate",
                         help="which to run, in order (health,plain,wrk,rate)")  # fmt: skip
    options.add_argument("--profile", action="store_true",
                         help="py-spy flame graphs of the service under wrk (py-spy on PATH)")  # fmt: skip
    args = parse(options, "consultation_comments-latest.json", argv)
    args.rate = args.rate or [200.0]
    run_main(lambda kafka, pg, tmp: bench(args, kafka, pg, tmp), args, name="comments", render=render,
             run=uvloop.run)  # fmt: skip


if __name__ == "__main__":
    main()
