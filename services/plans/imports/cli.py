"""``python -m services.plans.imports FILE``: an import straight into the database, for operators
and files above the import body limit. A progress bar on stderr when it is a terminal (``--quiet``
turns it off); the report, JSON, on stdout."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

from services.plans.imports.commitment_import import WORKERS, import_commitments
from services.plans.imports.progress_sheet import import_progress
from services.plans.imports.report import BATCH_SIZE, ImportReport
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, pending_migrations
from shared.errors import Invalid

#: The imports by name, as the command line and ``/v1/imports/{kind}`` (and its jobs) call them.
KINDS: dict[str, Callable[..., Awaitable[ImportReport]]] = {
    "commitments": import_commitments,
    "milestone-progress": import_progress,
}
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class ProgressBar:
    """One line on a terminal, redrawn at most every ``every_s`` seconds (and at the end):
    ``[#####-----]  1,234/5,000 rows  24%``. Nothing more is needed, so no dependency."""

    def __init__(self, out: TextIO, width: int = 30, every_s: float = 0.1) -> None:
        self.out = out
        self.width = width
        self.every_s = every_s
        self._drawn_at = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._drawn_at < self.every_s:
            return
        self._drawn_at = now
        share = done / total if total else 1.0
        filled = round(self.width * share)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r[{bar}] {done:,}/{total:,} rows {share:4.0%}")
        self.out.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.out.write("\n")
            self.out.flush()
            self._shown = False


def _unusable(problem: Invalid) -> dict[str, Any]:
    """What the HTTP API would answer (422), for the operator."""
    errors = [{"field": f, "message": m} for f, m in problem.errors]
    return {"status": 422, "detail": problem.message, "errors": errors or None}


async def run_cli(argv: Sequence[str] | None = None) -> int:
    """``python -m services.plans.imports FILE``: the same import, straight into the database
    (no HTTP body limit), inside the same outbox transactions: the running service's relay
    publishes the events. Prints the report as JSON. Exit status: 0 all rows imported, 1 some
    rows failed, 2 the file or the database could not be used."""
    from services.plans.settings import PlansSettings

    parser = argparse.ArgumentParser(prog="python -m services.plans.imports", description=run_cli.__doc__)
    parser.add_argument("file", type=Path, help="CSV file (UTF-8, a BOM is accepted)")
    parser.add_argument("--kind", choices=sorted(KINDS), default="commitments")
    parser.add_argument("--dsn", help="the plans database (default: PLANS_DATABASE_URL or its default)")
    parser.add_argument("--by", default="import-cli", help="who imports, as kept in the history")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    dsn = args.dsn or PlansSettings().database_url
    try:
        file = args.file.open("rb")  # read in chunks by the import, never whole
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    with file:
        return await _import(args, dsn, file)


async def _import(args: argparse.Namespace, dsn: str, file: IO[bytes]) -> int:
    pool = await create_pool(dsn, min_size=1, max_size=WORKERS + 1)
    try:
        folders = (("shared", SHARED_MIGRATIONS), ("plans", MIGRATIONS))
        missing = await pending_migrations(pool, load_migrations(*folders))
        if missing:
            print(
                f"the database is not migrated ({', '.join(missing)}): start the plans service once",
                file=sys.stderr,
            )
            return 2
        bar = None if args.quiet or not sys.stderr.isatty() else ProgressBar(sys.stderr)
        try:
            report = await KINDS[args.kind](pool, file, by=args.by, batch_size=args.batch_size, progress=bar)
        except Invalid as problem:
            if bar is not None:
                bar.close()  # the problem on a line of its own
            print(json.dumps(_unusable(problem), indent=2), file=sys.stderr)
            return 2
        finally:
            if bar is not None:
                bar.close()
    finally:
        await pool.close()
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    return 1 if report.failed else 0
