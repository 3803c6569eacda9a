"""What every benchmark does around its measurements: wait for a quiet machine, start a throwaway
Kafka and PostgreSQL, run, and write the JSON report atomically before printing its table."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster
from devstack.throwaway import infrastructure

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

Report = dict[str, Any]
#: The benchmark itself, given the running infrastructure and a scratch folder.
Bench = Callable[[KafkaNode, PostgresCluster, Path], Coroutine[Any, Any, Report]]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def machine_busy_cores(seconds: float = 2.0) -> float:
    """Cores busy on the whole machine right now."""
    before = _machine_busy_s()
    time.sleep(seconds)
    return round((_machine_busy_s() - before) / seconds, 2)


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


def write_report(report: Report, path: Path, render: Callable[[Report], str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_json = path.with_name(path.name + ".tmp")
    tmp_json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp_json, path)
    print(render(report))
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    print(f"\n(whole run {report.get('wall_s', '?')}s; JSON in {shown})")


def run_main(
    bench: Bench,
    *,
    name: str,
    json_path: Path,
    render: Callable[[Report], str],
    wait_quiet_s: float,
    run: Callable[[Coroutine[Any, Any, Report]], Report] = asyncio.run,
) -> None:
    background = wait_quiet(wait_quiet_s)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"sharaka-bench-{name}-") as tmp:
        log("starting Kafka and PostgreSQL")
        with infrastructure(Path(tmp)) as (kafka, pg):
            log(f"infrastructure up in {time.monotonic() - started:.0f}s")
            report = run(bench(kafka, pg, Path(tmp)))
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["machine"]["busy_cores_before_start"] = background
    write_report(report, json_path, render)
