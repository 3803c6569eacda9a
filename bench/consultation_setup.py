"""What the two consultation benchmarks share: the service under test as real processes, a plan
and an open round to post into, wrk driven by a Lua script, and the CPU each part used.

``bench.consultation_comments`` and ``bench.consultation_list`` use it; it runs nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.e2e import CpuMeter, CpuSnapshot, _one, _tree, code_identity
from bench.harness import REPO, RESULTS, log
from bench.plans_read import QUANTILES, WRK_LUA, LoadResult, wrk_result
from devstack.kafka import KafkaNode
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from services.consultation.settings import ConsultationSettings
from shared.auth import DEV_SECRET, mint_token
from shared.events import topics
from shared.events.envelope import Envelope
from shared.events.plans import CommitmentAdded, PlanCreated
from shared.kafka import make_producer

PREFIX = "CONSULTATION_"
#: Set for the service whatever the environment says: they point at this run's infrastructure.
_INFRA_KEYS = ("DATABASE_URL", "KAFKA_BOOTSTRAP", "KAFKA_TOPIC_PREFIX", "HTTP_PORT", "HTTP_HOST")
#: Defaults the caller's environment may override (``CONSULTATION_LOG_LEVEL=INFO``...). WARNING as
#: in ``bench.plans_read``: one JSON log line per request is a cost of its own, left out here.
_DEFAULTS = {"LOG_LEVEL": "WARNING", "AUTH_DEV_SECRET": DEV_SECRET}
STAFF = "Bearer " + mint_token(DEV_SECRET, "bench-staff", ["staff"], ttl_s=6 * 3600)

__all__ = [
    "RESULTS",
    "STAFF",
    "CpuMeter",
    "CpuSnapshot",
    "LoadResult",
    "Service",
    "code_identity",
    "log",
    "lua_string",
    "machine_facts",
    "open_round",
    "run_wrk",
    "seed_plan",
]


# --- the service under test --------------------------------------------------------------------
def tunables() -> dict[str, str]:
    """The caller's ``CONSULTATION_*`` overrides (infrastructure keys excepted)."""
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith(PREFIX) and k.removeprefix(PREFIX) not in _INFRA_KEYS
    }


class Service:
    """Up to ``replicas`` processes of ``python -m services.consultation`` on one database and one
    topic prefix, each on its own port, as a deployment with several pods runs it. The first one
    started holds the relay's and the timers' leader locks; the others serve HTTP."""

    def __init__(
        self, kafka: KafkaNode, pg: PostgresCluster, run_id: str, replicas: int, log_dir: Path
    ) -> None:
        self.database = f"consultation_{run_id}"
        pg.create_database(self.database)
        self.dsn = pg.dsn(self.database)
        self.prefix = f"benchc{run_id}."
        self.procs: list[ServiceProcess] = []
        for i in range(replicas):
            env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
            env.update({PREFIX + k: v for k, v in _DEFAULTS.items()})
            env.update(tunables())
            env.update(
                {
                    PREFIX + "DATABASE_URL": self.dsn,
                    PREFIX + "KAFKA_BOOTSTRAP": kafka.bootstrap,
                    PREFIX + "KAFKA_TOPIC_PREFIX": self.prefix,
                    PREFIX + "HTTP_PORT": str(free_port()),
                    "PYTHONPATH": str(REPO),
                }
            )
            name = f"consultation-bench{i or ''}"
            self.procs.append(ServiceProcess("consultation", env, log_dir, log_name=name))
        self.kafka = kafka

        self.running = 0

    @property
    def base_url(self) -> str:
        return self.procs[0].base_url

    @property
    def urls(self) -> list[str]:
        """Of the replicas running."""
        return [p.base_url for p in self.procs[: self.running]]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs[: self.running]]

    def settings(self) -> dict[str, Any]:
        """The settings the service read from its environment (the ones that matter here)."""
        env = self.procs[0].env
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            s = ConsultationSettings()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        keys = ("rate_limit_inputs", "rate_limit_window_s", "db_pool_max", "relay_batch_size",
                "relay_poll_interval_s", "relay_coalesce_s", "log_level")  # fmt: skip
        return {**{k: getattr(s, k) for k in keys}, "overrides": tunables()}

    async def scale(self, replicas: int) -> None:
        """Start replicas until ``replicas`` run (the first one migrates the database alone)."""
        if self.running == 0:
            self.procs[0].start()
            await self.procs[0].wait_ready()
            self.running = 1
        new = self.procs[self.running : replicas]
        for p in new:
            p.start()
        for p in new:
            await p.wait_ready()
        self.running = max(self.running, min(replicas, len(self.procs)))

    def stop(self) -> None:
        for p in self.procs:
            p.ensure_stopped()


async def seed_plan(service: Service, pool: Any, commitments: int = 3) -> uuid.UUID:
    """A plan and its commitments as the plans service announces them, through Kafka; returns
    once the consultation service has opened the plan's co-creation space."""
    plan_id, member_id, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    events: list[Any] = [
        PlanCreated(plan_id=plan_id, member_id=member_id, title="National action plan 2026-2028",
                    start_date=now.date(), end_date=(now + timedelta(days=730)).date(),
                    point_of_contact_id=uuid.uuid4(), created_at=now)
    ]  # fmt: skip
    for n in range(1, commitments + 1):
        events.append(CommitmentAdded(plan_id=plan_id, commitment_id=uuid.uuid4(), member_id=member_id,
                                      number=n, title=f"Commitment {n}", added_at=now))  # fmt: skip
    producer = make_producer(service.kafka.bootstrap, "bench-seed")
    await producer.start()
    try:
        futures = []
        for event in events:
            rec = Envelope.wrap(event, service="plans").to_record()
            topic = service.prefix + topics.PLANS
            futures.append(await producer.send(topic, value=rec.value, key=rec.key, headers=rec.headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = await pool.fetchval("SELECT count(*) FROM commitment_spaces WHERE plan_id = $1", plan_id)
        if n == commitments:
            return plan_id
        await asyncio.sleep(0.1)
    raise RuntimeError("the consultation service did not open the plan's co-creation space in 60 s")


async def open_round(base_url: str, plan_id: uuid.UUID, title: str) -> uuid.UUID:
    """A round that opened a second ago and runs for six hours (the timers open it at once)."""
    opens = datetime.now(UTC) - timedelta(seconds=1)
    body = {"kind": "ideas", "title": title, "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(hours=6)).isoformat()}  # fmt: skip
    async with httpx.AsyncClient(base_url=base_url, timeout=10, headers={"Authorization": STAFF}) as http:
        r = await http.post(f"/v1/plans/{plan_id}/rounds", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"scheduling a round: {r.status_code} {r.text[:300]}")
        rid = uuid.UUID(r.json()["id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (await http.get(f"/v1/rounds/{rid}")).json()["state"] == "open":
                return rid
            await asyncio.sleep(0.1)
    raise RuntimeError(f"round {rid} did not open within 60 s")


# --- wrk ---------------------------------------------------------------------------------------
def lua_string(text: str) -> str:
    """A Lua long-bracket literal holding ``text`` byte for byte."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


@dataclass
class WrkRun:
    result: LoadResult
    #: Wall-clock (``time.time_ns``) just before the first wrk started and after the last ended.
    start_ns: int
    end_ns: int
    non_2xx: int
    socket_errors: int


def run_wrk(
    jobs: Sequence[tuple[str, str]], seconds: float, connections: int, threads: int, tmp: Path
) -> WrkRun:
    """One wrk per (url, Lua script), all at once, ``connections`` shared between them. Each
    script defines ``request`` (and may use ``setup``); the JSON summary hook is appended."""
    per = max(1, connections // len(jobs))
    argv = ["wrk", f"-t{min(threads, per)}", f"-c{per}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    lua_quantiles = "QUANTILES = {" + ",".join(f"{q:g}" for q in QUANTILES) + "}\n"
    runs: list[dict[str, Any]] = []
    cpu_s = 0.0
    with contextlib.ExitStack() as stack:
        started = []
        scripts = []
        for i, (_, lua) in enumerate(jobs):
            script = tmp / f"wrk-{uuid.uuid4().hex[:8]}-{i}.lua"
            script.write_text(lua_quantiles + lua + "\n" + WRK_LUA, encoding="utf-8")
            scripts.append(script)
        start_ns = time.time_ns()
        for (url, _), script in zip(jobs, scripts, strict=True):
            out = stack.enter_context(tempfile.TemporaryFile())
            proc = subprocess.Popen([*argv, "-s", str(script), url], stdout=out, stderr=subprocess.STDOUT)
            started.append((proc, out))
        for proc, out in started:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu_s += usage.ru_utime + usage.ru_stime
            out.seek(0)
            text = out.read().decode(errors="replace")
            line = next((x for x in text.splitlines() if x.startswith("WRKJSON ")), None)
            if proc.returncode != 0 or line is None:
                raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text[-3000:]}")
            runs.append(json.loads(line.removeprefix("WRKJSON ")))
        end_ns = time.time_ns()
        for script in scripts:
            script.unlink(missing_ok=True)
    result = wrk_result(runs, per, cpu_s)
    return WrkRun(
        result=result,
        start_ns=start_ns,
        end_ns=end_ns,
        non_2xx=sum(int(r["non_2xx"]) for r in runs),
        socket_errors=sum(int(r["errors"]) for r in runs),
    )


def health_lua() -> str:
    return 'request = function() return wrk.format("GET", "/healthz") end'


# --- CPU ---------------------------------------------------------------------------------------
def cpu_meter(kafka: KafkaNode, pg: PostgresCluster, service: Service) -> CpuMeter:
    kafka_pid, pg_pid, own = kafka.pid or 0, pg.pid or 0, os.getpid()
    return CpuMeter(
        {
            "service": lambda: {pid: cpu for p in service.pids for pid, cpu in _one(p).items()},
            "postgres": lambda: _tree(pg_pid),
            "kafka": lambda: _one(kafka_pid),
            "bench": lambda: _one(own),
        }
    )


def add_process(meter: CpuMeter, name: str, pid: int) -> None:
    meter.sources[name] = lambda: _one(pid)


# --- run set-up and report -------------------------------------------------------------------
def machine_facts(kafka: KafkaNode, pg: PostgresCluster) -> dict[str, Any]:
    from bench.plans_read import machine_info

    facts = machine_info(pg)
    jars = sorted(kafka.libs_dir.glob("kafka_2.13-*.jar"))
    facts["kafka"] = f"{jars[0].stem.split('-', 1)[1] if jars else '?'} (1 KRaft node, heap {kafka.heap})"
    with contextlib.suppress(Exception):
        facts["postgres_settings"] = {
            s: pg.psql(f"SHOW {s}").strip() for s in ("fsync", "synchronous_commit", "shared_buffers")
        }
    facts["wrk_on_path"] = shutil.which("wrk") is not None
    return facts
