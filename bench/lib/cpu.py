"""CPU accounting from Linux ``/proc``: per process, per group of processes, and the machine.

:class:`CpuMeter` takes snapshots of named groups of processes (the bench itself, Kafka, the
postmaster and its backends, the services) and of the whole machine, and turns two of them into
average cores per group, plus ``other (not ours)``: the machine's busy time that none of our
processes explains (another test run, a build, py-spy).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path

_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: The machine's totals in :meth:`CpuMeter.cores`, not parts of the benchmark.
MACHINE_KEYS = ("machine (busy)", "vm steal", "other (not ours)")
#: A group of processes: their CPU seconds by pid, read when called.
Source = Callable[[], dict[int, float]]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_s(pid: int) -> float:
    """user + system CPU seconds of one process (0 when it is gone)."""
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / _CLK if f else 0.0


def one(pid: int) -> dict[int, float]:
    """CPU seconds of one process, by pid (nothing for pid 0: not started)."""
    return {pid: process_cpu_s(pid)} if pid > 0 else {}


def tree(root: int) -> dict[int, float]:
    """CPU seconds of a process and of each of its direct children (postmaster and backends)."""
    if root <= 0:
        return {}
    out = one(root)
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                f = _stat_fields(int(entry.name))
                if f and int(f[1]) == root:
                    out[int(entry.name)] = (int(f[11]) + int(f[12])) / _CLK
    return out


def _proc_stat() -> list[int]:
    """The machine's first ``/proc/stat`` line, in ticks: user nice system idle iowait irq
    softirq steal."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return parts + [0] * (8 - len(parts))


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    ticks = _proc_stat()
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / _CLK


def machine_busy_cores(seconds: float = 2.0) -> float:
    """Cores busy on the whole machine right now."""
    before = machine_busy_s()
    time.sleep(seconds)
    return round((machine_busy_s() - before) / seconds, 2)


def _machine_s() -> tuple[float, float, float]:
    """(busy, irq, steal) CPU seconds of the whole machine. ``irq`` (hard and soft interrupts:
    mostly the loopback network stack) is busy time no process is charged for; ``steal`` is time
    the hypervisor gave to someone else."""
    try:
        user, nice, system, _idle, _iowait, irq, softirq, steal = _proc_stat()[:8]
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0
    return (user + nice + system + irq + softirq) / _CLK, (irq + softirq) / _CLK, steal / _CLK


def _all_procs() -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    text = (entry / "stat").read_text()
                    comm = text[text.index("(") + 1 : text.rindex(")")]
                    f = text.rsplit(")", 1)[1].split()
                    out[int(entry.name)] = (comm, (int(f[11]) + int(f[12])) / _CLK)
    return out


@dataclass
class CpuSnapshot:
    groups: dict[str, dict[int, float]]
    procs: dict[int, tuple[str, float]]
    busy_s: float
    irq_s: float
    steal_s: float
    wall: float


@dataclass
class CpuMeter:
    """Cores used by each part of the system between two snapshots.

    Per PID, so that a process (a Postgres backend) that starts during the window counts from
    zero, and one that ends is left out instead of making its group's total go backwards.
    """

    sources: dict[str, Source]

    def add_process(self, name: str, pid: int) -> None:
        self.sources[name] = lambda: one(pid)

    def snapshot(self) -> CpuSnapshot:
        groups = {name: fn() for name, fn in self.sources.items()}
        busy, irq, steal = _machine_s()
        return CpuSnapshot(groups, _all_procs(), busy, irq, steal, time.monotonic())

    @staticmethod
    def cores(
        before: CpuSnapshot,
        after: CpuSnapshot,
        extra_s: dict[str, float] | None = None,
        extra_pids: Sequence[int] = (),
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Average cores per part, and the busiest processes that are not ours (by name).

        ``other (not ours)`` is the machine's busy time that our processes do not explain: another
        test run, a build, py-spy, kernel threads.
        """
        wall = after.wall - before.wall
        if wall <= 0:
            return {}, {}
        used: dict[str, float] = {}
        ours: set[int] = set(extra_pids)
        for name, pids in after.groups.items():
            if name in before.groups:
                prev = before.groups[name]
                used[name] = sum(max(0.0, cpu - prev.get(pid, 0.0)) for pid, cpu in pids.items()) / wall
                ours.update(pids)
        used.update({k: v / wall for k, v in (extra_s or {}).items()})
        total_ours = sum(used.values())
        used["machine (busy)"] = (after.busy_s - before.busy_s) / wall
        used["kernel irq"] = (after.irq_s - before.irq_s) / wall
        used["vm steal"] = (after.steal_s - before.steal_s) / wall
        used["other (not ours)"] = max(0.0, used["machine (busy)"] - used["kernel irq"] - total_ours)
        others: dict[str, float] = {}
        for pid, (comm, cpu) in after.procs.items():
            if pid not in ours and pid != os.getpid():
                spent = cpu - before.procs.get(pid, (comm, 0.0))[1]
                if spent > 0:
                    others[comm] = others.get(comm, 0.0) + spent / wall
        top = dict(sorted(others.items(), key=lambda kv: -kv[1])[:4])
        return {k: round(v, 2) for k, v in used.items()}, {
            k: round(v, 2) for k, v in top.items() if v >= 0.01
        }


def infra_sources(kafka_pid: int | None, postmaster_pid: int | None) -> dict[str, Source]:
    """The groups every benchmark meters: this process, the Kafka broker, Postgres."""
    own, kafka, pg = os.getpid(), kafka_pid or 0, postmaster_pid or 0
    return {"bench": lambda: one(own), "kafka": lambda: one(kafka), "postgres": lambda: tree(pg)}


def ms_per(
    cores: dict[str, float], wall_s: float, n: int, *, total: str, keep: Container[str] | None = None
) -> dict[str, float]:
    """CPU milliseconds each part spent per unit of work (cores x window / units), and their
    ``total``; ``keep`` names the parts to count (default: all but the machine's totals)."""
    if n <= 0:
        return {}
    out = {
        k: round(v * wall_s / n * 1000, 3)
        for k, v in cores.items()
        if (k in keep if keep is not None else k not in MACHINE_KEYS)
    }
    out[total] = round(sum(out.values()), 3)
    return out
