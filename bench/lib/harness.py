"""What every benchmark does around its measurements: wait for a quiet machine, start a throwaway
Kafka and PostgreSQL, run, and write the JSON report atomically before printing its table."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bench.lib import RESULTS, log
from bench.lib.cpu import machine_busy_cores
from bench.lib.report import Report, write_report
from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster
from devstack.throwaway import infrastructure

#: The benchmark itself, given the running infrastructure and a scratch folder.
Bench = Callable[[KafkaNode, PostgresCluster, Path], Coroutine[Any, Any, Report]]


def wait_quiet(seconds: float) -> float:
    """Wait up to ``seconds`` for the machine to be idle; the load seen before we start (another
    test run on the same cores skews every number)."""
    background = machine_busy_cores()
    deadline = time.monotonic() + seconds
    while background > 0.3 and time.monotonic() < deadline:
        log(f"machine busy ({background} cores before we start); waiting for it to calm down")
        background = machine_busy_cores(5)
    if background > 0.3:
        log(f"WARNING: {background} cores already busy before the benchmark: numbers will be skewed")
    return background


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line, its module docstring as the help."""
    return argparse.ArgumentParser(
        prog=f"python -m {prog}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def load_options(
    parser: argparse.ArgumentParser, *, per: str, warmup: float = 2.0, warmup_help: str = "before each"
) -> None:
    """The HTTP benchmarks' load options: ``--duration`` (seconds of load ``per`` run),
    ``--warmup``, ``--connections``, ``--threads``."""
    parser.add_argument("--duration", type=float, default=15.0, help=f"seconds of load per {per}")
    parser.add_argument("--warmup", type=float, default=warmup,
                        help=f"seconds of load {warmup_help} (not reported)")  # fmt: skip
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")


def parse(parser: argparse.ArgumentParser, json_name: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """The options every benchmark ends with (``--wait-quiet``, ``--json``), then the arguments."""
    parser.add_argument("--wait-quiet", type=float, default=30.0,
                        help="wait up to this many seconds for other load on the machine to end")  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS / json_name)
    return parser.parse_args(argv)


def run_main(
    bench: Bench,
    args: argparse.Namespace,
    *,
    name: str,
    render: Callable[[Report], str],
    run: Callable[[Coroutine[Any, Any, Report]], Report] = asyncio.run,
) -> None:
    """Quiet machine, infrastructure up, ``bench``, infrastructure down, report (``args`` carries
    ``--wait-quiet`` and ``--json``, see :func:`parse`)."""
    background = wait_quiet(args.wait_quiet)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"sharaka-bench-{name}-") as tmp:
        log("starting Kafka and PostgreSQL")
        with infrastructure(Path(tmp)) as (kafka, pg):
            log(f"infrastructure up in {time.monotonic() - started:.0f}s")
            report = run(bench(kafka, pg, Path(tmp)))
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["machine"]["busy_cores_before_start"] = background
    write_report(report, args.json, render)
