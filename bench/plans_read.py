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
between them. Results go to ``bench/results/plans-read-latest.json``.
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
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from bench.harness import REPO, RESULTS, _machine_busy_s, log, run_main
from devstack.kafka import KafkaNode
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from shared.auth import DEV_SECRET, mint_token

TARGET_RPS = 500.0
TARGET_P99_MS = 50.0

#: wrk reports its own summary in JSON through this hook (latencies in microseconds).
WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  local q = {}
  for _, p in ipairs(QUANTILES) do q[#q + 1] = string.format('[%g,%d]', p, latency:percentile(p)) end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,"non_2xx":%d,'
    .. '"max_us":%d,"mean_us":%.1f,"quantiles":[%s]}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency.max, latency.mean, table.concat(q, ',')))
end
"""
#: Percentiles wrk reports (its histogram is exact to the microsecond): fine-grained in the tail,
#: so that the runs against several service processes can be merged into one distribution.
QUANTILES = [*range(1, 100), *(99 + k / 10 for k in range(1, 10)), 99.95, 99.99]

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


# --- small utilities ---------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def _process_cpu_s(pid: int) -> float:
    """user + system CPU seconds of one process (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    rest = stat.rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def _children(ppid: int) -> list[int]:
    """Processes whose parent is ``ppid`` (the postmaster's backends)."""
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == ppid:
                out.append(int(entry.name))
    return out


class CpuMeter:
    """CPU used by the service, by Postgres (postmaster and backends) and by the whole machine
    between :meth:`start` and :meth:`stop`, in average cores."""

    def __init__(self, service_pids: Sequence[int], postmaster_pid: int | None) -> None:
        self.service_pids = list(service_pids)
        self.postmaster_pid = postmaster_pid

    def _postgres_s(self) -> dict[int, float]:
        if self.postmaster_pid is None:
            return {}
        pids = [self.postmaster_pid, *_children(self.postmaster_pid)]
        return {pid: _process_cpu_s(pid) for pid in pids}

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine0 = _machine_busy_s()
        self._service0 = sum(_process_cpu_s(pid) for pid in self.service_pids)
        self._pg0 = self._postgres_s()

    def stop(self, load_generator_s: float) -> dict[str, float]:
        wall = time.monotonic() - self._t0
        pg1 = self._postgres_s()
        pg = sum(max(0.0, cpu - self._pg0.get(pid, 0.0)) for pid, cpu in pg1.items())
        used = {
            "service": (sum(_process_cpu_s(pid) for pid in self.service_pids) - self._service0) / wall,
            "postgres": pg / wall,
            "load generator": load_generator_s / wall,
            "machine (busy)": (_machine_busy_s() - self._machine0) / wall,
        }
        ours = used["service"] + used["postgres"] + used["load generator"]
        used["other (not ours)"] = max(0.0, used["machine (busy)"] - ours)
        return {k: round(v, 2) for k, v in used.items()}


# --- the service under test --------------------------------------------------------------------
def service_env(kafka: KafkaNode, database_url: str, run_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANS_")}
    env.update(
        {
            "PLANS_DATABASE_URL": database_url,
            "PLANS_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "PLANS_KAFKA_TOPIC_PREFIX": f"benchread{run_id}.",
            "PLANS_HTTP_PORT": str(free_port()),
            "PLANS_AUTH_DEV_SECRET": DEV_SECRET,
            "PLANS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


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
@dataclass
class LoadResult:
    client: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    bytes_per_response: int
    client_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def merged_percentile(runs: Sequence[tuple[int, list[tuple[float, float]]]], pct: float) -> float:
    """``pct`` of the mixture of several runs' latency distributions, each given as its request
    count and (percentile, latency) pairs: the smallest latency below which ``pct`` of all the
    requests fall."""
    total = sum(n for n, _ in runs)
    if total == 0:
        return float("nan")
    for x in sorted({lat for _, table in runs for _, lat in table}):
        below = sum(n * max((p for p, lat in table if lat <= x), default=0.0) / 100 for n, table in runs)
        if below >= pct / 100 * total - 1e-9:
            return x
    return max(lat for _, table in runs for _, lat in table)


def wrk_result(runs: Sequence[dict[str, Any]], per: int, cpu_s: float) -> LoadResult:
    """One result from the JSON summaries of wrk processes run side by side (one per service
    process, ``per`` connections each): counts add up, percentiles merge by request count."""
    n = sum(int(r["requests"]) for r in runs)
    tables = [(int(r["requests"]), [(float(p), lat / 1000) for p, lat in r["quantiles"]]) for r in runs]
    return LoadResult(
        client=f"wrk -c{per}" + (f" x {len(runs)} processes" if len(runs) > 1 else ""),
        requests=n,
        seconds=max(r["duration_us"] for r in runs) / 1e6,
        errors=sum(int(r["errors"]) + int(r["non_2xx"]) for r in runs),
        p50_ms=merged_percentile(tables, 50),
        p90_ms=merged_percentile(tables, 90),
        p99_ms=merged_percentile(tables, 99),
        max_ms=max(r["max_us"] for r in runs) / 1000,
        mean_ms=sum(r["mean_us"] * int(r["requests"]) for r in runs) / n / 1000 if n else float("nan"),
        bytes_per_response=sum(int(r["bytes"]) for r in runs) // n if n else 0,
        client_cpu_s=cpu_s,
    )


def run_wrk(
    urls: Sequence[str], seconds: float, connections: int, threads: int, script: Path, encoding: str
) -> LoadResult:
    """One wrk per URL (service process), all at once, ``connections`` shared between them."""
    per = max(1, connections // len(urls))
    argv = ["wrk", f"-t{min(threads, per)}", f"-c{per}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    argv += ["-H", f"Accept-Encoding: {encoding}", "-s", str(script)]
    lua_quantiles = "QUANTILES = {" + ",".join(f"{q:g}" for q in QUANTILES) + "}\n"
    script.write_text(lua_quantiles + WRK_LUA, encoding="utf-8")
    runs: list[dict[str, Any]] = []
    cpu_s = 0.0
    with contextlib.ExitStack() as stack:
        started = []
        for url in urls:
            out = stack.enter_context(tempfile.TemporaryFile())
            started.append((subprocess.Popen([*argv, url], stdout=out, stderr=subprocess.STDOUT), out))
        for proc, out in started:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu_s += usage.ru_utime + usage.ru_stime
            out.seek(0)
            text = out.read().decode(errors="replace")
            line = next((x for x in text.splitlines() if x.startswith("WRKJSON ")), None)
            if proc.returncode != 0 or line is None:
                raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}")
            runs.append(json.loads(line.removeprefix("WRKJSON ")))
    return wrk_result(runs, per, cpu_s)


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
    args: argparse.Namespace, urls: Sequence[str], encoding: str, script: Path | None, seconds: float
) -> LoadResult:
    """``encoding`` is sent as ``Accept-Encoding`` (``identity``: plain JSON, as wrk asks by default)."""
    if script is not None:
        return run_wrk(urls, seconds, args.connections, args.threads, script, encoding)
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
            "plans", service_env(kafka, pg.dsn(database), run_id), log_dir, log_name=f"plans-read{i or ''}"
        )
        for i in range(args.workers)
    ]
    service = services[0]
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
        script: Path | None = None
        if use_wrk:
            script = tmp / "report.lua"
            script.write_text(WRK_LUA, encoding="utf-8")  # rewritten with the quantiles by run_wrk
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
        for name, path, encoding in (cases[key] for key in args.endpoints.split(",")):
            urls = [proc.base_url + path for proc in services]
            if args.warmup > 0:
                load(args, urls, encoding, script, args.warmup)
            meter = CpuMeter([proc.pid for proc in services], pg.pid)
            meter.start()
            result = load(args, urls, encoding, script, args.duration)
            cores = meter.stop(result.client_cpu_s)
            rows.append(Row(name, path, result, cores, encoding))
            log(f"{name}: {result.rps:.0f} req/s, p99 {result.p99_ms:.1f} ms, errors {result.errors}")
    finally:
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
            }
            for r in rows
        ],
        "machine": machine_info(pg),
    }


def machine_info(pg: PostgresCluster) -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    wrk = shutil.which("wrk")
    wrk_version = "-"
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "-"
    pg_version = "-"
    with contextlib.suppress(Exception):
        pg_version = pg.psql("SHOW server_version").strip()
    return {
        "cpus": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": pg_version,
        "wrk": wrk_version,
        "packages": {
            p: version(p) for p in ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "asyncpg")
        },
    }


def render(report: dict[str, Any]) -> str:
    s = report["setup"]
    lines = [
        f"Plans read benchmark: {s['service_processes']} service process(es), {s['connections']} "
        f"connections, {s['seconds_per_run']} s per endpoint, "
        f"{report['machine']['cpus']} CPUs shared by service, Postgres and load generator",
        "",
        "| endpoint | requests | req/s | p50 ms | p99 ms | max ms | errors | bytes/answer "
        "| cores: service / postgres / client / other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        c = r["cores"]
        lines.append(
            f"| {r['name']} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['max_ms']:.1f} | {r['errors']} | {r['bytes_per_response']} "
            f"| {c.get('service', 0):.2f} / {c.get('postgres', 0):.2f} / {c.get('load generator', 0):.2f}"
            f" / {c.get('other (not ours)', 0):.2f} |"
        )
    met = "met" if report["target_met"] else "NOT met"
    lines += [
        "",
        f"Target for the plan page: >= {TARGET_RPS:.0f} req/s with p99 <= {TARGET_P99_MS:.0f} ms: {met}.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plans_read", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per endpoint")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before each (not reported)"
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1,
                        help="service processes (replicas, own ports; the load is split)")  # fmt: skip
    parser.add_argument("--processes", type=int, default=2, help="Python client processes (without wrk)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--commitments", type=int, default=100)
    parser.add_argument("--milestones", type=int, default=5)
    parser.add_argument("--corpus-plans", type=int, default=4, help="more plans for the search to rank")
    parser.add_argument("--query", default="budget", help="full-text query of the search page")
    parser.add_argument("--endpoints", default="health,page,page-gzip,search",
                        help="which to load, in order (health,page,page-gzip,search)")  # fmt: skip
    parser.add_argument("--wait-quiet", type=float, default=30.0,
                        help="wait up to this many seconds for other load on the machine to end")  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS / "plans-read-latest.json")
    args = parser.parse_args(argv)

    run_main(
        lambda kafka, pg, tmp: bench(args, kafka, pg, tmp),
        name="read",
        json_path=args.json,
        render=render,
        wait_quiet_s=args.wait_quiet,
    )


if __name__ == "__main__":
    main()
