"""Process and state-file helpers shared by the devstack services.

The services outlive the Python process that started them (``python -m devstack up`` exits
while Kafka keeps running), so everything a later ``stop`` needs is written to disk, and a PID
is only ever signalled after checking that its command line is one of ours: a stale PID file
may by now name an unrelated process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def read_state(path: Path) -> dict[str, Any]:
    """Read a JSON state file, treating a missing or torn file as empty state."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically so a concurrent reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_pid(path: Path) -> int | None:
    """Read the first line of a PID file (postmaster.pid has more lines after it)."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0].strip()
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """Tell whether a process runs, counting a zombie as dead since it holds no ports."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            # The state letter follows the parenthesised command name, which may hold spaces.
            state = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state not in {"Z", "X"}
    return True


def cmdline(pid: int) -> str:
    """Return a process's command line as one string, or "" when it cannot be read."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""
    if sys.platform != "linux":
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip()
    return ""


def is_ours(pid: int | None, markers: Sequence[str]) -> bool:
    """Tell whether the PID is alive and its command line carries every marker.

    The markers include a path under the service's home, so one devstack never signals
    another devstack's process, let alone an unrelated one that reused the PID.
    """
    if pid is None or pid <= 0 or not pid_alive(pid):
        return False
    line = cmdline(pid)
    return bool(line) and all(marker in line for marker in markers)


def terminate(
    pid: int,
    timeout: float,
    child: subprocess.Popen[bytes] | None = None,
) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

    ``child`` is passed when this process started the PID, so that it is reaped and does not
    linger as a zombie.
    """
    _signal(pid, signal.SIGTERM)
    if not _wait_dead(pid, timeout, child):
        _signal(pid, signal.SIGKILL)
        _wait_dead(pid, 10, child)


def kill_now(pid: int, child: subprocess.Popen[bytes] | None = None) -> None:
    """SIGKILL without a grace period, as a crash would, then wait until it is gone."""
    _signal(pid, signal.SIGKILL)
    _wait_dead(pid, 10, child)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_dead(pid: int, timeout: float, child: subprocess.Popen[bytes] | None) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if child is not None and child.pid == pid and child.poll() is not None:
            return True
        if not pid_alive(pid):
            if child is not None and child.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=1)
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a log so that a failure message shows why a server died."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise start/stop/install across processes, e.g. parallel test workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
