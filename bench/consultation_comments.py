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
import contextlib
import inspect
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from bench.consultation_setup import (
    RESULTS,
    CpuMeter,
    CpuSnapshot,
    Service,
    add_process,
    code_identity,
    cpu_meter,
    health_lua,
    log,
    lua_string,
    machine_facts,
    open_round,
    run_wrk,
    seed_plan,
)
from bench.e2e import PySpy, percentile, summarize
from bench.harness import REPO, run_main
from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster
from shared.auth import DEV_SECRET, mint_token
from shared.events import topics
from shared.events.consultation import Alignment, AnchorType, CommentAdded
from shared.events.envelope import Envelope
from shared.kafka import TopicSpec, ensure_topics, make_producer

TARGET_PER_S = 500.0
COMMENTS_ROUTE = "/v1/rounds/{round_id}/comments"
RAW_TOPIC = "bench.raw.comments"

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


# --- the load ----------------------------------------------------------------------------------
def comments_lua(path: str, tokens: Sequence[str], tag: str) -> str:
    """wrk script: POST a unique comment per request, rotating the participants' tokens."""
    texts = ",\n".join(lua_string(json.dumps(t, ensure_ascii=False)[1:-1]) for t in TEXTS)
    toks = ",\n".join(f'"{t}"' for t in tokens)
    return f"""
local TOKENS = {{
{toks}
}}
local TEXTS = {{
{texts}
}}
local ALIGN = {{"for", "against", "neutral", "neutral"}}
local PATH = "{path}"
local TAG = "{tag}"
local threads = {{}}
local counter = 0

setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local t = tid or 0
  local token = TOKENS[((counter + t * 997) % #TOKENS) + 1]
  local body = '{{"body":"' .. TEXTS[(counter % #TEXTS) + 1] .. ' (' .. TAG .. '-' .. t .. '-' .. counter
    .. ')","alignment":"' .. ALIGN[(counter % #ALIGN) + 1] .. '"}}'
  return wrk.format("POST", PATH, {{["Authorization"] = "Bearer " .. token,
                                   ["Content-Type"] = "application/json"}}, body)
end
"""


def mint_participants(n: int, run_id: str) -> list[str]:
    return [mint_token(DEV_SECRET, f"bench-{run_id}-p{i}", ["participant"], ttl_s=6 * 3600) for i in range(n)]


class HttpClient:
    """A minimal HTTP/1.1 keep-alive client: far less CPU per request than a full client library,
    which matters when it shares two cores with everything it measures. A connection idle for
    longer than the server keeps it (uvicorn: 5 s) is not reused."""

    IDLE_S = 3.0

    def __init__(self, host: str, port: int, max_connections: int) -> None:
        self.host, self.port, self.max = host, port, max_connections
        #: (reader, writer, monotonic time it became idle), most recently used last.
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def _acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.freed:
            while not self.idle and self.opened >= self.max:
                await self.freed.wait()
            while self.idle:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < self.IDLE_S:
                    return reader, writer
                writer.close()
                self.opened -= 1
            self.opened += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:
            await self._release(None)
            raise

    async def _release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        async with self.freed:
            if conn is None:
                self.opened -= 1
            else:
                self.idle.append((*conn, time.monotonic()))
            self.freed.notify()

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, int]:
        """Status, body, and when the request was written (ns since the epoch)."""
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn = await self._acquire()
        try:
            reader, writer = conn
            sent = time.time_ns()
            writer.write(head.encode() + body)
            raw = await reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            length = 0
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            data = await reader.readexactly(length)
        except BaseException:
            conn[1].close()
            await self._release(None)
            raise
        await self._release(conn)
        return status, data, sent

    async def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


# --- the watcher (Kafka side) ------------------------------------------------------------------
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


async def until(check: Callable[[], Awaitable[int] | int], target: int, stall_s: float) -> int:
    """Poll ``check`` until it reaches ``target``; give up after ``stall_s`` without progress."""
    last, changed = -1, time.monotonic()
    while True:
        got = check()
        value = await got if inspect.isawaitable(got) else got
        if value >= target:
            return value
        if value != last:
            last, changed = value, time.monotonic()
        elif time.monotonic() - changed > stall_s:
            return value
        await asyncio.sleep(0.02)


# --- results -----------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    load: str
    #: Requests (or plain writes) sent, and those accepted (2xx, or committed).
    sent: int
    accepted: int
    load_s: float
    accepted_per_s: float
    #: Events on Kafka, and per second from the first request to the last event received.
    published: int | None = None
    published_per_s: float | None = None
    #: From the end of the load to the last event received.
    drain_s: float | None = None
    http_ms: dict[str, float] = field(default_factory=dict)
    end_to_end_ms: dict[str, float] = field(default_factory=dict)
    #: outbox row written (in the request's transaction) → event received by the watcher.
    commit_to_kafka_ms: dict[str, float] = field(default_factory=dict)
    stages_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    relay_rows_per_pass: float | None = None
    #: Both accepted/s and published/s reach the target (throughput rows only).
    target_met: bool = False
    cores: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_comment: dict[str, float] = field(default_factory=dict)


def per_comment_ms(cores: dict[str, float], wall_s: float, n: int) -> dict[str, float]:
    keep = ("service", "postgres", "kafka", "load generator", "bench", "watcher", "kernel irq")
    if n <= 0:
        return {}
    out = {k: round(v * wall_s / n * 1000, 3) for k, v in cores.items() if k in keep}
    out["total"] = round(sum(out.values()), 3)
    return out


def measure(
    meter: CpuMeter, before: CpuSnapshot, extra_s: dict[str, float]
) -> tuple[dict[str, float], float]:
    after = meter.snapshot()
    cores, _ = CpuMeter.cores(before, after, extra_s)
    return cores, after.wall - before.wall


async def scrape_statuses(urls: Sequence[str]) -> dict[str, int]:
    """POST answers of the comments route by status, summed over the replicas' /metrics."""
    out: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=5) as http:
        for url in urls:
            for line in (await http.get(url + "/metrics")).text.splitlines():
                if line.startswith("sharaka_http_requests_total{") and f'route="{COMMENTS_ROUTE}"' in line:
                    status = line.split('status="', 1)[1].split('"', 1)[0]
                    out[status] = out.get(status, 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in sorted(after.items()) if v - before.get(k, 0)}


async def outbox_times(pool: asyncpg.Pool, round_id: uuid.UUID) -> dict[str, tuple[int, int | None]]:
    """comment id → (outbox row written, relay marked it published), ns since the epoch."""
    rows = await pool.fetch(
        """SELECT payload::json->>'comment_id' AS cid, created_at, published_at FROM outbox
           WHERE event_type = 'ogp.consultation.comment_added.v1' AND payload::json->>'round_id' = $1""",
        str(round_id),
    )

    def ns(t: datetime | None) -> int | None:
        return None if t is None else int(t.timestamp() * 1_000_000) * 1000

    return {r["cid"]: (ns(r["created_at"]) or 0, ns(r["published_at"])) for r in rows}


async def relay_rows_per_pass(pool: asyncpg.Pool, round_id: uuid.UUID) -> float:
    """Rows each relay pass published: rows marked within 1 ms of each other share a pass."""
    value = await pool.fetchval(
        """SELECT count(*)::float8 / greatest(count(*) FILTER (WHERE gap IS NULL OR gap > interval '1 ms'), 1)
           FROM (SELECT published_at - lag(published_at) OVER (ORDER BY published_at) AS gap FROM outbox
                 WHERE event_type = 'ogp.consultation.comment_added.v1'
                   AND payload::json->>'round_id' = $1) AS t""",
        str(round_id),
    )
    return round(float(value or 0.0), 2)


# --- scenarios ---------------------------------------------------------------------------------
@dataclass
class Ctx:
    args: argparse.Namespace
    service: Service
    pool: asyncpg.Pool
    plan_id: uuid.UUID
    watcher: Watcher
    meter: CpuMeter
    tokens: list[str]
    tmp: Path
    run_id: str


async def checks(ctx: Ctx) -> dict[str, Any]:
    """The abuse controls are on, and a comment's event gets to Kafka."""
    rid = await open_round(ctx.service.base_url, ctx.plan_id, "Checks")
    who = {"Authorization": "Bearer " + mint_token(DEV_SECRET, f"bench-{ctx.run_id}-check", ["participant"])}
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=ctx.service.base_url, timeout=10, headers=who) as http:
        url = f"/v1/rounds/{rid}/comments"
        first = await http.post(url, json={"body": "A first comment on the draft plan."})
        out["first_status"] = first.status_code
        again = await http.post(url, json={"body": "A first comment on the draft plan."})
        out["duplicate_status"] = again.status_code
        out["duplicate_rule"] = again.json().get("rule")
        accepted = 1
        for i in range(20):
            r = await http.post(url, json={"body": f"Another comment, number {i + 2}."})
            if r.status_code != 201:
                out["rate_limited_status"] = r.status_code
                out["retry_after"] = r.headers.get("retry-after")
                break
            accepted += 1
        out["accepted_before_limit"] = accepted
    await until(lambda: ctx.watcher.count(rid), accepted, stall_s=15)
    out["events_on_kafka"] = ctx.watcher.count(rid)
    ok = (out["first_status"] == 201 and out["duplicate_status"] == 409
          and out.get("rate_limited_status") == 429 and out["events_on_kafka"] == accepted)  # fmt: skip
    out["ok"] = ok
    log(f"checks: {out}")
    return out


async def health(ctx: Ctx) -> Row:
    a = ctx.args
    jobs = [(url, health_lua()) for url in ctx.service.urls]
    if a.warmup > 0:
        await asyncio.to_thread(run_wrk, jobs, a.warmup, a.connections, a.threads, ctx.tmp)
    before = ctx.meter.snapshot()
    run = await asyncio.to_thread(run_wrk, jobs, a.duration, a.connections, a.threads, ctx.tmp)
    cores, _ = measure(ctx.meter, before, {"load generator": run.result.client_cpu_s})
    r = run.result
    return Row(
        name="baseline: GET /healthz (HTTP stack alone)",
        load=r.client,
        sent=r.requests,
        accepted=r.requests - r.errors,
        load_s=round(r.seconds, 2),
        accepted_per_s=round((r.requests - r.errors) / r.seconds, 1),
        http_ms={"p50": r.p50_ms, "p99": r.p99_ms, "max": r.max_ms},
        cores=cores,
    )


async def plain(ctx: Ctx, kafka: KafkaNode, pg: PostgresCluster) -> Row:
    """asyncpg INSERT + aiokafka send, no HTTP and no outbox: the floor of the work itself."""
    a = ctx.args
    database = f"plain_{ctx.run_id}"
    pg.create_database(database)
    pool = await asyncpg.create_pool(pg.dsn(database), min_size=a.connections, max_size=a.connections)
    assert pool is not None
    await pool.execute(
        """CREATE TABLE comments (id uuid PRIMARY KEY, round_id uuid NOT NULL, body text NOT NULL,
                                  created_at timestamptz NOT NULL DEFAULT clock_timestamp())"""
    )
    producer = make_producer(kafka.bootstrap, "bench-plain")
    await producer.start()
    round_id, plan_id = uuid.uuid4(), ctx.plan_id
    topic = ctx.service.prefix + RAW_TOPIC
    futures: list[asyncio.Future[Any]] = []
    starts: dict[str, int] = {}
    sent = 0
    try:
        before = ctx.meter.snapshot()
        t0 = time.time_ns()
        deadline = time.monotonic() + a.duration

        async def writer(w: int) -> None:
            nonlocal sent
            n = 0
            async with pool.acquire() as conn:
                while time.monotonic() < deadline:
                    n += 1
                    cid, start = uuid.uuid4(), time.time_ns()
                    text = f"{TEXTS[n % len(TEXTS)]} (plain-{w}-{n})"
                    await conn.execute(
                        "INSERT INTO comments (id, round_id, body) VALUES ($1, $2, $3)", cid, round_id, text
                    )
                    event = CommentAdded(
                        comment_id=cid, round_id=round_id, plan_id=plan_id, anchor_type=AnchorType.PLAN,
                        alignment=Alignment.NEUTRAL, language="en", added_at=datetime.now(UTC),
                    )  # fmt: skip
                    rec = Envelope.wrap(event, service="consultation").to_record()
                    futures.append(
                        await producer.send(topic, value=rec.value, key=rec.key, headers=rec.headers)
                    )
                    starts[str(cid)] = start
                    sent += 1

        await asyncio.gather(*(writer(w) for w in range(a.connections)))
        t_end = time.time_ns()
        await asyncio.gather(*futures)
        got = await until(lambda: ctx.watcher.count(round_id), sent, stall_s=30)
        cores, wall = measure(ctx.meter, before, {})
    finally:
        await producer.stop()
        await pool.close()
        pg.drop_database(database)
    arrivals = ctx.watcher.arrivals(round_id)
    last = max(arrivals.values(), default=t_end)
    e2e = [(arrivals[c] - s) / 1e6 for c, s in starts.items() if c in arrivals]
    load_s = (t_end - t0) / 1e9
    return Row(
        name="baseline: plain asyncpg INSERT + aiokafka send (no HTTP, no outbox)",
        load=f"{a.connections} asyncio writers, as fast as they can",
        sent=sent,
        accepted=sent,
        load_s=round(load_s, 2),
        accepted_per_s=round(sent / load_s, 1),
        published=got,
        published_per_s=round(got / ((last - t0) / 1e9), 1),
        drain_s=round(max(0, last - t_end) / 1e9, 3),
        end_to_end_ms=summarize(e2e),
        cores=cores,
        cpu_ms_per_comment=per_comment_ms(cores, wall, got),
    )


async def comments_wrk(ctx: Ctx, *, duration: float, name: str, measured: bool = True) -> Row:
    a = ctx.args
    rid = await open_round(ctx.service.base_url, ctx.plan_id, name)
    path = f"/v1/rounds/{rid}/comments"
    # Each replica's wrk gets its own share of the participants (people use one pod at a time).
    n = len(ctx.service.urls)
    tag = uuid.uuid4().hex[:6]
    jobs = [
        (url, comments_lua(path, ctx.tokens[i::n], f"{tag}{i}")) for i, url in enumerate(ctx.service.urls)
    ]
    statuses0 = await scrape_statuses(ctx.service.urls)
    profiler = PySpy(shutil.which("py-spy") if a.profile and measured else None, RESULTS / "logs")
    for i, pid in enumerate(ctx.service.pids):
        profiler.start(f"consultation-{n}r-{i}", pid, max(1, round(duration)))
    before = ctx.meter.snapshot()
    run = await asyncio.to_thread(run_wrk, jobs, duration, a.connections, a.threads, ctx.tmp)
    profiler.wait()
    # Requests in flight when wrk stopped may still commit: the database has the final count.
    committed = await until(lambda: _count_inputs(ctx.pool, rid), 1 << 62, stall_s=0.5)
    got = await until(lambda: ctx.watcher.count(rid), committed, stall_s=30)
    cores, wall = measure(ctx.meter, before, {"load generator": run.result.client_cpu_s})
    statuses = diff(await scrape_statuses(ctx.service.urls), statuses0)
    if got < committed:
        log(f"{name}: only {got}/{committed} comment events reached Kafka")
    r = run.result
    accepted = r.requests - r.errors
    arrivals = ctx.watcher.arrivals(rid)
    last = max(arrivals.values(), default=run.end_ns)
    outbox = await outbox_times(ctx.pool, rid)
    commit_to_kafka = [(arrivals[c] - t[0]) / 1e6 for c, t in outbox.items() if c in arrivals]
    row = Row(
        name=name,
        load=f"{r.client}, closed loop, {len(ctx.tokens)} participants",
        sent=r.requests,
        accepted=accepted,
        load_s=round(r.seconds, 2),
        accepted_per_s=round(accepted / r.seconds, 1),
        published=got,
        published_per_s=round(got / ((last - run.start_ns) / 1e9), 1),
        drain_s=round(max(0, last - run.end_ns) / 1e9, 3),
        http_ms={"p50": r.p50_ms, "p99": r.p99_ms, "max": r.max_ms},
        commit_to_kafka_ms=summarize(commit_to_kafka),
        statuses=statuses,
        relay_rows_per_pass=await relay_rows_per_pass(ctx.pool, rid),
        cores=cores,
        cpu_ms_per_comment=per_comment_ms(cores, wall, got),
    )
    row.target_met = min(row.accepted_per_s, row.published_per_s or 0.0) >= TARGET_PER_S and got >= committed
    if measured:
        log(
            f"{name}: {row.accepted_per_s:.0f} accepted/s, {row.published_per_s:.0f} published/s, "
            f"HTTP p99 {r.p99_ms:.1f} ms, statuses {statuses}, socket errors {run.socket_errors}"
        )
    return row


async def _count_inputs(pool: asyncpg.Pool, rid: uuid.UUID) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM inputs WHERE round_id = $1", rid))


async def comments_paced(ctx: Ctx, rate: float, label: str) -> Row:
    """Open loop: comment ``i`` is due at ``t0 + i/rate`` whatever happened to the others, and its
    latency counts from that moment (a late start is the system's delay, not hidden)."""
    a = ctx.args
    rid = await open_round(ctx.service.base_url, ctx.plan_id, f"Fixed rate {rate:g}/s")
    path = f"/v1/rounds/{rid}/comments"
    count = int(rate * a.rate_duration)
    urls = ctx.service.urls
    clients = []
    for url in urls:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        clients.append(HttpClient(host, int(port), 64))
    tokens = ctx.tokens[len(ctx.tokens) // 2 :] + ctx.tokens[: len(ctx.tokens) // 2]
    starts: dict[str, int] = {}
    answered: dict[str, int] = {}
    statuses: dict[str, int] = {}
    http_ms: list[float] = []
    #: How late each request left the client: the generator's own delay, inside the latencies.
    late: list[float] = []
    tag = uuid.uuid4().hex[:6]

    async def one(i: int, due_ns: int) -> None:
        body = json.dumps({"body": f"{TEXTS[i % len(TEXTS)]} ({tag}-{i})",
                           "alignment": ("for", "against", "neutral")[i % 3]}).encode()  # fmt: skip
        headers = {"Authorization": "Bearer " + tokens[i % len(tokens)], "Content-Type": "application/json"}
        status, data, sent_ns = await clients[i % len(clients)].post(path, headers, body)
        done = time.time_ns()
        late.append((sent_ns - due_ns) / 1e6)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        http_ms.append((done - due_ns) / 1e6)
        if status == 201:
            cid = json.loads(data)["id"]
            starts[cid], answered[cid] = due_ns, done

    cpu0 = time.process_time()
    before = ctx.meter.snapshot()
    tasks: list[asyncio.Task[None]] = []
    t0_ns, t0 = time.time_ns(), time.perf_counter()
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, t0_ns + int(i / rate * 1e9))))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    t_end = time.time_ns()
    failures = [x for x in results if isinstance(x, BaseException)]
    if failures:
        log(f"fixed rate: {len(failures)} requests failed, e.g. {failures[0]!r}")
    client_cpu = time.process_time() - cpu0
    got = await until(lambda: ctx.watcher.count(rid), len(starts), stall_s=30)
    cores, wall = measure(ctx.meter, before, {})
    # The load generator is this process: report it under that name.
    cores["load generator"] = cores.pop("bench", 0.0)
    for c in clients:
        await c.close()
    arrivals = ctx.watcher.arrivals(rid)
    outbox = await outbox_times(ctx.pool, rid)
    e2e: list[float] = []
    written: list[float] = []
    marked: list[float] = []
    answer: list[float] = []
    for cid, due in starts.items():
        if cid in arrivals:
            e2e.append((arrivals[cid] - due) / 1e6)
        if cid in outbox:
            wrote_ns, marked_ns = outbox[cid]
            written.append((wrote_ns - due) / 1e6)
            if marked_ns is not None:
                marked.append((marked_ns - due) / 1e6)
        answer.append((answered[cid] - due) / 1e6)
    last = max(arrivals.values(), default=t_end)
    accepted = len(starts)
    # Per comment, for a closer look at the tail (ignored by git): due, answered, outbox row
    # written and marked, received on Kafka, in ms from the run's start.
    timeline = [
        [round((t - t0_ns) / 1e6, 3) if t else None
         for t in (due, answered[cid], *outbox.get(cid, (None, None)), arrivals.get(cid))]
        for cid, due in sorted(starts.items(), key=lambda kv: kv[1])
    ]  # fmt: skip
    slug = f"{rate:g}-{label.replace(' ', '')}"
    (RESULTS / "logs" / f"comments-paced-{slug}.json").write_text(json.dumps(timeline), encoding="utf-8")
    http_sorted = sorted(http_ms)
    return Row(
        name=f"comments at {rate:g}/s (open loop), {label}",
        load=f"python HTTP/1.1 client, {count} requests over {a.rate_duration:g} s",
        sent=count,
        accepted=accepted,
        load_s=round((t_end - t0_ns) / 1e9, 2),
        accepted_per_s=round(accepted / ((t_end - t0_ns) / 1e9), 1),
        published=got,
        published_per_s=round(got / ((last - t0_ns) / 1e9), 1),
        drain_s=round(max(0, last - t_end) / 1e9, 3),
        http_ms={
            "p50": percentile(http_sorted, 50),
            "p99": percentile(http_sorted, 99),
            "max": http_sorted[-1] if http_sorted else float("nan"),
        },
        end_to_end_ms=summarize(e2e),
        stages_ms={
            "request written by the client (generator's own delay)": summarize(late),
            "outbox row written (in the request's transaction)": summarize(written),
            "HTTP answer received": summarize(answer),
            "relay marked it published (after Kafka's ack)": summarize(marked),
            "event received by a consumer": summarize(e2e),
        },
        statuses=statuses,
        relay_rows_per_pass=await relay_rows_per_pass(ctx.pool, rid),
        cores=cores,
        cpu_ms_per_comment={
            **per_comment_ms(cores, wall, got),
            "client (python)": round(client_cpu / max(got, 1) * 1000, 3),
        },
    )


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
        add_process(meter, "watcher", watcher.pid)
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
    parser = argparse.ArgumentParser(prog="python -m bench.consultation_comments", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before (not reported)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--replicas", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2],
                        help="service processes to run the comment scenarios with, in turn (default 1,2): "
                             "replicas on one database, own ports, the load split between them")  # fmt: skip
    parser.add_argument("--participants", type=int, default=10_000,
                        help="distinct participant tokens the load rotates through")  # fmt: skip
    parser.add_argument("--rate", type=float, action="append", default=None,
                        help="fixed-rate run(s), comments per second (default 200)")  # fmt: skip
    parser.add_argument("--rate-duration", type=float, default=15.0, help="seconds of each fixed-rate run")
    parser.add_argument("--scenarios", default="health,plain,wrk,rate",
                        help="which to run, in order (health,plain,wrk,rate)")  # fmt: skip
    parser.add_argument("--wait-quiet", type=float, default=30.0,
                        help="wait up to this many seconds for other load on the machine to end")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="py-spy flame graphs of the service under wrk (py-spy on PATH)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS / "consultation_comments-latest.json")
    args = parser.parse_args(argv)
    args.rate = args.rate or [200.0]

    run_main(
        lambda kafka, pg, tmp: bench(args, kafka, pg, tmp),
        name="comments",
        json_path=args.json,
        render=render,
        wait_quiet_s=args.wait_quiet,
        run=uvloop.run,
    )


if __name__ == "__main__":
    main()
