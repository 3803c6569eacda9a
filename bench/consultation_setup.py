"""What the two consultation benchmarks share: the service under test as real processes, a plan
and an open round to post into, the CPU each part used, and the machine facts they report.

``bench.consultation_comments`` and ``bench.consultation_list`` use it; it runs nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.lib.cpu import CpuMeter, infra_sources, one
from bench.lib.machine import http_machine_facts, kafka_description
from bench.lib.service import service_env, settings_of, tunables
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

#: Defaults the caller's environment may override (``CONSULTATION_LOG_LEVEL=INFO``...). WARNING as
#: in ``bench.plans_read``: one JSON log line per request is a cost of its own, left out here.
_DEFAULTS = {"LOG_LEVEL": "WARNING", "AUTH_DEV_SECRET": DEV_SECRET}
STAFF = "Bearer " + mint_token(DEV_SECRET, "bench-staff", ["staff"], ttl_s=6 * 3600)


#: What participants write: several lengths and languages, already escaped for a JSON string.
TEXTS = [
    "Please publish the budget execution reports every quarter, in open formats, not only as PDF.",
    "The commitment on beneficial ownership should name the agency in charge and a date for the "
    "register to be public. Without a deadline it will slip again, as it did in the last plan.",
    "Nous demandons que les collectivités locales soient associées au suivi des engagements, avec "
    "des réunions publiques au moins deux fois par an et des comptes rendus publiés en ligne.",
    "Agree with the previous comment. Open contracting data for health procurement would also "
    "help: the emergency purchases of the last two years are still not published.",
    "La participación ciudadana debe incluir a las comunidades rurales; proponemos audiencias "
    "públicas en cada región y un formulario en papel para quienes no tienen acceso a internet.",
    "Who will fund the access to information officers in each ministry? The draft does not say.",
    "We run a small civic tech group and could help with the data portal. The milestone dates in "
    "commitment 3 look too optimistic for a team of two people; the IRM noted the same problem "
    "in the previous cycle, and the plan should explain what changed since then. Also, please "
    "consider publishing the meeting minutes of the multi-stakeholder forum within two weeks.",
    "شفافية الميزانية ضرورية: نقترح نشر الميزانية المواطنية بلغة مبسطة قبل التصويت عليها.",
]


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
            infra = {"DATABASE_URL": self.dsn, "KAFKA_BOOTSTRAP": kafka.bootstrap,
                     "KAFKA_TOPIC_PREFIX": self.prefix, "HTTP_PORT": str(free_port())}  # fmt: skip
            env = service_env("consultation", infra, _DEFAULTS)
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
        s = settings_of(ConsultationSettings, self.procs[0].env)
        keys = ("rate_limit_inputs", "rate_limit_window_s", "db_pool_max", "relay_batch_size",
                "relay_poll_interval_s", "relay_coalesce_s", "log_level")  # fmt: skip
        return {**{k: getattr(s, k) for k in keys}, "overrides": tunables("consultation")}

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


# --- CPU ---------------------------------------------------------------------------------------
def cpu_meter(kafka: KafkaNode, pg: PostgresCluster, service: Service) -> CpuMeter:
    """The service's running replicas, Postgres, Kafka and the bench process."""
    return CpuMeter(
        {
            "service": lambda: {pid: cpu for p in service.pids for pid, cpu in one(p).items()},
            **infra_sources(kafka.pid, pg.pid),
        }
    )


# --- run set-up and report -------------------------------------------------------------------
def machine_facts(kafka: KafkaNode, pg: PostgresCluster) -> dict[str, Any]:
    facts = http_machine_facts(pg)
    facts["kafka"] = kafka_description(kafka)
    with contextlib.suppress(Exception):
        facts["postgres_settings"] = {
            s: pg.psql(f"SHOW {s}").strip() for s in ("fsync", "synchronous_commit", "shared_buffers")
        }
    facts["wrk_on_path"] = shutil.which("wrk") is not None
    return facts
