"""Which machine and which code a benchmark measured, for its report."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.lib import REPO
from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster


def code_identity() -> dict[str, Any]:
    """Which code was measured: the commit, and the files of the system under test that differ."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "shared", "services").splitlines()]
    return {"commit": git("rev-parse", "--short=12", "HEAD") or "?", "uncommitted": dirty}


def versions(packages: Iterable[str], missing: str) -> dict[str, str]:
    """The installed version of each package (``missing`` where it is not installed)."""

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return missing

    return {p: version(p) for p in packages}


def kafka_description(kafka: KafkaNode) -> str:
    """``<version> (1 KRaft node, heap <heap>)``, the version read from the broker's jar."""
    jars = sorted(kafka.libs_dir.glob("kafka_2.13-*.jar"))
    kafka_version = jars[0].stem.split("-", 1)[1] if jars else "?"
    return f"{kafka_version} (1 KRaft node, heap {kafka.heap})"


def machine_facts(kafka: KafkaNode, pg_version: str, pg_settings: dict[str, str]) -> dict[str, Any]:
    """The machine in detail (CPU model, memory, usable cores), for ``bench.e2e``."""
    cpu_model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_gb = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(mem_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "kafka": kafka_description(kafka),
        "postgres": pg_version,
        "postgres_settings": pg_settings,
        "packages": versions(("aiokafka", "faststream", "asyncpg", "pydantic", "uvloop"), "?"),
    }


def http_machine_facts(pg: PostgresCluster) -> dict[str, Any]:
    """The machine, Postgres, wrk and the HTTP stack's packages, for the HTTP benchmarks."""
    wrk = shutil.which("wrk")
    wrk_version = "-"
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "-"
    pg_version = "-"
    with contextlib.suppress(Exception):
        pg_version = pg.psql("SHOW server_version").strip()
    return {
        "cpus": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": pg_version,
        "wrk": wrk_version,
        "packages": versions(("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "asyncpg"), "-"),
    }
