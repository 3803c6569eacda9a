"""Listing benchmark of the consultation service: a round of 10,000 comments, read page by page.

``uv run python -m bench.consultation_list`` starts its own Kafka and PostgreSQL (devstack, in a
temp folder), runs the consultation service as a separate process (``python -m
services.consultation``, as deployed), announces a plan on the plans topic, opens a round through
the API and writes ``--comments`` comments (10,000) into it straight into the service's database
once it has migrated it, as the integration test of the listing does: ``--authors`` participants,
texts of several lengths and languages, every fifth comment a reply, one in 33 hidden by a
moderator, one in ten answered by a reasoned response (the page joins the responses).

It walks the round once, following ``next_after`` (and checks that it saw every comment, in order,
with no text for the hidden ones), then loads, one after the other, for ``--duration`` seconds each
at ``--connections`` keep-alive connections under wrk:

* ``GET /healthz``: the HTTP stack's ceiling on this machine;
* ``GET /v1/rounds/{id}/inputs?after=<a>&limit=50``: wrk's Lua script cycles through every page's
  ``after`` (the target: p99 <= 50 ms);
* the same with ``limit=200``, for information.

Results: a markdown table on stdout, the JSON in ``bench/results/consultation_list-latest.json``.
See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from bench.consultation_setup import TEXTS, Service, cpu_meter, machine_facts, open_round, seed_plan
from bench.lib import RESULTS, log
from bench.lib.cpu import CpuMeter
from bench.lib.harness import load_options, parse, parser, run_main
from bench.lib.machine import code_identity
from bench.lib.report import cores_cell
from bench.lib.wrk import health_lua, run_wrk
from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster

TARGET_P99_MS = 50.0
TARGET_LIMIT = 50

_AUTHORS_SQL = """
INSERT INTO participants (id, subject, window_start, window_count)
SELECT gen_random_uuid(), $1 || g, now(), 0 FROM generate_series(1, $2) g
RETURNING id
"""

# The comments in the order they came, a second apart, each by one of the authors.
_COMMENTS_SQL = """
INSERT INTO inputs (id, round_id, plan_id, kind, anchor, alignment, language, body, public_body,
                    author_id, display_name, text_hash, created_at)
SELECT gen_random_uuid(), $1, $2, 'comment', '{"type": "plan"}',
       (ARRAY['for', 'against', 'neutral'])[1 + g % 3], 'en', t.body, t.body,
       ($3::uuid[])[1 + g % cardinality($3::uuid[])],
       CASE WHEN g % 3 = 0 THEN 'Participant ' || (g % cardinality($3::uuid[])) END,
       sha256(convert_to(t.body, 'UTF8')), now() - (($4 - g) * interval '1 second')
FROM generate_series(1, $4) g,
     LATERAL (SELECT ($5::text[])[1 + g % cardinality($5::text[])] || ' (' || g || ')' AS body) t
"""

# Every fifth comment answers one a little earlier in the round (threads).
_REPLIES_SQL = """
UPDATE inputs c SET parent_id = p.id
FROM inputs p
WHERE c.round_id = $1 AND p.round_id = $1 AND c.seq % 5 = 0 AND p.seq = c.seq - 1 - (c.seq % 37)
"""

_HIDE_SQL = """
UPDATE inputs SET hidden = true, hidden_reason = 'Contained personal contact details'
WHERE round_id = $1 AND seq % 33 = 0
"""

# One comment in ten answered, ten comments per reasoned response.
_RESPONSES_SQL = """
WITH answered AS (
    SELECT id, row_number() OVER (ORDER BY seq) - 1 AS n FROM inputs WHERE round_id = $1 AND seq % 10 = 3
), r AS (
    INSERT INTO responses (id, round_id, plan_id, decision, rationale, published_at, created_by)
    SELECT gen_random_uuid(), $1, $2,
           (ARRAY['accepted', 'partly_accepted', 'rejected', 'out_of_scope'])[1 + k % 4],
           'The drafting group discussed these comments on 12 March; the commitment now names the '
           || 'agency in charge and a date, and the milestones were moved to the second year.',
           now(), 'bench-staff'
    FROM generate_series(0, (SELECT (count(*) - 1) / 10 FROM answered)) k
    RETURNING id
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM r
)
INSERT INTO response_inputs (input_id, response_id)
SELECT a.id, nb.id FROM answered a JOIN numbered nb ON nb.k = a.n / 10
"""


async def fill_round(
    pool: asyncpg.Pool, round_id: uuid.UUID, plan_id: uuid.UUID, comments: int, authors: int
) -> dict[str, Any]:
    t0 = time.monotonic()
    async with pool.acquire() as conn, conn.transaction():
        ids = [r["id"] for r in await conn.fetch(_AUTHORS_SQL, f"bench-author-{round_id.hex[:6]}-", authors)]
        await conn.execute(_COMMENTS_SQL, round_id, plan_id, ids, comments, TEXTS)
        await conn.execute(_REPLIES_SQL, round_id)
        await conn.execute(_HIDE_SQL, round_id)
        await conn.execute(_RESPONSES_SQL, round_id, plan_id)
    await pool.execute("VACUUM ANALYZE inputs")
    await pool.execute("VACUUM ANALYZE response_inputs")
    await pool.execute("VACUUM ANALYZE responses")
    facts = await pool.fetchrow(
        """SELECT count(*) AS comments, count(*) FILTER (WHERE parent_id IS NOT NULL) AS replies,
                  count(*) FILTER (WHERE hidden) AS hidden,
                  (SELECT count(*) FROM response_inputs ri JOIN inputs i ON i.id = ri.input_id
                   WHERE i.round_id = $1) AS answered,
                  count(DISTINCT author_id) AS authors
           FROM inputs WHERE round_id = $1""",
        round_id,
    )
    assert facts is not None
    return {**dict(facts), "seconds": round(time.monotonic() - t0, 1)}


async def walk(
    base_url: str, round_id: uuid.UUID, limit: int, expected: int
) -> tuple[list[int], dict[str, Any]]:
    """Every page's ``after``, following ``next_after`` from 0, and what the walk saw."""
    afters: list[int] = []
    seqs: list[int] = []
    hidden_with_text = 0
    size = 0
    after: int | None = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        while after is not None:
            afters.append(after)
            r = await http.get(f"/v1/rounds/{round_id}/inputs", params={"after": after, "limit": limit})
            if r.status_code != 200:
                raise RuntimeError(f"listing: {r.status_code} {r.text[:300]}")
            size = max(size, len(r.content))
            page = r.json()
            seqs += [int(i["seq"]) for i in page["items"]]
            hidden_with_text += sum(1 for i in page["items"] if i["hidden"] and i["body"] is not None)
            after = page["next_after"]
    ok = (
        len(seqs) == expected and seqs == sorted(seqs) and len(set(seqs)) == expected and not hidden_with_text
    )
    return afters, {
        "limit": limit,
        "pages": len(afters),
        "items_seen": len(seqs),
        "in_order_no_repeat": seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
        "hidden_with_text": hidden_with_text,
        "largest_page_bytes": size,
        "ok": ok,
    }


def pages_lua(path: str, afters: Sequence[int], limit: int) -> str:
    """wrk script: each request asks for the next page of the walk, round and round."""
    values = ",".join(str(a) for a in afters)
    return f"""
local AFTERS = {{{values}}}
local i = 0
request = function()
  i = i % #AFTERS + 1
  return wrk.format("GET", "{path}?after=" .. AFTERS[i] .. "&limit={limit}")
end
"""


@dataclass
class Row:
    name: str
    path: str
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    bytes_per_response: int
    items_per_s: float | None = None
    cores: dict[str, float] = field(default_factory=dict)


def load(
    args: argparse.Namespace, meter: CpuMeter, urls: Sequence[str], lua: str, name: str, path: str, tmp: Path
) -> Row:
    jobs = [(url, lua) for url in urls]
    if args.warmup > 0:
        run_wrk(jobs, args.warmup, args.connections, args.threads, tmp)
    before = meter.snapshot()
    run = run_wrk(jobs, args.duration, args.connections, args.threads, tmp)
    after = meter.snapshot()
    cores, _ = CpuMeter.cores(before, after, {"load generator": run.result.client_cpu_s})
    r = run.result
    log(f"{name}: {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, errors {r.errors}")
    return Row(
        name=name,
        path=path,
        requests=r.requests,
        rps=round(r.rps, 1),
        p50_ms=r.p50_ms,
        p90_ms=r.p90_ms,
        p99_ms=r.p99_ms,
        max_ms=r.max_ms,
        errors=r.errors,
        bytes_per_response=r.bytes_per_response,
        cores=cores,
    )


async def bench(args: argparse.Namespace, kafka: KafkaNode, pg: PostgresCluster, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    service = Service(kafka, pg, run_id, args.replicas, log_dir)
    rows: list[Row] = []
    try:
        await service.scale(args.replicas)
        pool = await asyncpg.create_pool(service.dsn, min_size=1, max_size=2)
        assert pool is not None
        plan_id = await seed_plan(service, pool)
        round_id = await open_round(service.base_url, plan_id, "Draft action plan: comments")
        seeded = await fill_round(pool, round_id, plan_id, args.comments, args.authors)
        log(f"seeded {seeded}")
        path = f"/v1/rounds/{round_id}/inputs"
        walks = {}
        scripts = {}
        for limit in args.limits:
            afters, walks[limit] = await walk(service.base_url, round_id, limit, args.comments)
            scripts[limit] = pages_lua(path, afters, limit)
            log(f"walk at limit {limit}: {walks[limit]}")
        await pool.close()
        meter = cpu_meter(kafka, pg, service)
        urls = service.urls
        if "health" in args.scenarios:
            rows.append(
                await asyncio.to_thread(
                    load, args, meter, urls, health_lua(), "baseline: GET /healthz", "/healthz", tmp
                )
            )
        for limit in args.limits:
            name = f"round of {args.comments} comments, every page, limit={limit}"
            row = await asyncio.to_thread(
                load, args, meter, urls, scripts[limit], name, f"{path}?after=<each page>&limit={limit}", tmp
            )
            row.items_per_s = round(row.rps * walks[limit]["items_seen"] / walks[limit]["pages"], 0)
            rows.append(row)
        settings = service.settings()
    finally:
        service.stop()
    target_row = next((r for r in rows if r.name.endswith(f"limit={TARGET_LIMIT}")), None)
    return {
        "benchmark": "consultation-list",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "code": code_identity(),
        "target": {"limit": TARGET_LIMIT, "p99_ms": TARGET_P99_MS},
        "target_met": target_row is not None and target_row.p99_ms <= TARGET_P99_MS and not target_row.errors,
        "setup": {
            "comments": args.comments,
            "authors": args.authors,
            "connections": args.connections,
            "seconds_per_run": args.duration,
            "warmup_s": args.warmup,
            "replicas": args.replicas,
            "seeded": seeded,
            "walks": walks,
            "service": settings,
        },
        "results": [asdict(r) for r in rows],
        "machine": machine_facts(kafka, pg),
    }


def render(report: dict[str, Any]) -> str:
    s = report["setup"]
    lines = [
        f"Consultation listing benchmark: {s['replicas']} service process(es), {s['connections']} "
        f"connections, {s['seconds_per_run']:g} s per run, {report['machine']['cpus']} CPUs shared by "
        "service, Postgres, Kafka and load generator",
        "",
        "| endpoint | requests | req/s | comments/s | p50 ms | p99 ms | max ms | errors | bytes/answer "
        "| cores: service / postgres / client / other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        items = "-" if r["items_per_s"] is None else f"{r['items_per_s']:.0f}"
        lines.append(
            f"| {r['name']} | {r['requests']} | {r['rps']:.0f} | {items} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['errors']} | {r['bytes_per_response']} "
            f"| {cores_cell(r['cores'])} |"
        )
    walks = ", ".join(
        f"limit {w['limit']}: {w['pages']} pages, {w['items_seen']} comments{'' if w['ok'] else ' (WRONG)'}"
        for w in s["walks"].values()
    )
    seeded = s["seeded"]
    met = "met" if report["target_met"] else "NOT met"
    lines += [
        "",
        f"Round: {seeded['comments']} comments by {seeded['authors']} authors, {seeded['replies']} replies, "
        f"{seeded['hidden']} hidden, {seeded['answered']} answered. Walk: {walks}.",
        f"Target for limit={TARGET_LIMIT}: p99 <= {TARGET_P99_MS:.0f} ms "
        f"at {s['connections']} connections: {met}.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    options = parser("bench.consultation_list", __doc__)
    load_options(options, per="run")
    options.add_argument("--replicas", type=int, default=1, help="service processes (the load is split)")
    options.add_argument("--comments", type=int, default=10_000, help="comments in the round")
    options.add_argument("--authors", type=int, default=2_000, help="distinct authors of the comments")
    options.add_argument("--limits", type=lambda v: [int(x) for x in v.split(",")], default=[50, 200],
                         help="page sizes to load, in turn (default 50,200)")  # fmt: skip
    options.add_argument("--scenarios", default="health,pages", help="health,pages")
    args = parse(options, "consultation_list-latest.json", argv)
    run_main(lambda kafka, pg, tmp: bench(args, kafka, pg, tmp), args, name="list", render=render,
             run=uvloop.run)  # fmt: skip


if __name__ == "__main__":
    main()
