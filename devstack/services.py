"""A Sharaka service as a real process (``python -m services.<name>``): started, waited for,
stopped gracefully, killed, and read back through its log. Used by the end-to-end tests and the
benchmarks, which must exercise what is deployed, not an in-process stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from devstack.procs import REPO_ROOT


class ServiceProcess:
    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_dir: Path,
        *,
        argv: Sequence[str] | None = None,
        log_name: str | None = None,
    ) -> None:
        self.name = name
        self.env = env
        self.port = int(env[f"{name.upper()}_HTTP_PORT"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{log_name or name}.log"
        self.argv = list(argv) if argv else [sys.executable, "-m", f"services.{name}"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, timeout: float = 90.0) -> None:
        """Until ``/readyz`` answers 200; fails with the log's tail if the process died."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM, as Kubernetes sends it, and the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def ensure_stopped(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.terminate()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
