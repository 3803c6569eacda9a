"""A throwaway PostgreSQL cluster from the distribution's server binaries.

There is no Docker engine, so the cluster is initdb'd into a folder and run by pg_ctl. The
server refuses to run as root; when we are root (as on CI) every server command runs as the
``postgres`` OS user, and the data lives where that user can reach it.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from devstack import procs
from devstack.ports import HOST, free_port, port_open, wait_port_closed

SERVER_USER = "postgres"
_FALLBACK_PREFIX = "sharaka-pg-"
_OWNER_FILE = "devstack-home"
# Unix socket paths are limited to about 107 bytes, and the socket file name takes 15.
_MAX_SOCKET_DIR = 90
# Durability is worthless for throwaway test data and costs seconds per test run.
TEST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}


class PostgresError(RuntimeError):
    """The cluster could not be created, started, stopped or queried."""


def find_bindir() -> Path:
    """Locate initdb/pg_ctl/postgres: SHARAKA_PG_BINDIR, then pg_config, then the newest
    Debian-style versioned folder (Debian puts the server binaries off PATH)."""
    candidates: list[Path] = []
    override = os.environ.get("SHARAKA_PG_BINDIR")
    if override:
        candidates.append(Path(override))
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versioned, key=_version_key, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresError(
        "no PostgreSQL server binaries found (install the postgresql package or set SHARAKA_PG_BINDIR)"
    )


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


class PostgresCluster:
    """One cluster whose state (port, data location) is recorded in ``home/state.json``.

    The data normally lives in ``home/cluster``. When we are root and the ``postgres`` user
    cannot reach that folder (e.g. pytest's private, mode 0700 temporary folder), it lives in a
    folder under the system temp dir instead; the state file records which.
    """

    def __init__(self, home: Path, port: int | None = None) -> None:
        self.home = Path(home).resolve()
        self._state_file = self.home / "state.json"
        self._lock_file = self.home / ".lock"
        self._explicit_port = port is not None
        state = procs.read_state(self._state_file)
        self._port: int = port or int(state.get("port") or 0) or free_port()
        recorded = state.get("cluster_dir")
        self._cluster_dir: Path | None = Path(recorded) if recorded else None
        self._bindir: Path | None = None
        self._as_root = os.geteuid() == 0

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        return self._port

    @property
    def cluster_dir(self) -> Path:
        """Where data, socket and server log live (chosen on first start)."""
        return self._cluster_dir or self.home / "cluster"

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "postgres.log"

    @property
    def pid(self) -> int | None:
        pid = procs.read_pid(self.data_dir / "postmaster.pid")
        return pid if procs.is_ours(pid, [str(self.data_dir)]) else None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self._port}/{quote(database, safe='')}"

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 30) -> None:
        """initdb on first use, then start; a cluster already running here is left alone."""
        self.home.mkdir(parents=True, exist_ok=True)
        with procs.file_lock(self._lock_file):
            running = self.pid
            if running is not None:
                if not port_open(self._port):
                    raise PostgresError(
                        f"PostgreSQL pid {running} of {self.data_dir} runs but does not "
                        f"listen on {self._port} (was it started with another port?)"
                    )
                return
            if port_open(self._port):
                if self._explicit_port:
                    raise PostgresError(f"port {self._port} is already in use by another program")
                self._port = free_port()
            self._cluster_dir = self._prepare_cluster_dir()
            self._save_state()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            self._pg_ctl_start(timeout)

    def stop(self) -> None:
        """Fast shutdown (disconnects clients, no waiting for them); idempotent."""
        with procs.file_lock(self._lock_file):
            if self.pid is None:
                return
            result = self._run_server_tool(
                ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"],
                timeout=90,
            )
            if result.returncode != 0 and self.pid is not None:
                self._run_server_tool(
                    ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"],
                    timeout=60,
                )
            if self.pid is not None:
                raise PostgresError(f"PostgreSQL in {self.data_dir} did not stop:\n{result.stdout}")
            wait_port_closed(self._port, 5)

    def restart(self, mode: str = "fast", timeout: float = 30) -> None:
        """Stop and start again on the same port, data kept: what a failover or a crash looks
        like to the clients (``fast`` disconnects them; ``immediate`` is a crash, recovered from
        the WAL at start). Chaos tests use it on a running session cluster, so the port must not
        move: every client's DSN names it."""
        if mode not in ("fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        with procs.file_lock(self._lock_file):
            if self.pid is None:
                raise PostgresError(f"PostgreSQL in {self.data_dir} is not running")
            result = self._run_server_tool(
                ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60"], timeout=90
            )
            if result.returncode != 0 or self.pid is not None:
                raise PostgresError(f"PostgreSQL in {self.data_dir} did not stop:\n{result.stdout}")
            wait_port_closed(self._port, 5)
            if port_open(self._port):
                raise PostgresError(f"port {self._port} was taken while PostgreSQL restarted")
            self._pg_ctl_start(timeout)

    def terminate_backends(self, databases: list[str] | None = None) -> int:
        """``pg_terminate_backend`` every client connection (of ``databases`` when given), as an
        administrator or a pooler's failover does; the number of backends terminated."""
        sql = (
            "SELECT count(*) FILTER (WHERE ok) FROM (SELECT pg_terminate_backend(pid) AS ok"
            " FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        if databases is not None:
            names = ",".join("'" + name.replace("'", "''") + "'" for name in databases)
            sql += f" AND datname IN ({names or 'NULL'})"
        return int(self.psql(sql + ") AS t").strip() or 0)

    def remove_data(self) -> None:
        """Stop and delete the cluster (data, socket, log), so the next start runs initdb."""
        self.stop()
        if self._cluster_dir is not None:
            shutil.rmtree(self._cluster_dir, ignore_errors=True)
        shutil.rmtree(self.home / "cluster", ignore_errors=True)
        self._cluster_dir = None
        self._save_state()

    # ------------------------------------------------------------------ SQL helpers

    def create_database(self, name: str) -> None:
        """Create the database unless it exists (CREATE DATABASE has no IF NOT EXISTS)."""
        found = self.psql("SELECT 1 FROM pg_database WHERE datname = :'name'", name=name)
        if found.strip() == "1":
            return
        try:
            self.psql('CREATE DATABASE :"name"', name=name)
        except PostgresError as exc:
            if "already exists" not in str(exc):  # lost a race with another creator
                raise

    def drop_database(self, name: str) -> None:
        """Drop even while services are still connected: tests reset state between runs."""
        self.psql('DROP DATABASE IF EXISTS :"name" WITH (FORCE)', name=name)

    def psql(self, sql: str, database: str = "postgres", **variables: str) -> str:
        """Run SQL with psql over TCP and return its unaligned, tuples-only output.

        The SQL goes in on stdin so that psql substitutes ``:'var'`` (as a literal) and
        ``:"var"`` (as an identifier) with proper quoting; ``-c`` would not substitute.
        """
        cmd = [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        for key, value in variables.items():
            cmd += ["-v", f"{key}={value}"]
        cmd += ["-h", HOST, "-p", str(self._port), "-U", "postgres", "-d", database]
        result = subprocess.run(
            cmd,
            input=sql + "\n",
            capture_output=True,
            text=True,
            check=False,
            env=_clean_env(),
            timeout=60,
        )
        if result.returncode != 0:
            raise PostgresError(f"psql failed on {sql!r} {variables}: {result.stderr.strip()}")
        return result.stdout

    # ------------------------------------------------------------------ internals

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    def _save_state(self) -> None:
        state: dict[str, object] = {"port": self._port}
        if self._cluster_dir is not None:
            state["cluster_dir"] = str(self._cluster_dir)
        procs.write_state(self._state_file, state)

    def _server_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise PostgresError(
                f"running as root needs an OS user {SERVER_USER!r} to run PostgreSQL"
            ) from exc

    def _prepare_cluster_dir(self) -> Path:
        if self._cluster_dir is not None and self._cluster_dir.is_dir():
            return self._cluster_dir
        preferred = self.home / "cluster"
        if not self._as_root:
            preferred.mkdir(parents=True, exist_ok=True)
            return preferred
        preferred.mkdir(parents=True, exist_ok=True)
        self._hand_to_server_user(preferred)
        if self._server_user_can_write(preferred):
            return preferred
        shutil.rmtree(preferred, ignore_errors=True)
        _sweep_orphaned_fallbacks()
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        fallback = Path(tempfile.gettempdir()) / f"{_FALLBACK_PREFIX}{digest}"
        fallback.mkdir(mode=0o700, exist_ok=True)
        info = fallback.lstat()
        if fallback.is_symlink() or info.st_uid not in {0, self._server_user().pw_uid}:
            raise PostgresError(f"refusing to use {fallback}: not owned by root or postgres")
        self._hand_to_server_user(fallback)
        (fallback / _OWNER_FILE).write_text(str(self.home) + "\n", encoding="utf-8")
        if not self._server_user_can_write(fallback):
            raise PostgresError(f"user {SERVER_USER!r} cannot write to {fallback}")
        return fallback

    def _hand_to_server_user(self, path: Path) -> None:
        user = self._server_user()
        os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o700)

    def _server_user_can_write(self, path: Path) -> bool:
        # `test -w` fails when any parent is not traversable, which is what matters here.
        result = subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", "test", "-w", str(path)],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _socket_dir(self) -> Path:
        sock = self.cluster_dir / "run"
        if len(str(sock)) > _MAX_SOCKET_DIR:
            digest = hashlib.sha256(str(self.cluster_dir).encode()).hexdigest()[:12]
            sock = Path(tempfile.gettempdir()) / f"sharaka-pgsock-{digest}"
        sock.mkdir(mode=0o700, exist_ok=True)
        if self._as_root:
            self._hand_to_server_user(sock)
        return sock

    def _run_server_tool(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run initdb/pg_ctl from the server bindir, as the postgres user when we are root."""
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        return subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            env=_clean_env(),
            # The server user may not be able to enter our working directory.
            cwd=str(self.cluster_dir),
            timeout=timeout,
        )

    def _initdb(self) -> None:
        result = self._run_server_tool(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=300,
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb in {self.data_dir} failed:\n{result.stdout}")

    def _pg_ctl_start(self, timeout: float) -> None:
        settings = {
            "listen_addresses": HOST,
            "port": str(self._port),
            "unix_socket_directories": str(self._socket_dir()),
            **TEST_SETTINGS,
        }
        # pg_ctl hands -o to /bin/sh, hence the quoting.
        options = " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items())
        wait = max(1, math.ceil(timeout))
        result = self._run_server_tool(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(wait),
                "-o",
                options,
            ],
            timeout=wait + 30,
        )
        if result.returncode != 0 or self.pid is None:
            raise PostgresError(
                f"PostgreSQL did not start on port {self._port} within {wait}s:\n"
                f"{result.stdout}\nlast lines of {self.log_file}:\n{procs.tail(self.log_file)}"
            )


def _sweep_orphaned_fallbacks() -> None:
    """Delete fallback clusters whose home folder is gone and whose server is stopped.

    pytest deletes old tmp_path folders but cannot see the matching data under the temp dir,
    which would otherwise pile up at tens of MB per test session.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{_FALLBACK_PREFIX}*"):
        try:
            home = Path((folder / _OWNER_FILE).read_text(encoding="utf-8").strip())
        except OSError:
            continue  # not one of ours, or not finished being set up
        data = folder / "data"
        pid = procs.read_pid(data / "postmaster.pid")
        if not home.exists() and not procs.is_ours(pid, [str(data)]):
            shutil.rmtree(folder, ignore_errors=True)


def _clean_env() -> dict[str, str]:
    """Drop PG* variables so a developer's own PGHOST or PGDATA cannot redirect our tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
