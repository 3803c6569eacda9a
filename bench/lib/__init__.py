"""What the benchmarks share: where the repository and the results are, and the progress log.

The modules below are split by idea: :mod:`bench.lib.harness` (quiet machine, throwaway
infrastructure, one run), :mod:`bench.lib.report` (the JSON written atomically, then the table),
:mod:`bench.lib.cpu` (CPU per process from ``/proc``), :mod:`bench.lib.stats` (percentiles),
:mod:`bench.lib.pacing` (open-loop load, polling), :mod:`bench.lib.machine` (which machine and
which code were measured), :mod:`bench.lib.service` (a service under test as its own process),
:mod:`bench.lib.wrk` (wrk and its JSON summary), :mod:`bench.lib.profile` (py-spy),
:mod:`bench.lib.raw` and :mod:`bench.lib.raw_consumer` (the plain aiokafka baseline).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"


def log(msg: str) -> None:
    """A progress line on stderr (the tables go to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
