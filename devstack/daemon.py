"""A local catcher (mail or SMS) run detached as ``python -m devstack <command>``, for
``devstack up`` and ``make run``.

A catcher object lives in a thread of its creator; the CLI exits after ``up``, so the long-lived
catcher needs its own process, found again through a PID file under its home folder.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from devstack import procs
from devstack.ports import HOST, free_port, port_open, wait_port_closed


class CatcherDaemon:
    #: The ``python -m devstack`` subcommand that runs the catcher in the foreground.
    command: str
    #: How errors name it ("mail catcher").
    label: str

    def __init__(self, home: Path, port: int | None = None) -> None:
        self.home = Path(home).resolve()
        self.folder = self.home / "messages"
        self._state_file = self.home / "state.json"
        self._pid_file = self.home / f"{self.command}.pid"
        self._lock_file = self.home / ".lock"
        self._explicit_port = port is not None
        state = procs.read_state(self._state_file)
        self._port: int = port or int(state.get("port") or 0) or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return HOST

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def pid(self) -> int | None:
        pid = procs.read_pid(self._pid_file)
        return pid if procs.is_ours(pid, ["devstack", self.command, str(self.folder)]) else None

    def start(self, timeout: float = 15) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with procs.file_lock(self._lock_file):
            if self.pid is not None:
                return
            if port_open(self._port):
                if self._explicit_port:
                    raise RuntimeError(f"port {self._port} is already in use by another program")
                self._port = free_port()
            procs.write_state(self._state_file, {"port": self._port})
            log = self.home / f"{self.command}.log"
            cmd = [sys.executable, "-m", "devstack", self.command, "--port", str(self._port),
                   "--folder", str(self.folder)]  # fmt: skip
            with log.open("ab") as out:
                self._proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    cwd=str(procs.REPO_ROOT), start_new_session=True,
                )  # fmt: skip
            self._pid_file.write_text(f"{self._proc.pid}\n", encoding="utf-8")
            deadline = time.monotonic() + timeout
            while not port_open(self._port):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    procs.kill_now(self._proc.pid, self._proc)
                    self._pid_file.unlink(missing_ok=True)
                    raise RuntimeError(f"{self.label} did not start:\n{procs.tail(log)}")
                time.sleep(0.1)

    def stop(self, timeout: float = 10) -> None:
        with procs.file_lock(self._lock_file):
            pid = self.pid
            if pid is not None:
                child = self._proc if self._proc is not None and self._proc.pid == pid else None
                procs.terminate(pid, timeout, child)
                wait_port_closed(self._port, 5)
            self._pid_file.unlink(missing_ok=True)
            self._proc = None
