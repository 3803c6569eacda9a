"""The scenarios of ``bench.consultation_comments``, each measured into a :class:`Row`: the checks
(not timed), the baselines (``GET /healthz`` under wrk; a plain asyncpg INSERT + aiokafka send),
comments under wrk (closed loop) and comments at a fixed rate (open loop). See that module and
``bench/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.consultation_setup import TEXTS, Service, open_round
from bench.consultation_watcher import Watcher
from bench.lib import RESULTS, log
from bench.lib.cpu import CpuMeter, CpuSnapshot, ms_per
from bench.lib.http import HttpClient
from bench.lib.outbox import rows_per_relay_pass
from bench.lib.pacing import until
from bench.lib.profile import PySpy
from bench.lib.stats import percentile, summarize
from bench.lib.wrk import health_lua, lua_string, run_wrk
from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster
from shared.auth import DEV_SECRET, mint_token
from shared.events.consultation import Alignment, AnchorType, CommentAdded
from shared.events.envelope import Envelope
from shared.kafka import make_producer

TARGET_PER_S = 500.0
COMMENTS_ROUTE = "/v1/rounds/{round_id}/comments"
RAW_TOPIC = "bench.raw.comments"


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
    return ms_per(cores, wall_s, n, total="total", keep=keep)


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
    """Rows each relay pass published, over the round's comment events."""
    where = "event_type = 'ogp.consultation.comment_added.v1' AND payload::json->>'round_id' = $1"
    return await rows_per_relay_pass(pool, where, str(round_id))


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
    await until(lambda: ctx.watcher.count(rid), accepted, stall_s=15, every_s=0.02)
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
        got = await until(lambda: ctx.watcher.count(round_id), sent, stall_s=30, every_s=0.02)
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
    committed = await until(lambda: _count_inputs(ctx.pool, rid), 1 << 62, stall_s=0.5, every_s=0.02)
    got = await until(lambda: ctx.watcher.count(rid), committed, stall_s=30, every_s=0.02)
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
    got = await until(lambda: ctx.watcher.count(rid), len(starts), stall_s=30, every_s=0.02)
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
