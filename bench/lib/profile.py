"""Optional py-spy sampling profiles of the processes under test (``--profile``)."""

from __future__ import annotations

import subprocess
from pathlib import Path


class PySpy:
    """Flame graph (svg) and raw samples (txt) of a process, to ``out_dir/profile-<name>.*``;
    does nothing when ``exe`` (py-spy's path) is None."""

    def __init__(self, exe: str | None, out_dir: Path) -> None:
        self.exe = exe
        self.out_dir = out_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, pid: int, seconds: int) -> None:
        if self.exe is None:
            return
        for fmt, ext in (("flamegraph", "svg"), ("raw", "txt")):
            out = self.out_dir / f"profile-{name}.{ext}"
            argv = [self.exe, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                    "--format", fmt, "--output", str(out), "--nonblocking"]  # fmt: skip
            self.procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait(self) -> None:
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.terminate()
                p.wait()
        self.procs.clear()
