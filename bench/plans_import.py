"""Benchmark of the commitments import: ``uv run python -m bench.plans_import``.

Starts its own throw-away PostgreSQL (no Kafka: the import only writes the outbox, the relay
publishes later), applies the plans service's migrations, generates OGP-style spreadsheets and
times, through the same function the HTTP route and the command line call:

1. the first import (every member, plan and commitment created, with their outbox events);
2. a re-import of the same file (nothing written);
3. a re-import where one row in ten changed (those commitments updated, with history and events);
4. the open-data export of the commitments as CSV (streamed from a server-side cursor).

The target is 5,000 commitments imported in 10 s or less.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from devstack.postgres import PostgresCluster
from services.plans import exports, imports
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate

PLANS_MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "plans" / "migrations"
TARGET_S = 10.0
HEADER = [
    imports.C_ID, imports.C_COUNTRY, imports.C_REGION, imports.C_THEME, imports.C_YEAR, imports.C_PLAN,
    imports.C_NUMBER, imports.C_TITLE, imports.C_SHORT, imports.C_FULL, imports.C_LEAD, imports.C_SUPPORT,
    imports.C_URL, imports.C_ACCESS, imports.C_PARTICIPATION, imports.C_ACCOUNTABILITY, imports.C_TECHNOLOGY,
    imports.C_SPECIFICITY, imports.C_IMPACT, imports.C_COMPLETION, imports.C_DIOG, imports.C_LANGUAGE,
]  # fmt: skip
THEMES = [
    "Open Data",
    "Fiscal Openness",
    "Public Procurement",
    "Access to Information",
    "Civic Space",
    "Health",
]
SCALES = [
    ("High", "Transformative", "Complete", "Major"),
    ("Medium", "Moderate", "Substantial", "Marginal"),
    ("Low", "Minor", "Limited", "Did not change"),
    ("None", "None", "Not started", "Worsened"),
]
LANGS = ["en", "fr", "es", "ar"]


def spreadsheet(rows: int, countries: int, plans: int, *, changed_every: int = 0) -> bytes:
    """``rows`` commitments spread over ``countries`` x ``plans`` action plans; with
    ``changed_every`` = n, every n-th row has a different title (an update on re-import)."""
    per_plan = max(1, rows // (countries * plans))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for i in range(rows):
        plan_index, number = divmod(i, per_plan)
        country, plan = divmod(plan_index, plans)
        country %= countries
        scale = SCALES[i % len(SCALES)]
        lang = LANGS[country % len(LANGS)]
        title = f"Commitment {number + 1} of plan {plan + 1} in country {country}"
        if changed_every and i % changed_every == 0:
            title += " (revised)"
        w.writerow([
            f"C{country:03d}P{plan + 1}N{number + 1:03d}", f"Country {country:03d}", "Region",
            f"{THEMES[i % len(THEMES)]}; {THEMES[(i + 1) % len(THEMES)]}", 2014 + 2 * plan, plan + 1,
            number + 1, title, f"Short {number + 1}",
            "Publish the data, consult the public and report on progress every six months. " * 3,
            f"Ministry {i % 17}", "Ministry of Finance; Civil society coalition",
            f"https://www.opengovpartnership.org/commitments/C{i:05d}/",
            "Yes", "No" if i % 2 else "Yes", "X", "1" if i % 3 else "",
            *scale, lang,
        ])  # fmt: skip
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
        events = await pool.fetchval("SELECT count(*) FROM outbox")
        print(f"outbox events written: {events}")
    finally:
        await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--countries", type=int, default=50)
    parser.add_argument("--plans", type=int, default=2, help="action plans per country")
    parser.add_argument("--batch-size", type=int, default=imports.BATCH_SIZE)
    parser.add_argument("--workers", type=int, default=imports.WORKERS, help="connections writing at once")
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
