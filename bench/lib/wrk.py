"""wrk, the HTTP load generator: run side by side against several service processes, each with
its Lua script, and its JSON summaries merged into one :class:`LoadResult`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lib.stats import merged_percentile

#: wrk reports its own summary in JSON through this hook (latencies in microseconds).
WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  local q = {}
  for _, p in ipairs(QUANTILES) do q[#q + 1] = string.format('[%g,%d]', p, latency:percentile(p)) end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,"non_2xx":%d,'
    .. '"max_us":%d,"mean_us":%.1f,"quantiles":[%s]}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency.max, latency.mean, table.concat(q, ',')))
end
"""
#: Percentiles wrk reports (its histogram is exact to the microsecond): fine-grained in the tail,
#: so that the runs against several service processes can be merged into one distribution.
QUANTILES = [*range(1, 100), *(99 + k / 10 for k in range(1, 10)), 99.95, 99.99]


@dataclass
class LoadResult:
    client: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    bytes_per_response: int
    client_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class WrkRun:
    result: LoadResult
    #: Wall-clock (``time.time_ns``) just before the first wrk started and after the last ended.
    start_ns: int
    end_ns: int
    non_2xx: int
    socket_errors: int


def wrk_result(runs: Sequence[dict[str, Any]], per: int, cpu_s: float) -> LoadResult:
    """One result from the JSON summaries of wrk processes run side by side (one per service
    process, ``per`` connections each): counts add up, percentiles merge by request count."""
    n = sum(int(r["requests"]) for r in runs)
    tables = [(int(r["requests"]), [(float(p), lat / 1000) for p, lat in r["quantiles"]]) for r in runs]
    return LoadResult(
        client=f"wrk -c{per}" + (f" x {len(runs)} processes" if len(runs) > 1 else ""),
        requests=n,
        seconds=max(r["duration_us"] for r in runs) / 1e6,
        errors=sum(int(r["errors"]) + int(r["non_2xx"]) for r in runs),
        p50_ms=merged_percentile(tables, 50),
        p90_ms=merged_percentile(tables, 90),
        p99_ms=merged_percentile(tables, 99),
        max_ms=max(r["max_us"] for r in runs) / 1000,
        mean_ms=sum(r["mean_us"] * int(r["requests"]) for r in runs) / n / 1000 if n else float("nan"),
        bytes_per_response=sum(int(r["bytes"]) for r in runs) // n if n else 0,
        client_cpu_s=cpu_s,
    )


def run_wrk(
    jobs: Sequence[tuple[str, str]],
    seconds: float,
    connections: int,
    threads: int,
    tmp: Path,
    headers: Mapping[str, str] | None = None,
) -> WrkRun:
    """One wrk per (url, Lua script), all at once, ``connections`` shared between them. A script
    may define ``request`` (and ``setup``); without one wrk GETs the url. The JSON summary hook is
    appended; ``headers`` go with every request."""
    per = max(1, connections // len(jobs))
    argv = ["wrk", f"-t{min(threads, per)}", f"-c{per}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    lua_quantiles = "QUANTILES = {" + ",".join(f"{q:g}" for q in QUANTILES) + "}\n"
    runs: list[dict[str, Any]] = []
    cpu_s = 0.0
    with contextlib.ExitStack() as stack:
        started = []
        scripts = []
        for i, (_, lua) in enumerate(jobs):
            script = tmp / f"wrk-{uuid.uuid4().hex[:8]}-{i}.lua"
            script.write_text(lua_quantiles + lua + "\n" + WRK_LUA, encoding="utf-8")
            scripts.append(script)
        start_ns = time.time_ns()
        for (url, _), script in zip(jobs, scripts, strict=True):
            out = stack.enter_context(tempfile.TemporaryFile())
            proc = subprocess.Popen([*argv, "-s", str(script), url], stdout=out, stderr=subprocess.STDOUT)
            started.append((proc, out))
        for proc, out in started:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu_s += usage.ru_utime + usage.ru_stime
            out.seek(0)
            text = out.read().decode(errors="replace")
            line = next((x for x in text.splitlines() if x.startswith("WRKJSON ")), None)
            if proc.returncode != 0 or line is None:
                raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text[-3000:]}")
            runs.append(json.loads(line.removeprefix("WRKJSON ")))
        end_ns = time.time_ns()
        for script in scripts:
            script.unlink(missing_ok=True)
    return WrkRun(
        result=wrk_result(runs, per, cpu_s),
        start_ns=start_ns,
        end_ns=end_ns,
        non_2xx=sum(int(r["non_2xx"]) for r in runs),
        socket_errors=sum(int(r["errors"]) for r in runs),
    )


def lua_string(text: str) -> str:
    """A Lua long-bracket literal holding ``text`` byte for byte."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def health_lua() -> str:
    """wrk script: ``GET /healthz``."""
    return 'request = function() return wrk.format("GET", "/healthz") end'
