"""The load generators the HTTP benchmarks drive, installed when missing or named plainly.

``wrk`` is the load generator of the HTTP benchmarks: it costs the least CPU, which matters
when the service, PostgreSQL and the client share two cores, so a figure measured with another
client is not comparable. It is a Debian package; a benchmark command must not stop with a
traceback on a machine that lacks it (``make bench-plans`` and ``make bench-consultation`` call
this first). As root, or with password-less sudo, it is installed with apt-get; otherwise the
command stops and says how to install it.

    python -m bench.tools wrk
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

#: Tool → the Debian package that provides it.
PACKAGES = {"wrk": "wrk"}

HOW = {
    "wrk": "install it with `sudo apt-get install wrk` (Debian, Ubuntu) or `brew install wrk` (macOS)",
}


class Missing(SystemExit):
    """A tool that is neither on PATH nor installable here; the message says what to do."""


def _apt_argv() -> list[str] | None:
    """How to run apt-get here (as root, or through password-less sudo), or None."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return ["apt-get"]
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [sudo, "-n", "apt-get"]
    return None


def ensure(tool: str) -> str:
    """The path of ``tool``, installing its Debian package first if it is missing and that is
    possible; :class:`Missing` otherwise."""
    found = shutil.which(tool)
    if found:
        return found
    package = PACKAGES.get(tool, "")
    apt = _apt_argv() if package else None
    if apt is not None:
        print(f"{tool} is not installed: installing the Debian package {package} ...", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [*apt, "install", "-y", "--no-install-recommends", package]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run([*apt, "update"], env=env, check=False)  # a fresh machine's empty lists
            subprocess.run(install, env=env, check=False)
        found = shutil.which(tool)
        if found:
            return found
    raise Missing(f"{tool} is needed by this benchmark and is not installed: {HOW.get(tool, 'install it')}")


def main(argv: Sequence[str] | None = None) -> None:
    for tool in argv if argv is not None else sys.argv[1:]:
        print(f"{tool}: {ensure(tool)}")


if __name__ == "__main__":
    main()
