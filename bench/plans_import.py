"""Benchmark of the commitments import: ``uv run python -m bench.plans_import``.

Starts its own throw-away PostgreSQL (no Kafka: the import only writes the outbox, the relay
publishes later), applies the plans service's migrations, generates OGP-style spreadsheets and
times, through the same function the HTTP route and the command line call:

1. the first import (every member, plan and commitment created, with their outbox events);
2. a re-import of the same file (nothing written);
3. a re-import where one row in ten changed (those commitments updated, with history and events);
4. the open-data export of the commitments as CSV (streamed from a server-side cursor);
5. the export in OGP's own layout, and the import of that export (nothing changes);
6. the memory that reading and checking that export takes from a file, as an upload spooled to
   disk is read (Python's own allocations, by ``tracemalloc``), beside the file's size;
7. with ``--memory-mb N``: a file of about N MB imported into an empty database by the operator's
   command (``python -m services.plans.imports``, its own process), its time and peak memory.

The spreadsheets are in OGP's published layout (171 columns, its codes and date forms).

The target is 5,000 commitments imported in 10 s or less.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from devstack.postgres import PostgresCluster
from services.plans import exports, exports_ogp, imports
from services.plans.imports.commitment_import import checked_rows
from services.plans.imports.ogp_layout import NAMES, OGP_LAYOUT, M, area_flag_of, meaning_of
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate

PLANS_MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "plans" / "migrations"
TARGET_S = 10.0
HEADER = list(OGP_LAYOUT)  # OGP's database as published: 171 columns
FLAG_COLUMNS = [c for c in HEADER if area_flag_of(c) is not None and meaning_of(c) is None]
SCALES = [  # specificity, potential impact, completion, did it open government: as OGP writes them
    ("High", "Transformative", "Complete", "Major"),
    ("Medium", "Moderate", "Substantial", "Marginal"),
    ("Low", "Minor", "Limited", "Did Not Change"),
    ("ND", "NR", "NA", "No early results to report yet"),
]
DATES = [("1/1/2018", "12/31/2020"), ("July 2014", "June 2016"), ("Quarter 1 2019", "IV quarter of 2020"),
         ("NA", "Ongoing"), ("2016", "2018")]  # fmt: skip
FULL_TEXT = "Publish the data, consult the public and report on progress every six months. " * 12


def spreadsheet(rows: int, countries: int, plans: int, *, changed_every: int = 0) -> bytes:
    """``rows`` commitments in OGP's layout, spread over ``countries`` x ``plans`` action plans,
    with its codes, date forms, policy-area flags and the columns the import keeps as source
    data; with ``changed_every`` = n, every n-th row has a different title (an update on
    re-import)."""
    per_plan = max(1, rows // (countries * plans))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for i in range(rows):
        plan_index, number = divmod(i, per_plan)
        country, plan = divmod(plan_index, plans)
        country %= countries
        specificity, impact, completion, diog = SCALES[i % len(SCALES)]
        start, end = DATES[i % len(DATES)]
        title = f"Commitment {number + 1} of plan {plan + 1} in country {country}"
        if changed_every and i % changed_every == 0:
            title += " (revised)"
        cells = {c: "ND" for c in HEADER} | {f: "0" for f in FLAG_COLUMNS}
        cells.update({
            NAMES[M.ID]: f"C{country:03d}P{plan + 1}N{number + 1:03d}",
            NAMES[M.COUNTRY]: f"Country {country:03d}",
            NAMES[M.CODE]: "ND", NAMES[M.REGION]: "Europe", NAMES[M.NATIONAL_OR_LOCAL]: "National",
            NAMES[M.PLAN_NUMBER]: str(plan + 1), NAMES[M.PLAN_ID]: f"AP_C{country:03d}{plan + 1:02d}",
            NAMES[M.YEAR]: str(2014 + 2 * plan), NAMES[M.END_YEAR]: str(2016 + 2 * plan),
            NAMES[M.DURATION]: "2", NAMES[M.NUMBER]: str(number + 1), NAMES[M.THEME]: "Open Data",
            NAMES[M.TITLE]: title, NAMES[M.SHORT_TITLE]: f"Short {number + 1}", NAMES[M.FULL_TEXT]: FULL_TEXT,
            NAMES[M.START_DATE]: start, NAMES[M.END_DATE]: end, NAMES[M.LEAD]: f"Ministry {i % 17}",
            NAMES[M.SUPPORTING]: "Ministry of Finance; Civil society coalition",
            NAMES[M.URL]: f"https://www.opengovpartnership.org/commitments/C{i:05d}/",
            NAMES[M.VALUE_ACCESS]: "1", NAMES[M.VALUE_PARTICIPATION]: str(i % 2),
            NAMES[M.VALUE_ACCOUNTABILITY]: "0",
            NAMES[M.VALUE_TECHNOLOGY]: str(i % 3 // 2), NAMES[M.SPECIFICITY]: specificity,
            NAMES[M.POTENTIAL_IMPACT]: impact, NAMES[M.COMPLETION]: completion, NAMES[M.DIOG]: diog,
            NAMES[M.REPORT_YEAR]: str(2016 + 2 * plan), "CHECKSUM": str(i), "id": str(i),
            FLAG_COLUMNS[i % len(FLAG_COLUMNS)]: "1", FLAG_COLUMNS[(i * 7) % len(FLAG_COLUMNS)]: "1",
        })  # fmt: skip
        w.writerow(cells[c] for c in HEADER)
    return out.getvalue().encode()


async def _run(args: argparse.Namespace, pg: PostgresCluster) -> list[dict[str, Any]]:
    pg.create_database("bench_import")
    pool = await create_pool(pg.dsn("bench_import"), min_size=1, max_size=args.workers + 2)
    results: list[dict[str, Any]] = []
    try:
        await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", PLANS_MIGRATIONS)))
        first = spreadsheet(args.rows, args.countries, args.plans)
        changed = spreadsheet(args.rows, args.countries, args.plans, changed_every=10)
        for phase, data in (("first import", first), ("re-import, same file", first),
                            ("re-import, 1 row in 10 changed", changed)):  # fmt: skip
            started = time.perf_counter()
            report = await imports.import_commitments(
                pool, data, by="bench", batch_size=args.batch_size, workers=args.workers
            )
            elapsed = time.perf_counter() - started
            r = report.as_dict()
            assert r["failed"] == 0, r["errors"][:3]
            results.append({"phase": phase, "rows": r["rows"], "seconds": elapsed, "created": r["created"],
                            "updated": r["updated"], "unchanged": r["unchanged"]})  # fmt: skip
        started = time.perf_counter()
        size = 0
        async for chunk in exports.csv_stream(pool, exports.COMMITMENTS):
            size += len(chunk)
        elapsed = time.perf_counter() - started
        results.append({"phase": f"export commitments.csv ({size / 1e6:.1f} MB)", "rows": args.rows,
                        "seconds": elapsed, "created": 0, "updated": 0, "unchanged": 0})  # fmt: skip
        started = time.perf_counter()
        ogp = b"".join([chunk async for chunk in exports_ogp.ogp_csv_stream(pool)])
        elapsed = time.perf_counter() - started
        results.append({"phase": f"export in OGP's layout ({len(ogp) / 1e6:.1f} MB)", "rows": args.rows,
                        "seconds": elapsed, "created": 0, "updated": 0, "unchanged": 0})  # fmt: skip
        started = time.perf_counter()
        r = (await imports.import_commitments(pool, ogp, by="bench", batch_size=args.batch_size,
                                              workers=args.workers)).as_dict()  # fmt: skip
        assert r["failed"] == 0, r["errors"][:3]
        assert r["updated"] == 0, "the export of an import must import back to the same commitments"
        results.append({"phase": "import of that export (round trip)", "rows": r["rows"],
                        "seconds": time.perf_counter() - started, "created": r["created"],
                        "updated": r["updated"], "unchanged": r["unchanged"]})  # fmt: skip
        events = await pool.fetchval("SELECT count(*) FROM outbox")
        print(f"outbox events written: {events}")
        print(_reading_memory(ogp))
    finally:
        await pool.close()
    if args.memory_mb:
        print(await _command_line_memory(pg, args))
    return results


async def _command_line_memory(pg: PostgresCluster, args: argparse.Namespace) -> str:
    """Peak RSS of the import command on a file of ``--memory-mb`` MB, in a database of its own."""
    pg.create_database("bench_import_memory")
    pool = await create_pool(pg.dsn("bench_import_memory"), min_size=1, max_size=2)
    try:
        await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", PLANS_MIGRATIONS)))
    finally:
        await pool.close()
    per_row = len(spreadsheet(1000, args.countries, args.plans)) / 1000
    countries = args.countries * 4
    plans = countries * args.plans  # rows a whole number of plans, so no identifier repeats
    data = spreadsheet(math.ceil(args.memory_mb * 1e6 / per_row / plans) * plans, countries, args.plans)
    with tempfile.NamedTemporaryFile(suffix=".csv") as file:
        file.write(data)
        file.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.plans.imports", file.name, "--quiet",
            "--dsn", pg.dsn("bench_import_memory"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, the largest child yet
    assert proc.returncode == 0, err.decode()[-2000:]
    report = json.loads(out)
    assert report["failed"] == 0, report["errors"][:3]
    measured = f"{peak / 1024:.0f} MB" if peak > before else f"at most {before / 1024:.0f} MB"
    return (f"command-line import of a {len(data) / 1e6:.1f} MB file ({report['rows']} rows) into an "
            f"empty database: {elapsed:.1f} s, process peak {measured}")  # fmt: skip


def _reading_memory(data: bytes) -> str:
    """Peak of Python's allocations while the file is read and checked, as an import does it."""
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.flush()
        tracemalloc.start()
        try:
            _report, rows = checked_rows(file)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return (f"reading and checking that export from a file ({len(data) / 1e6:.1f} MB, {len(rows)} rows): "
            f"peak {peak / 1e6:.1f} MB of allocations, {peak / len(data):.1f}x the file")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--countries", type=int, default=50)
    parser.add_argument("--plans", type=int, default=2, help="action plans per country")
    parser.add_argument("--batch-size", type=int, default=imports.BATCH_SIZE)
    parser.add_argument("--workers", type=int, default=imports.WORKERS, help="connections writing at once")
    parser.add_argument("--memory-mb", type=float, default=0,
                        help="also import a file of N MB by the command line: its peak memory")  # fmt: skip
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sharaka-bench-import-"))
    pg = PostgresCluster(home / "pg")
    try:
        pg.start()
        results = asyncio.run(_run(args, pg))
    finally:
        pg.remove_data()
        shutil.rmtree(home, ignore_errors=True)
    head = ("phase", "rows", "seconds", "rows/s", "created", "updated", "unchanged")
    print("\n{:<42} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}".format(*head))
    for r in results:
        print(f"{r['phase']:<42} {r['rows']:>6} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>8.0f} "
              f"{r['created']:>8} {r['updated']:>8} {r['unchanged']:>9}")  # fmt: skip
    first = results[0]
    verdict = "met" if first["seconds"] <= TARGET_S * first["rows"] / 5000 else "MISSED"
    print(f"\ntarget: 5,000 commitments in <= {TARGET_S:.0f} s -> {verdict} ({first['seconds']:.2f} s "
          f"for {first['rows']})")  # fmt: skip


if __name__ == "__main__":
    main()
