"""Read benchmark of the plans service: the public plan page and a full-text listing.

``uv run python -m bench.plans_read`` starts its own Kafka and PostgreSQL (devstack, in a temp
folder), runs the plans service as a separate process (``python -m services.plans``, as it is
deployed), seeds one plan with 100 commitments of 5 milestones each (plus a few more plans, so
that the search has a corpus to rank) through the HTTP write API, then loads, one after the
other, for ``--duration`` seconds each at a fixed number of keep-alive connections:

* ``GET /healthz``: the framework's ceiling on this machine (no database, a tiny answer, and no
  tracing span: ``shared.http`` leaves the health checks out of OpenTelemetry);
* ``GET /v1/plans/{id}/full``: the public plan page as plain JSON (the target: >= 500 req/s
  with p99 <= 50 ms), then the same page for a client that accepts gzip, as browsers do;
* ``GET /v1/commitments?q=...&limit=50``: a full-text search page.

The load generator is ``wrk`` when it is on PATH (it costs the least CPU, which matters when
service, Postgres and load generator share two cores), else a multi-process Python client.
Latency is measured closed-loop: each connection sends its next request when the answer to the
previous one has arrived, so the throughput is the one reached at that concurrency. The CPU that
each part used during each run is reported too, so the reader sees where the cores went, and
``other`` shows what the rest of the machine was doing meanwhile (numbers taken while another
program was busy are not worth comparing).

``--workers N`` runs N service processes (replicas on their own ports) and splits the load
between them. ``--profile`` records a py-spy flame graph of the (first) service process during
each endpoint's run, to ``bench/results/logs/profile-plans-read-<endpoint>.svg`` (py-spy on PATH;
it costs CPU on the same cores, so take the figures from a run without it). Results go to
``bench/results/plans-read-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from bench.lib import RESULTS, log
from bench.lib.cpu import machine_busy_s, process_cpu_s, tree
from bench.lib.harness import load_options, parse, parser, run_main
from bench.lib.machine import http_machine_facts
from bench.lib.profile import PySpy
from bench.lib.report import cores_cell
from bench.lib.service import service_env
from bench.lib.stats import percentile
from bench.lib.wrk import LoadResult, run_wrk
from devstack.kafka import KafkaNode
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from shared.auth import DEV_SECRET, mint_token

TARGET_RPS = 500.0
TARGET_P99_MS = 50.0


# Themes of the seeded commitments, in the languages OGP members write them in. Every fifth
# commitment is about budgets, so the search page has matches to rank and more than one page.
THEMES: list[dict[str, str]] = [
    {
        "en": "Budget transparency: publish the executive budget proposal and audit reports",
        "fr": "Transparence budgétaire : publier le projet de budget et les rapports d'audit",
        "es": "Transparencia presupuestaria: publicar el proyecto de presupuesto",
        "ar": "شفافية الميزانية ونشر تقارير التدقيق",
    },
    {
        "en": "Open contracting data for public procurement",
        "fr": "Données ouvertes sur les marchés publics",
    },
    {
        "en": "Beneficial ownership register of companies",
        "es": "Registro de beneficiarios finales de las empresas",
    },
    {
        "en": "Implement the access to information law in every ministry",
        "ar": "تنفيذ قانون الحق في الحصول على المعلومات",
    },
    {
        "en": "Citizen participation in local development planning",
        "fr": "Participation citoyenne à la planification du développement local",
    },
]
OBJECTIVE = (
    "Make the information that the public needs to follow this policy available in open formats, "
    "on time and free of charge, and give civil society a regular forum to discuss it with the "
    "agencies in charge, so that decisions can be questioned and improved."
)


# --- CPU ---------------------------------------------------------------------------------------
class CpuMeter:
    """CPU used by the service, by Postgres (postmaster and backends) and by the whole machine
    between :meth:`start` and :meth:`stop`, in average cores."""

    def __init__(self, service_pids: Sequence[int], postmaster_pid: int | None) -> None:
        self.service_pids = list(service_pids)
        self.postmaster_pid = postmaster_pid

    def _postgres_s(self) -> dict[int, float]:
        return tree(self.postmaster_pid) if self.postmaster_pid is not None else {}

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine0 = machine_busy_s()
        self._service0 = sum(process_cpu_s(pid) for pid in self.service_pids)
        self._pg0 = self._postgres_s()

    def stop(self, load_generator_s: float) -> dict[str, float]:
        wall = time.monotonic() - self._t0
        pg1 = self._postgres_s()
        pg = sum(max(0.0, cpu - self._pg0.get(pid, 0.0)) for pid, cpu in pg1.items())
        used = {
            "service": (sum(process_cpu_s(pid) for pid in self.service_pids) - self._service0) / wall,
            "postgres": pg / wall,
            "load generator": load_generator_s / wall,
            "machine (busy)": (machine_busy_s() - self._machine0) / wall,
        }
        ours = used["service"] + used["postgres"] + used["load generator"]
        used["other (not ours)"] = max(0.0, used["machine (busy)"] - ours)
        return {k: round(v, 2) for k, v in used.items()}


# --- the service under test --------------------------------------------------------------------
def plans_env(kafka: KafkaNode, database_url: str, run_id: str) -> dict[str, str]:
    """The caller's ``PLANS_*`` variables are left out: the service runs with its defaults."""
    infra = {"DATABASE_URL": database_url, "KAFKA_BOOTSTRAP": kafka.bootstrap,
             "KAFKA_TOPIC_PREFIX": f"benchread{run_id}.", "HTTP_PORT": str(free_port())}  # fmt: skip
    defaults = {"AUTH_DEV_SECRET": DEV_SECRET, "LOG_LEVEL": "WARNING"}
    return service_env("plans", infra, defaults, overrides=False)


# --- seeding -----------------------------------------------------------------------------------
async def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")
    body: dict[str, Any] = r.json()
    return body


async def seed_plan(
    http: httpx.AsyncClient, member_id: str, title: str, commitments: int, milestones: int, offset: int
) -> str:
    """One plan with ``commitments`` commitments of ``milestones`` milestones each, submitted."""
    plan = await _ok(
        await http.post(
            "/v1/plans",
            json={
                "member_id": member_id,
                "title": title,
                "start_date": "2025-01-01",
                "end_date": "2027-01-01",
                "point_of_contact": {"name": "Bench Contact", "email": "bench@example.org"},
            },
        )
    )
    pid = str(plan["id"])
    await _ok(await http.post(f"/v1/plans/{pid}/transitions", json={"to": "co_creation"}), 200)
    for i in range(commitments):
        theme = THEMES[(i + offset) % len(THEMES)]
        c = await _ok(
            await http.post(
                f"/v1/plans/{pid}/commitments",
                json={
                    "title": {lang: f"{text} ({i + 1})" for lang, text in theme.items()},
                    "original_language": "en",
                    "objective": OBJECTIVE,
                    "problem": {"en": "Citizens cannot follow how public money is planned and spent."},
                    "lead_agency": "Ministry of Finance",
                    "values": {"access_to_information": True, "public_accountability": i % 2 == 0},
                    "policy_areas": ["fiscal-openness", "open-data"],
                    "start_date": "2025-03-01",
                    "end_date": "2026-12-31",
                },
            )
        )
        for j in range(milestones):
            await _ok(
                await http.post(
                    f"/v1/commitments/{c['id']}/milestones",
                    json={
                        "title": f"Milestone {j + 1}: publish the dataset and hold a public meeting",
                        "deliverable": "Dataset online in open format; minutes published",
                        "start_date": "2025-03-01",
                        "end_date": "2026-06-30",
                        "responsible": "Open data unit",
                    },
                )
            )
    await _ok(await http.post(f"/v1/plans/{pid}/transitions", json={"to": "submitted"}), 200)
    return pid


async def seed(base_url: str, commitments: int, milestones: int, corpus_plans: int) -> str:
    """The plan under test (returned) and ``corpus_plans`` more plans without milestones."""
    headers = {"Authorization": "Bearer " + mint_token(DEV_SECRET, "bench", ["staff"])}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        member = await _ok(
            await http.post(
                "/v1/members", json={"name": "Benchland", "kind": "national", "country_code": "BL"}
            )
        )
        mid = str(member["id"])
        main = seed_plan(http, mid, "National action plan 2025-2027", commitments, milestones, 0)
        others = [
            seed_plan(http, mid, f"Corpus plan {k + 1}", commitments, 0, k + 1) for k in range(corpus_plans)
        ]
        plan_id, *_ = await asyncio.gather(main, *others)
    return str(plan_id)


# --- load generators ---------------------------------------------------------------------------
def _python_worker(url: str, seconds: float, concurrency: int, encoding: str) -> dict[str, Any]:
    """One client process: ``concurrency`` keep-alive connections, each in a closed loop."""
    import resource

    async def go() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        size = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Accept-Encoding": encoding}
        async with httpx.AsyncClient(limits=limits, timeout=5, headers=headers) as http:
            deadline = time.perf_counter() + seconds

            async def loop() -> None:
                nonlocal errors, size
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    try:
                        r = await http.get(url)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append((time.perf_counter() - t0) * 1000)
                    size = r.num_bytes_downloaded
                    if r.status_code != 200:
                        errors += 1

            await asyncio.gather(*(loop() for _ in range(concurrency)))
        return {"latencies": latencies, "errors": errors, "size": size}

    out = asyncio.run(go())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = usage.ru_utime + usage.ru_stime
    return out


def run_python(
    urls: Sequence[str], seconds: float, connections: int, processes: int, encoding: str
) -> LoadResult:
    """``processes`` client processes (at least one per URL), ``connections`` shared between them."""
    processes = max(processes, len(urls))
    per = max(1, connections // processes)
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        n = processes
        targets = [urls[i % len(urls)] for i in range(n)]
        parts = list(pool.map(_python_worker, targets, [seconds] * n, [per] * n, [encoding] * n))
    wall = min(time.monotonic() - started, seconds + 1)
    lat = sorted(x for p in parts for x in p["latencies"])
    return LoadResult(
        client=f"python httpx {processes}x{per}",
        requests=len(lat),
        seconds=seconds if wall > seconds else wall,
        errors=sum(int(p["errors"]) for p in parts),
        p50_ms=percentile(lat, 50),
        p90_ms=percentile(lat, 90),
        p99_ms=percentile(lat, 99),
        max_ms=lat[-1] if lat else float("nan"),
        mean_ms=sum(lat) / len(lat) if lat else float("nan"),
        bytes_per_response=max(int(p["size"]) for p in parts),
        client_cpu_s=sum(float(p["cpu_s"]) for p in parts),
    )


# --- the run -----------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    path: str
    result: LoadResult
    cores: dict[str, float] = field(default_factory=dict)
    encoding: str = "identity"


def load(
    args: argparse.Namespace, urls: Sequence[str], encoding: str, wrk_tmp: Path | None, seconds: float
) -> LoadResult:
    """``encoding`` is sent as ``Accept-Encoding`` (``identity``: plain JSON, as wrk asks by default);
    wrk (its scripts in ``wrk_tmp``) when given a folder, else the Python client."""
    if wrk_tmp is not None:
        jobs = [(url, "") for url in urls]  # no ``request``: wrk GETs the url
        headers = {"Accept-Encoding": encoding}
        return run_wrk(jobs, seconds, args.connections, args.threads, wrk_tmp, headers).result
    return run_python(urls, seconds, args.connections, args.processes, encoding)


async def bench(args: argparse.Namespace, kafka: KafkaNode, pg: PostgresCluster, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    database = f"plans_read_{run_id}"
    pg.create_database(database)
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    # Several processes are replicas of one service: one database, one topic prefix, own ports.
    services = [
        ServiceProcess(
            "plans", plans_env(kafka, pg.dsn(database), run_id), log_dir, log_name=f"plans-read{i or ''}"
        )
        for i in range(args.workers)
    ]
    service = services[0]
    profiler = PySpy(shutil.which("py-spy") if args.profile else None, log_dir)
    try:
        for proc in services:
            proc.start()
        for proc in services:
            await proc.wait_ready()
        t0 = time.monotonic()
        plan_id = await seed(service.base_url, args.commitments, args.milestones, args.corpus_plans)
        seeded_s = time.monotonic() - t0
        n_commitments = args.commitments * (1 + args.corpus_plans)
        log(f"seeded {n_commitments} commitments, {args.commitments * args.milestones} milestones "
            f"in {seeded_s:.0f}s")  # fmt: skip
        async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as http:
            full = await http.get(f"/v1/plans/{plan_id}/full")
            listing = await http.get("/v1/commitments", params={"q": args.query, "limit": 50})
        checks = {
            "full_status": full.status_code,
            "full_commitments": len(full.json().get("commitments", [])) if full.status_code == 200 else 0,
            "full_bytes": len(full.content),
            "list_status": listing.status_code,
            "list_items": len(listing.json().get("items", [])) if listing.status_code == 200 else 0,
            "list_bytes": len(listing.content),
        }
        log(f"checks: {checks}")

        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
        wrk_tmp = tmp if use_wrk else None
        page = f"plan page ({args.commitments} commitments x {args.milestones} milestones)"
        cases = {
            "health": ("baseline: health check", "/healthz", "identity"),
            "page": (page, f"/v1/plans/{plan_id}/full", "identity"),
            "page-gzip": (f"{page}, gzip", f"/v1/plans/{plan_id}/full", "gzip"),
            "search": (
                f"search, first page (q={args.query}, limit 50)",
                f"/v1/commitments?q={args.query}&limit=50",
                "identity",
            ),
        }
        rows: list[Row] = []
        for key in args.endpoints.split(","):
            name, path, encoding = cases[key]
            urls = [proc.base_url + path for proc in services]
            if args.warmup > 0:
                load(args, urls, encoding, wrk_tmp, args.warmup)
            profiler.start(f"plans-read-{key}", service.pid, max(1, int(args.duration)))
            meter = CpuMeter([proc.pid for proc in services], pg.pid)
            meter.start()
            result = load(args, urls, encoding, wrk_tmp, args.duration)
            cores = meter.stop(result.client_cpu_s)
            profiler.wait()
            rows.append(Row(name, path, result, cores, encoding))
            log(f"{name}: {result.rps:.0f} req/s, p99 {result.p99_ms:.1f} ms, errors {result.errors}")
    finally:
        profiler.wait()
        for proc in services:
            proc.ensure_stopped()

    plan_row = next((r.result for r in rows if "/full" in r.path and r.encoding == "identity"), None)
    return {
        "benchmark": "plans-read",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "target": {"endpoint": "/v1/plans/{id}/full", "rps": TARGET_RPS, "p99_ms": TARGET_P99_MS},
        "target_met": plan_row is not None
        and plan_row.rps >= TARGET_RPS
        and plan_row.p99_ms <= TARGET_P99_MS
        and not plan_row.errors,
        "setup": {
            "commitments_in_plan": args.commitments,
            "milestones_per_commitment": args.milestones,
            "commitments_in_corpus": n_commitments,
            "seconds_per_run": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "service_processes": args.workers,
            "seeding_s": round(seeded_s, 1),
            "checks": checks,
        },
        "results": [
            {
                "name": r.name,
                "path": r.path,
                "accept_encoding": r.encoding,
                "rps": round(r.result.rps, 1),
                **asdict(r.result),
                "cores": r.cores,
                "cpu_ms_per_request": cpu_ms_per_request(r),
            }
            for r in rows
        ],
        "machine": http_machine_facts(pg),
        "profiles": sorted(p.name for p in log_dir.glob("profile-plans-read-*")) if args.profile else [],
    }


def cpu_ms_per_request(row: Row) -> dict[str, float]:
    """CPU milliseconds the service and Postgres spent per answer: what bounds the rate once the
    cores are full, and much less sensitive to the machine's other load than req/s."""
    rps = row.result.rps
    if not rps:
        return {}
    return {part: round(row.cores.get(part, 0.0) * 1000 / rps, 3) for part in ("service", "postgres")}


def render(report: dict[str, Any]) -> str:
    s = report["setup"]
    lines = [
        f"Plans read benchmark: {s['service_processes']} service process(es), {s['connections']} "
        f"connections, {s['seconds_per_run']} s per endpoint, "
        f"{report['machine']['cpus']} CPUs shared by service, Postgres and load generator",
        "",
        "| endpoint | requests | req/s | x health | p50 ms | p99 ms | max ms | errors | bytes/answer "
        "| cores: service / postgres / client / other | CPU ms/answer: service / postgres |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    health = next((r["rps"] for r in report["results"] if r["path"] == "/healthz"), None)
    for r in report["results"]:
        ratio = f"{r['rps'] / health:.2f}" if health else "-"
        ms = r.get("cpu_ms_per_request") or {}
        lines.append(
            f"| {r['name']} | {r['requests']} | {r['rps']:.0f} | {ratio} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['errors']} | {r['bytes_per_response']} "
            f"| {cores_cell(r['cores'])} "
            f"| {ms.get('service', 0):.3f} / {ms.get('postgres', 0):.3f} |"
        )
    met = "met" if report["target_met"] else "NOT met"
    lines += [
        "",
        f"Target for the plan page: >= {TARGET_RPS:.0f} req/s with p99 <= {TARGET_P99_MS:.0f} ms: {met}.",
    ]
    if report.get("profiles"):
        lines.append(f"py-spy profiles of the service: bench/results/logs/ {report['profiles']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    options = parser("bench.plans_read", __doc__)
    load_options(options, per="endpoint")
    options.add_argument("--workers", type=int, default=1,
                         help="service processes (replicas, own ports; the load is split)")  # fmt: skip
    options.add_argument("--processes", type=int, default=2, help="Python client processes (without wrk)")
    options.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    options.add_argument("--commitments", type=int, default=100)
    options.add_argument("--milestones", type=int, default=5)
    options.add_argument("--corpus-plans", type=int, default=4, help="more plans for the search to rank")
    options.add_argument("--query", default="budget", help="full-text query of the search page")
    options.add_argument("--endpoints", default="health,page,page-gzip,search",
                         help="which to load, in order (health,page,page-gzip,search)")  # fmt: skip
    options.add_argument("--profile", action="store_true",
                         help="py-spy flame graphs of the service, one per endpoint")  # fmt: skip
    args = parse(options, "plans-read-latest.json", argv)
    if args.profile and shutil.which("py-spy") is None:
        log("--profile: py-spy is not on PATH; running without profiles")
    run_main(lambda kafka, pg, tmp: bench(args, kafka, pg, tmp), args, name="read", render=render)


if __name__ == "__main__":
    main()
